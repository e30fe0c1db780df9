"""The JSONPath subset SageMaker's DataProcessing accepts: `$`, `.name`, `*`, `['a','b']`,
`[i,j]` (negatives count from the end), `[s:e]`; CSV rows are evaluated as arrays of fields."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class JsonPathError(ValueError):
    """The expression is outside the supported subset, or does not fit the data."""


@dataclass(frozen=True)
class _Key:
    name: str


@dataclass(frozen=True)
class _Keys:
    """`['a','b']`: selects several members into a new object (only as the last step, as in SageMaker)."""
    names: tuple[str, ...]


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Indexes:
    """`[i]`, `[i,j]`, `[s:e]` or a mix with at most one range, e.g. `[0,5:]`."""
    items: tuple[int | tuple[int | None, int | None], ...]

    @property
    def single(self) -> bool:
        return len(self.items) == 1 and isinstance(self.items[0], int)


_Step = _Key | _Keys | _Wildcard | _Indexes

_NAME = re.compile(r"[^.\[\]*]+")
_QUOTED = re.compile(r"""\s*(?:'([^']*)'|"([^"]*)")\s*""")
_INDEX = re.compile(r"\s*(-?\d+)\s*")
_RANGE = re.compile(r"\s*(-?\d+)?\s*:\s*(-?\d+)?\s*")


class JsonPath:
    """A parsed expression. `slice_end_inclusive`: SageMaker's developer guide says `$[1:4]` selects
    the second through the fifth column (end included); we follow it (unconfirmed), and allow the
    Python/Jayway reading (end excluded) with False."""

    def __init__(self, text: str, steps: tuple[_Step, ...], slice_end_inclusive: bool):
        self.text, self._steps, self._inclusive = text, steps, slice_end_inclusive

    @classmethod
    def parse(cls, text: str, *, slice_end_inclusive: bool = True) -> JsonPath:
        return cls(text, _parse(text), slice_end_inclusive)

    @property
    def is_root(self) -> bool:
        """`$`: selects everything, so applying it is a no-op."""
        return not self._steps

    @property
    def uses_names(self) -> bool:
        """Whether it selects object members, which CSV rows (arrays) do not have."""
        return any(isinstance(step, (_Key, _Keys)) for step in self._steps)

    def select(self, value: Any) -> Any:
        return self._select(value, self._steps)

    def _select(self, value: Any, steps: tuple[_Step, ...]) -> Any:
        if not steps:
            return value
        step, rest = steps[0], steps[1:]
        if isinstance(step, _Key):
            return self._select(_member(value, step.name), rest)
        if isinstance(step, _Keys):
            return {name: _member(value, name) for name in step.names}
        if isinstance(step, _Wildcard):
            return [self._select(item, rest) for item in _children(value)]
        array = _array(value)
        positions = self._positions(step, len(array))
        if step.single:
            return self._select(array[positions[0]], rest)
        return [self._select(array[position], rest) for position in positions]

    def _positions(self, step: _Indexes, length: int) -> list[int]:
        positions: list[int] = []
        for item in step.items:
            if isinstance(item, int):
                positions.append(_in_range(item, length))
            else:
                positions.extend(self._range(item, length))
        return positions

    def _range(self, bounds: tuple[int | None, int | None], length: int) -> range:
        """A range's bounds must lie in the row, as single indexes must: SageMaker fails a record whose
        filter reaches past it, where Python's slices would cut silently."""
        start, end = bounds
        first = 0 if start is None else _in_range(start, length, bounds)
        if end is None:
            return range(first, length)
        if self._inclusive:
            return range(first, _in_range(end, length, bounds) + 1)
        return range(first, _in_range(end, length + 1, bounds) if end >= 0 else _in_range(end, length, bounds))

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"


def _parse(text: str) -> tuple[_Step, ...]:
    if not text.startswith("$"):
        raise JsonPathError(f"{text!r} must start with '$' (the root), e.g. '$', '$.features' or '$[1:]'")
    steps: list[_Step] = []
    pos = 1
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            if text.startswith("[", pos):      # `$.a.['b','c']` is written that way in SageMaker's guide
                continue
            if text.startswith("*", pos):
                steps.append(_Wildcard())
                pos += 1
                continue
            match = _NAME.match(text, pos)
            if not match:
                raise JsonPathError(f"{text!r}: expected a member name after '.' at position {pos}")
            steps.append(_Key(match.group()))
            pos = match.end()
        elif text[pos] == "[":
            step, pos = _parse_brackets(text, pos + 1)
            steps.append(step)
        else:
            raise JsonPathError(f"{text!r}: unexpected {text[pos]!r} at position {pos}; "
                                "steps start with '.' or '['")
    for step in steps[:-1]:
        if isinstance(step, _Keys):
            raise JsonPathError(f"{text!r}: a multi-member selection ['a','b'] must be the last step")
    return tuple(steps)


def _parse_brackets(text: str, pos: int) -> tuple[_Step, int]:
    if _QUOTED.match(text, pos):
        return _parse_names(text, pos)
    end = text.find("]", pos)
    if end < 0:
        raise JsonPathError(f"{text!r}: '[' at position {pos - 1} is never closed")
    content = text[pos:end]
    if content.strip() == "*":
        return _Wildcard(), end + 1
    return _Indexes(_parse_indexes(text, content)), end + 1


def _parse_names(text: str, pos: int) -> tuple[_Step, int]:
    names: list[str] = []
    while True:
        match = _QUOTED.match(text, pos)
        if not match:
            raise JsonPathError(f"{text!r}: expected a quoted member name at position {pos}")
        names.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
        if text.startswith("]", pos):
            step: _Step = _Key(names[0]) if len(names) == 1 else _Keys(tuple(names))
            return step, pos + 1
        if not text.startswith(",", pos):
            raise JsonPathError(f"{text!r}: expected ',' or ']' at position {pos}")
        pos += 1


def _parse_indexes(text: str, content: str) -> tuple[int | tuple[int | None, int | None], ...]:
    items: list[int | tuple[int | None, int | None]] = []
    for part in content.split(","):
        if index := _INDEX.fullmatch(part):
            items.append(int(index.group(1)))
        elif bounds := _RANGE.fullmatch(part):
            start, end = bounds.groups()
            items.append((None if start is None else int(start), None if end is None else int(end)))
        else:
            raise JsonPathError(f"{text!r}: [{content}] is not an index, a list of indexes or a range "
                                "like [1:5]; steps ([::2]) and filters ([?()]) are not supported")
    if sum(isinstance(item, tuple) for item in items) > 1:
        # SageMaker's own wording for this case.
        raise JsonPathError(f"{text!r}: only single range filters of format (eg: [1:5]) are supported; "
                            f"[{content}] has more than one range")
    return tuple(items)


def _member(value: Any, name: str) -> Any:
    if not isinstance(value, dict):
        raise JsonPathError(f"member {name!r} needs a JSON object, got {_kind(value)} "
                            "(CSV rows are arrays: select columns by index, e.g. $[0])")
    if name not in value:
        raise JsonPathError(f"no member {name!r} (members: {', '.join(map(repr, value)) or 'none'})")
    return value[name]


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return list(_array(value))


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise JsonPathError(f"an index needs a JSON array, got {_kind(value)}")
    return value


def _in_range(index: int, length: int, bounds: tuple[int | None, int | None] | None = None) -> int:
    position = index + length if index < 0 else index
    if not 0 <= position < length:
        where = f" (in the range [{_show(bounds[0])}:{_show(bounds[1])}])" if bounds else ""
        raise JsonPathError(f"index {index}{where} is out of range for an array of {length} elements")
    return position


def _show(bound: int | None) -> str:
    return "" if bound is None else str(bound)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return f"an array of {len(value)} elements"
    if isinstance(value, dict):
        return "an object"
    return f"the {type(value).__name__} {value!r}"
