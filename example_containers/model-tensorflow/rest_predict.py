"""TensorFlow Serving's REST predict API (`POST /v1/models/<name>:predict`), as its json_tensor.cc reads
requests and writes answers, for a signature whose inputs are named tensors:

- row format, `{"instances": [...]}`: a plain list (one input) or a list of objects keyed by input
  name; answers `{"predictions": [...]}`, one value per instance (an object per instance when the
  signature has several outputs);
- columnar format, `{"inputs": value}` or `{"inputs": {name: value}}`; answers `{"outputs": ...}`;
- an optional `signature_name`; every refusal is 400 `{"error": "..."}` with TF Serving's wording.
Float outputs print as their shortest float32 form (0.1, not 0.10000000149011612), as TF Serving does.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

DEFAULT_SIGNATURE = "serving_default"


class PredictError(Exception):
    """INVALID_ARGUMENT: TF Serving's REST API answers 400 `{"error": message}`."""

    status = 400


def to_text(value: Any) -> str:
    """A JSON value as TF Serving prints it in its messages."""
    return json.dumps(value, indent=4) if isinstance(value, (dict, list)) else json.dumps(value)


def parse_request(text: str,
                  signatures: Mapping[str, Mapping[str, np.dtype]]) -> tuple[str, bool, dict[str, np.ndarray]]:
    """(signature name, row format?, input arrays) from a predict request's JSON text.

    `signatures` maps each signature's name to its inputs' names and dtypes.
    """
    if not text.strip():
        raise PredictError("JSON Parse error: The document is empty")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise PredictError(f"JSON Parse error: {error.msg} at offset: {error.pos}") from None
    if not isinstance(document, dict):
        raise PredictError(f"JSON Value: {to_text(document)} Is not object")
    name = document.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise PredictError(f"JSON Value: {to_text(document)} not formatted correctly. "
                           "'signature_name' key must be a string value.")
    if name not in signatures:
        raise PredictError(f'Serving signature name: "{name}" not found in signature def')
    inputs = signatures[name]
    if "instances" in document and "inputs" in document:
        raise PredictError(f"JSON Value: {to_text(document)} Not formatted correctly expecting only one of "
                           "'inputs' or 'instances' keys to exist ")
    if "instances" in document:
        instances = document["instances"]
        if not isinstance(instances, list):
            raise PredictError(f"JSON Value: {to_text(document)} Excepting 'instances' to be an list/array")
        if not instances:
            raise PredictError(f"JSON Value: {to_text(document)} No values in 'instances' array")
        return name, True, from_instances(instances, inputs)
    if "inputs" in document:
        return name, False, from_inputs(document["inputs"], inputs)
    raise PredictError("Missing 'inputs' or 'instances' key")


def from_instances(instances: list, inputs: Mapping[str, np.dtype]) -> dict[str, np.ndarray]:
    objects = is_object(instances[0])
    if not objects and len(inputs) > 1:
        raise PredictError("instances is a plain list, but expecting list of objects as multiple input tensors "
                           "required as per tensorinfo_map")
    columns: dict[str, list[np.ndarray]] = {}
    for number, instance in enumerate(instances):
        if objects != is_object(instance):
            raise PredictError(f"Expecting {'object but got list' if objects else 'value/list but got object'} "
                               f"at item {number} of input list")
        items = instance.items() if objects else [(next(iter(inputs)), instance)]
        for key, value in items:
            try:
                if key not in inputs:
                    raise PredictError(f"JSON object: does not have named input: {key}")
                array = tensor(value, inputs[key])
                if columns.get(key) and array.shape != columns[key][0].shape:
                    raise PredictError(f"Expecting shape {list(columns[key][0].shape)} but got: {list(array.shape)}")
            except PredictError as error:
                where = f" key: {key}" if objects else ""
                raise PredictError(f"Failed to process element: {number}{where} of 'instances' list. "
                                   f"Error: INVALID_ARGUMENT: {error}") from None
            columns.setdefault(key, []).append(array)
        if objects and set(instance) != set(inputs):
            raise PredictError(f"Failed to process element: {number} of 'instances' list. JSON object: "
                               f"{to_text(instance)} keys must be equal to: {','.join(sorted(inputs))}")
    return {key: np.stack(arrays) for key, arrays in columns.items()}


def from_inputs(value: Any, inputs: Mapping[str, np.dtype]) -> dict[str, np.ndarray]:
    if not is_object(value):
        if len(inputs) > 1:
            raise PredictError("inputs is a plain value/list, but expecting an object as multiple input tensors "
                               "required as per tensorinfo_map")
        name, dtype = next(iter(inputs.items()))
        return {name: tensor(value, dtype)}
    missing = [name for name in sorted(inputs) if name not in value]
    if missing:
        raise PredictError(f"Missing named input: {missing[0]} in 'inputs' object.")
    return {name: tensor(value[name], dtype) for name, dtype in inputs.items()}


def is_object(value: Any) -> bool:
    return isinstance(value, dict) and not (len(value) == 1 and isinstance(value.get("b64"), str))


def tensor(value: Any, dtype: np.dtype) -> np.ndarray:
    """A dense tensor: every list as long as the first one at its level, every leaf of `dtype`."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    leaves: list = []
    fill(value, 0, shape, dtype, leaves)
    return np.array(leaves, dtype=dtype).reshape(shape)


def fill(value: Any, level: int, shape: list[int], dtype: np.dtype, leaves: list) -> None:
    if not isinstance(value, list):
        if level != len(shape):
            raise PredictError(f"JSON Value: {to_text(value)} found at incorrect level: {level + 1} in the JSON DOM. "
                               f"Expected at level: {len(shape)}")
        leaves.append(leaf(value, dtype))
        return
    if level >= len(shape):
        raise PredictError(f"Encountered list at unexpected level: {level} expected < {len(shape)}")
    if len(value) != shape[level]:
        raise PredictError(f"Encountered list at unexpected size: {len(value)} at level: {level} "
                           f"expected size: {shape[level]}")
    for item in value:
        fill(item, level + 1, shape, dtype, leaves)


def leaf(value: Any, dtype: np.dtype) -> Any:
    kind = np.dtype(dtype).kind
    fits = {"f": isinstance(value, (int, float)), "i": isinstance(value, int), "b": isinstance(value, bool),
            "S": isinstance(value, str), "O": isinstance(value, str), "U": isinstance(value, str)}.get(kind, False)
    if not fits or (kind in "fi" and isinstance(value, bool)):
        raise PredictError(f"JSON Value: {to_text(value)} Type: {json_type(value)} is not of expected type: "
                           f"{type_name(dtype)}")
    if kind == "f" and beyond_range(value, dtype):
        raise PredictError(f"Cannot convert JSON value: {to_text(value)} to {type_name(dtype)} without loss of "
                           "precision.")
    return value.encode() if kind in "SO" else value


def beyond_range(number: int | float, dtype: np.dtype) -> bool:
    """A finite number too large for the float type (an integer too large for any float too; infinity fits)."""
    try:
        magnitude = abs(float(number))
    except OverflowError:
        return True
    return math.isfinite(magnitude) and magnitude > float(np.finfo(dtype).max)


def json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return str(value)
    return {dict: "Object", list: "Array", str: "String"}.get(type(value), "Number")


def type_name(dtype: np.dtype) -> str:
    """TensorFlow's name of the type (DataTypeString): float, double, int64, string ..."""
    dtype = np.dtype(dtype)
    if dtype.kind in "SOU":
        return "string"
    return {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)


def answer(outputs: Mapping[str, np.ndarray], row_format: bool) -> str:
    """`{"predictions": [...]}` (row format) or `{"outputs": ...}` (columnar)."""
    values = {name: json_values(array) for name, array in sorted(outputs.items())}
    if not row_format:
        return json.dumps({"outputs": next(iter(values.values())) if len(values) == 1 else values})
    if len(values) == 1:
        return json.dumps({"predictions": next(iter(values.values()))})
    rows = len(next(iter(values.values())))
    return json.dumps({"predictions": [{name: value[row] for name, value in values.items()} for row in range(rows)]})


def json_values(array: np.ndarray) -> Any:
    if array.dtype == np.float32:
        return shortest_floats(array.tolist())
    if array.dtype.kind in "SO":
        return np.vectorize(lambda x: x.decode("utf-8", "replace") if isinstance(x, bytes) else x,
                            otypes=[object])(array).tolist()
    return array.tolist()


def shortest_floats(value: Any) -> Any:
    """float32 values as the shortest decimal that reads back as the same float32 (0.1, not 0.100000001...)."""
    if isinstance(value, list):
        return [shortest_floats(item) for item in value]
    return float(str(np.float32(value)))


def predict(text: str, signatures: Mapping[str, Mapping[str, np.dtype]],
            run: Callable[[str, dict[str, np.ndarray]], Mapping[str, np.ndarray]]) -> str:
    """The answer to one predict request; `run(signature name, inputs)` evaluates the model."""
    name, row_format, inputs = parse_request(text, signatures)
    return answer(run(name, inputs), row_format)
