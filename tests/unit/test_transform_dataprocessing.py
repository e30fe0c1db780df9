"""InputFilter, JoinSource=Input and OutputFilter on single records, and splitting MultiRecord answers."""

from __future__ import annotations

import re

import pytest

from emulator.transform.dataprocessing import RecordProcessor, split_outputs
from emulator.transform.errors import DataProcessingError
from emulator.transform.job import AssembleWith, DataProcessing, JoinSource, SplitType, TransformJob

CSV = dict(content_type="text/csv", accept="text/csv", split_type=SplitType.LINE, assemble_with=AssembleWith.LINE)
JSON = dict(content_type="application/jsonlines", accept="application/json", split_type=SplitType.LINE,
            assemble_with=AssembleWith.LINE)


def processor(fmt: dict, input_filter="$", output_filter="$", join=False) -> RecordProcessor:
    processing = DataProcessing(input_filter, output_filter, JoinSource.INPUT if join else JoinSource.NONE)
    return RecordProcessor(TransformJob(data_processing=processing, **fmt))


def test_csv_input_filter_drops_the_id_column():
    assert processor(CSV, "$[1:]").filter_input(b'id1,5.1,"a,b",3') == b'5.1,"a,b",3'


def test_csv_join_appends_output_columns_then_output_filter_keeps_id_and_prediction():
    csv = processor(CSV, "$[1:]", "$[0,-1]", join=True)
    assert csv.finish(b"id1,5.1,3.5", b"0.93", "text/csv") == b"id1,0.93"
    assert processor(CSV, join=True).finish(b"1,2,3", b"1", "text/csv") == b"1,2,3,1"  # the guide's example
    assert processor(CSV, join=True).finish(b"1,2", b"0.1,0.9", "text/csv") == b"1,2,0.1,0.9"


def test_json_join_adds_sagemaker_output_to_objects():
    json = processor(JSON, "$.features", join=True)
    assert json.filter_input(b'{"id": 1, "features": [1, 2]}') == b"[1,2]"
    assert json.finish(b'{"key":1}', b'{"label":1}', "application/json") == b'{"key":1,"SageMakerOutput":{"label":1}}'


def test_json_join_wraps_non_objects_as_sagemaker_input():
    json = processor(JSON, join=True)
    assert json.finish(b"[1,2]", b"0.5", None) == b'{"SageMakerInput":[1,2],"SageMakerOutput":0.5}'


def test_json_output_filter_keeps_id_and_output():
    json = processor(JSON, "$.features", "$['id','SageMakerOutput']", join=True)
    assert json.finish(b'{"id":"a","features":[1]}', b"[0.2]", None) == b'{"id":"a","SageMakerOutput":[0.2]}'


def test_a_one_column_csv_answer_joins_to_json_as_a_scalar():
    json = processor(dict(JSON, accept="text/csv"), join=True)
    assert json.finish(b'{"id":1}', b"0.7", "text/csv") == b'{"id":1,"SageMakerOutput":"0.7"}'


def test_output_filter_without_join_applies_to_the_output():
    assert processor(CSV, output_filter="$[0]").finish(None, b"cat,0.9", "text/csv") == b"cat"
    json = processor(JSON, output_filter="$.label")
    assert json.finish(None, b'{"label":"cat","p":0.9}', "application/json") == b'"cat"'


def test_activity_flags():
    assert not processor(CSV).filters_input and not processor(CSV).per_record
    assert processor(CSV, "$[1:]").filters_input and not processor(CSV, "$[1:]").per_record
    assert processor(CSV, output_filter="$[0]").per_record and not processor(CSV, output_filter="$[0]").joins
    assert processor(CSV, join=True).joins


@pytest.mark.parametrize(("call", "words"), [
    (lambda: processor(JSON, "$.features").filter_input(b"not json"), "not valid JSON"),
    (lambda: processor(JSON, "$.features").filter_input(b'{"id":1}'), "InputFilter '$.features': no member"),
    (lambda: processor(CSV, "$[1:]").filter_input(b"\xff\xfe"), "not UTF-8"),
    (lambda: processor(CSV, output_filter="$[5]").finish(None, b"a,b", "text/csv"), "out of range"),
    (lambda: processor(dict(JSON, accept=None), join=True).finish(b"{}", b"x", "text/plain"), "not valid JSON"),
    (lambda: processor(dict(JSON, accept=None), output_filter="$.a").finish(None, b"1,2", "text/csv"),
     "needs a JSON object"),
])
def test_data_that_does_not_fit_is_a_clear_error(call, words):
    with pytest.raises(DataProcessingError, match=re.escape(words)):
        call()


def test_split_outputs_one_line_per_record():
    assert split_outputs(b"1\r\n2\n3\n", 3) == [b"1", b"2", b"3"]
    assert split_outputs(b"1\n2", 2) == [b"1", b"2"]


def test_a_single_record_answer_is_whole_even_over_several_lines():
    assert split_outputs(b'{\n "a": 1\n}\n', 1) == [b'{\n "a": 1\n}']


def test_a_line_count_mismatch_is_an_error():
    with pytest.raises(DataProcessingError, match="2 lines for 3 records"):
        split_outputs(b"1\n2\n", 3)
