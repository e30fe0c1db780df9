"""The JSONPath subset of SageMaker's DataProcessing, on JSON values and CSV rows (arrays)."""

from __future__ import annotations

import re

import pytest

from emulator.transform.jsonpath import JsonPath, JsonPathError

RECORD = {"id": 7, "features": [1, 2, 3], "meta": {"a": {"b": "deep"}, "c": 2}, "SageMakerOutput": {"label": 1}}
ROW = ["id1", "5.1", "3.5", "1.4", "0.2", "setosa"]


def select(path: str, value, **options):
    return JsonPath.parse(path, **options).select(value)


@pytest.mark.parametrize(("path", "expected"), [
    ("$", RECORD),
    ("$.id", 7),
    ("$.meta.a.b", "deep"),
    ("$.features[1]", 2),
    ("$['id','SageMakerOutput']", {"id": 7, "SageMakerOutput": {"label": 1}}),
    ('$["id"]', 7),
    ("$.meta.['a','c']", {"a": {"b": "deep"}, "c": 2}),
    ("$.meta.*", [{"b": "deep"}, 2]),
    ("$.features[*]", [1, 2, 3]),
    ("$.features.*", [1, 2, 3]),
])
def test_json_selections(path, expected):
    assert select(path, RECORD) == expected


@pytest.mark.parametrize(("path", "expected"), [
    ("$[0]", "id1"),
    ("$[-1]", "setosa"),
    ("$[0,-1]", ["id1", "setosa"]),
    ("$[1,3,5]", ["5.1", "1.4", "setosa"]),
    ("$[1:]", ROW[1:]),
    ("$[:2]", ROW[:3]),          # the guide: "[:5] ... from the first column through the sixth"
    ("$[1:4]", ROW[1:5]),        # the guide: "$[1:4] specifies the second through fifth columns"
    ("$[2:5]", ROW[2:]),
    ("$[0,4:]", ["id1", "0.2", "setosa"]),
    ("$[*]", ROW),
])
def test_csv_row_selections_follow_the_developer_guide(path, expected):
    assert select(path, ROW) == expected


def test_the_range_end_can_be_exclusive():
    assert select("$[1:4]", ROW, slice_end_inclusive=False) == ROW[1:4]
    assert select("$[:-1]", ROW, slice_end_inclusive=False) == ROW[:-1]


def test_root_and_name_use_are_known():
    assert JsonPath.parse("$").is_root and not JsonPath.parse("$[0]").is_root
    assert JsonPath.parse("$.a[0]").uses_names and not JsonPath.parse("$[0,-1]").uses_names


@pytest.mark.parametrize(("path", "words"), [
    ("features", "must start with '$'"),
    ("$[0:2,246:]", "only single range filters"),
    ("$[::2]", "steps"),
    ("$[?(@.a)]", "filters"),
    ("$['a','b'].c", "must be the last step"),
    ("$[0", "never closed"),
    ("$.", "expected a member name"),
    ("$x", "unexpected 'x'"),
])
def test_unsupported_expressions_are_rejected(path, words):
    with pytest.raises(JsonPathError, match=re.escape(words)):
        JsonPath.parse(path)


@pytest.mark.parametrize(("path", "value", "words"), [
    ("$[9]", ROW, "index 9 is out of range for an array of 6 elements"),
    ("$[-7]", ROW, "index -7 is out of range"),
    # ranges too: SageMaker refuses what reaches outside the row, where a slice would cut silently
    ("$[2:99]", ROW, "index 99 (in the range [2:99]) is out of range for an array of 6 elements"),
    ("$[6:]", ROW, "index 6 (in the range [6:]) is out of range"),
    ("$[:6]", ROW, "index 6 (in the range [:6]) is out of range"),
    ("$[-9:2]", ROW, "index -9 (in the range [-9:2]) is out of range"),
    ("$.name", ROW, "CSV rows are arrays"),
    ("$.missing", RECORD, "no member 'missing'"),
    ("$[0]", RECORD, "an index needs a JSON array"),
])
def test_selections_that_do_not_fit_the_data_fail_clearly(path, value, words):
    with pytest.raises(JsonPathError, match=re.escape(words)):
        select(path, value)
