"""The parity check pairs answers record by record: a line each, and an item each of TensorFlow Serving's
`{"predictions": [...]}` (or `{"instances": [...]}`), which answers a whole mini-batch as one document."""

from __future__ import annotations

import json

import pytest

from emulator.hosting.parity import answer_records, judge


def predictions(*items) -> bytes:
    return json.dumps({"predictions": list(items)}).encode()


@pytest.mark.parametrize("answer, records", [
    (b"1,2\n3,4\n", ["1,2", "3,4"]),
    (b'{"a": 1}\n{"a": 2}\n', ['{"a": 1}', '{"a": 2}']),
    (predictions({"species": "Adelie"}, {"species": "Gentoo"}), ['{"species": "Adelie"}', '{"species": "Gentoo"}']),
    (b'{\n  "instances": [[1, 2], [3, 4]]\n}', ["[1, 2]", "[3, 4]"]),  # one document over several lines
    (predictions(1) + b"\n" + predictions(2, 3) + b"\n", ["1", "2", "3"]),  # a document per mini-batch
    (b'{"predictions": [1], "model": "x"}', ['{"predictions": [1], "model": "x"}']),  # not that shape: one record
    (b"[0.1, 0.9]", ["[0.1, 0.9]"]),
    (b"", []),
])
def test_an_answer_is_split_into_its_records(answer, records):
    assert answer_records(answer) == records


def test_tensorflow_servings_answers_hold_parity_record_by_record():
    realtime = [predictions({"species": "Adelie", "p": [0.9, 0.1]}), predictions({"species": "Gentoo", "p": [0.2, 0.8]})]
    assert judge(2, realtime, predictions({"species": "Adelie", "p": [0.9, 0.1]},
                                          {"species": "Gentoo", "p": [0.2, 0.8]}) + b"\n").ok
    differing = judge(2, realtime, predictions({"species": "Adelie", "p": [0.9, 0.1]},
                                               {"species": "Gentoo", "p": [0.3, 0.7]}))
    assert [(m.record, m.column) for m in differing.mismatches] == [(2, 2), (2, 3)]


def test_a_container_answering_once_per_request_is_said_to():
    report = judge(3, [b'{"answer": 1}'] * 3, b'{"answer": [1, 1, 1]}\n')
    assert not report.ok and report.counted == (3, 1)
    explained = report.explain()
    assert "for 3 records, real time (a request per record) answered 3 records and batch transform (MultiRecord) 1" \
        in explained
    assert "answers once per request, not once per record" in explained and "BatchStrategy SingleRecord" in explained
