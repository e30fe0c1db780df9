"""Server-side request validation from botocore's own service model, as AWS answers it (the sagemaker control
plane's requests, and the embedded STS's and CloudWatch Logs' before moto sees them).

boto3 checks only required members, types and minimums before sending; SageMaker itself enforces
lengths, patterns, enums and ranges and answers `1 validation error detected: Value 'x' at
'endpointName' failed to satisfy constraint: ...`. Unknown members are refused too, naming the
members the shape has, so a typo is found at once instead of being silently dropped.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import regex  # the model's patterns are Java regular expressions, with \p{L} classes `re` cannot read
from botocore.model import Shape


MAX_REPORTED = 10  # problems listed in one message: a hostile request must not make a huge answer
PATTERN_TIMEOUT = 0.05  # seconds; a pattern that backtracks that long on a value counts as not matched
SHOWN_VALUE = 80
LATEST_TIMESTAMP = 253402300799  # seconds: the end of year 9999, the last time a timestamp can say


class ModelViolation(ValueError):
    """What in a request its input shape refuses, in AWS's words; each service answers it with its own error code."""


def validate(shape: Shape, params: Any) -> None:
    """Raise ModelViolation listing what in `params` the input shape refuses."""
    problems: list[str] = []
    if not isinstance(params, dict):
        problems.append(f"the request body is {_kind(params)}; it must be a JSON object of {shape.name} members")
    else:
        try:
            _check(shape, params, "", problems)
        except RecursionError:
            problems.append("the request is nested too deeply")
    if problems:
        count = len(problems)
        raise ModelViolation(f"{count} validation error{'s' if count > 1 else ''} detected: "
                                  + "; ".join(problems[:MAX_REPORTED]))


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if len(problems) > MAX_REPORTED:
        return
    kind = shape.type_name
    checker = _CHECKERS.get(kind)
    if checker is not None:
        checker(shape, value, path, problems)


def _structure(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(_failed(value, path, f"Member must be a structure ({shape.name})"))
        return
    members = shape.members
    for key in value:
        if key not in members:
            known = ", ".join(sorted(members))
            where = f" at '{path}'" if path else ""
            problems.append(f"Unknown member {_show(key)}{where}: {shape.name} has no such member "
                            f"(it has: {_shorten(known, 400)})")
    for name in shape.required_members:
        if value.get(name) is None:
            problems.append(_failed(None, _join(path, name), "Member must not be null"))
    for name, member in members.items():
        child = value.get(name)
        if child is not None:
            _check(member, child, _join(path, name), problems)


def _list(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, list):
        problems.append(_failed(value, path, "Member must be a list"))
        return
    if _length_ok(shape, len(value), value, path, problems):
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", problems)


def _map(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(_failed(value, path, "Member must be a map"))
        return
    if _length_ok(shape, len(value), value, path, problems):
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", problems)
            _check(shape.value, item, f"{path}.{key}", problems)


def _string(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(_failed(value, path, "Member must be a string"))
        return
    if not _length_ok(shape, len(value), value, path, problems):
        return  # a pattern is tried only on a value of a sane length
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        problems.append(_failed(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
    pattern = shape.metadata.get("pattern")
    if pattern and not _matches(pattern, value):
        problems.append(_failed(value, path, f"Member must satisfy regular expression pattern: {pattern}"))


def _integer(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    bits = 64 if shape.type_name == "long" else 32  # Java's int and long, as AWS reads them
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(_failed(value, path, "Member must be an integer"))
    elif _range_ok(shape, value, path, problems) and not -2 ** (bits - 1) <= value < 2 ** (bits - 1):
        problems.append(_failed(value, path, f"Member must be an integer of at most {bits} bits"))


def _number(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        problems.append(_failed(value, path, "Member must be a finite number"))
        return
    _range_ok(shape, value, path, problems)


def _boolean(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        problems.append(_failed(value, path, "Member must be true or false"))


def _timestamp(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or \
            (not isinstance(value, str) and not (_finite(value) and abs(value) <= LATEST_TIMESTAMP)):
        problems.append(_failed(value, path, "Member must be a timestamp (seconds since the epoch)"))


def _blob(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(_failed(value, path, "Member must be base64-encoded bytes"))


_CHECKERS = {"structure": _structure, "list": _list, "map": _map, "string": _string, "integer": _integer,
             "long": _integer, "float": _number, "double": _number, "boolean": _boolean, "timestamp": _timestamp,
             "blob": _blob}


def _finite(value: int | float) -> bool:
    """A number a double holds: JSON's 1e400 reads as infinity, a 400-digit integer overflows."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _length_ok(shape: Shape, length: int, value: Any, path: str, problems: list[str]) -> bool:
    return _within(shape, length, "length", value, path, problems)


def _range_ok(shape: Shape, value: int | float, path: str, problems: list[str]) -> bool:
    return _within(shape, value, "value", value, path, problems)


def _within(shape: Shape, measure: int | float, what: str, value: Any, path: str, problems: list[str]) -> bool:
    """`measure` (the value's length or the value itself) within the shape's min and max, else a problem."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and measure < low:
        problems.append(_failed(value, path, f"Member must have {what} greater than or equal to {low}"))
        return False
    if high is not None and measure > high:
        problems.append(_failed(value, path, f"Member must have {what} less than or equal to {high}"))
        return False
    return True


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    if compiled is None:
        return True  # a pattern no regular expression engine here reads is not enforced
    try:
        return compiled.fullmatch(value, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        return False


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> regex.Pattern | None:
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _join(path: str, member: str) -> str:
    name = member[:1].lower() + member[1:]  # AWS names members in lowerCamelCase in these messages
    return f"{path}.{name}" if path else name


def _failed(value: Any, path: str, constraint: str) -> str:
    shown = "null" if value is None else _show(value)
    return f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{_shorten(value, SHOWN_VALUE)}'"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return f"'{_shorten(text, SHOWN_VALUE)}'"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "null"}.get(type(value), f"a {type(value).__name__}")
