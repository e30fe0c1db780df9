"""The TensorFlow image's request handling as pure logic (no TensorFlow, no Docker): the SageMaker front's
content types and CSV/JSON Lines conversion, and TF Serving's REST predict formats. Fuzzed: whatever the body,
the answer is a request TF Serving reads, or a refusal with a status, never a crash."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import EXAMPLES


def load(name: str):
    path = EXAMPLES / "model-tensorflow" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"tensorflow_image_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


invocations = load("invocations")
rest_predict = load("rest_predict")

SIGNATURES = {"serving_default": {"features": np.float32}}


def double(name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A stand-in model: two outputs per row."""
    features = inputs["features"]
    return {"twice": (features * 2).astype(np.float32), "label": np.array([b"x"] * len(features), dtype=object)}


def predict(body: str, content_type: str) -> dict:
    return json.loads(rest_predict.predict(invocations.tfs_request(body, content_type), SIGNATURES, double))


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    ("1,2\n3,4\n", "text/csv", '{"instances":[[1,2],[3,4]]}'),
    ("5\n6", "text/csv", '{"instances":[5,6]}'),
    ("a,b", "text/csv", '{"instances":[["a","b"]]}'),
    ("[1,2]\n[3,4]", "application/jsonlines", '{"instances":[[1,2],[3,4]]}'),
    ('{"instances": [1]}', "application/json", '{"instances": [1]}'),
    ("[1,2]", "application/json", '{"instances":[[1,2]]}'),
    ("[[1,2]]", "application/json", '{"instances":[[1,2]]}'),
])
def test_bodies_become_tf_serving_requests_as_the_containers_script_makes_them(body, content_type, expected):
    assert invocations.tfs_request(body, content_type) == expected


@pytest.mark.parametrize("content_type", ["text/csv; charset=utf-8", "application/json; charset=utf-8", None])
def test_the_content_type_is_compared_whole(content_type):
    with pytest.raises(invocations.UnsupportedMediaType) as refused:
        invocations.tfs_request("1", content_type)
    assert str(refused.value) == f"Unsupported Media Type: {content_type or 'Unknown'}"


@pytest.mark.parametrize(("accept", "content_type"), [
    (None, "application/json"), ("text/csv", "application/json"), ("application/jsonlines", "application/jsonlines"),
    ("text/csv, application/json", "text/csv"),  # the first entry, as the script answers it
])
def test_the_answers_content_type_follows_a_json_accept(accept, content_type):
    assert invocations.answer_content_type(accept) == content_type


def test_an_integer_beyond_int64_is_a_float_in_range():
    assert predict("20000000000000000000", "text/csv") == {"predictions": [{"label": "x", "twice": 4e19}]}


def test_rows_answer_predictions_and_columns_answer_outputs():
    rows = predict('{"instances": [[0.1, 0.2], [0.3, 0.4]]}', "application/json")
    assert rows == {"predictions": [{"label": "x", "twice": [0.2, 0.4]}, {"label": "x", "twice": [0.6, 0.8]}]}
    columns = predict('{"inputs": {"features": [[0.1, 0.2]]}}', "application/json")
    assert columns == {"outputs": {"label": ["x"], "twice": [[0.2, 0.4]]}}


@pytest.mark.parametrize(("body", "words"), [
    ("", "JSON Parse error: The document is empty"),
    ("[1]", "Is not object"),
    ('{"x": 1}', "Missing 'inputs' or 'instances' key"),
    ('{"instances": [[1, 2], [1]]}', "Expecting shape [2] but got: [1]"),
    ('{"instances": [[1, [2]]]}', "Encountered list at unexpected level: 1 expected < 1"),
    ('{"instances": [{"features": [1]}, [1]]}', "Expecting object but got list at item 1 of input list"),
    ('{"instances": [{"features": [1], "more": [2]}]}', "does not have named input: more"),
    ('{"instances": [[true]]}', "JSON Value: true Type: True is not of expected type: float"),
    ('{"instances": [[1e300]]}', "Cannot convert JSON value: 1e+300 to float without loss of precision."),
    ('{"instances": [[1%s]]}' % ("0" * 400), "to float without loss of precision."),  # beyond any float
    ('{"inputs": {"other": [1]}}', "Missing named input: features in 'inputs' object."),
    ('{"instances": [1], "inputs": [1]}', "expecting only one of 'inputs' or 'instances' keys to exist"),
])
def test_requests_tf_serving_refuses(body, words):
    with pytest.raises(rest_predict.PredictError) as refused:
        rest_predict.predict(body, SIGNATURES, double)
    assert words in str(refused.value)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.text(max_size=200), st.lists(st.lists(st.floats(allow_nan=False, width=32), min_size=1,
                                                                  max_size=3), max_size=4).map(json.dumps)),
       content_type=st.sampled_from(["text/csv", "application/json", "application/jsonlines", "text/plain"]))
def test_any_body_is_answered_or_refused_with_a_status(body, content_type):
    try:
        answer = predict(body, content_type)
    except (invocations.UnsupportedMediaType, rest_predict.PredictError) as refused:
        assert refused.status in (400, 415) and str(refused)
    else:
        assert set(answer) <= {"predictions", "outputs"}
