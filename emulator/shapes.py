"""Reading AWS request shapes (CreateModel, CreateTransformJob, ...): a cursor that knows the path of the
member it stands on, so every error names the field (`Containers[1].Environment.KEY`) and the fix.

Each reader passes its own error class in as `fail(path, problem, fix)`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

# EndpointName, ModelName, TransformJobName, ContainerHostname: as the API reference writes it.
NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
MAX_NAME = 63
_NAME = re.compile(NAME_PATTERN.removeprefix("^"))

Fail = Callable[[str, str, str], Exception]
E = TypeVar("E", bound=Enum)


def is_valid_name(name: str) -> bool:
    """1-63 letters, digits and hyphens, starting and ending with a letter or digit (fullmatch: no trailing newline)."""
    return len(name) <= MAX_NAME and _NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Cursor:
    """A member of a request: its value, its path, and how to fail there."""

    value: Any
    path: str
    fail: Fail

    def at(self, key: Any) -> Cursor:
        """The field `key` of this mapping (its value None when absent)."""
        value = self.value.get(key) if isinstance(self.value, Mapping) else None
        return Cursor(value, f"{self.path}.{key}" if self.path else str(key), self.fail)

    def item(self, index: int) -> Cursor:
        """The item `index` of this list."""
        return Cursor(self.value[index], f"{self.path}[{index}]", self.fail)

    def error(self, problem: str, fix: str, *, top: str = "") -> Exception:
        """The error for this member; `top` names the request itself, whose path is empty."""
        return self.fail(self.path or top, problem, fix)

    def reject_unknown(self, allowed: set[str], what: str, *, guess: bool = True) -> None:
        """Every field of this mapping must be one of `allowed` (a misspelling is named, with its likely fix
        unless `guess` is off: then the fix lists every allowed field)."""
        unknown = sorted(str(key) for key in self.value if key not in allowed)
        if unknown:
            close = difflib.get_close_matches(unknown[0], allowed, n=1) if guess else []
            fix = (f"Did you mean {close[0]!r}?" if close
                   else f"remove it, or check its spelling; allowed: {', '.join(sorted(allowed))}.")
            raise self.at(unknown[0]).error(f"is not a field of {what}.", fix)

    # -- typed members ------------------------------------------------------------------------------------------
    def text(self, key: str) -> str | None:
        member = self.at(key)
        if member.value is not None and not isinstance(member.value, str):
            raise member.error(f"must be a string, got {member.value!r}.", "Quote the value.")
        return member.value

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.at(key).error("is required.", f"Add {self.at(key).path} to the request.")
        return value

    def integer(self, key: str) -> int | None:
        member = self.at(key)
        if member.value is not None:
            check_integer(member)
        return member.value

    def choice(self, key: str, enum: type[E]) -> E | None:
        value = self.text(key)
        if value is None:
            return None
        for member in enum:
            if member.value == value:
                return member
        valid = [member.value for member in enum]
        close = [v for v in valid if v.lower() == value.lower()]
        hint = f" Did you mean {close[0]!r}? Values are case-sensitive." if close else ""
        raise self.at(key).error(f"{value!r} is not valid.{hint}", f"Use one of: {', '.join(valid)}.")

    def section(self, key: str, allowed: set[str], what: str) -> Cursor | None:
        """The mapping `key` with only `allowed` fields; None when it is absent."""
        member = self.at(key)
        return None if member.value is None else member.mapping(allowed, what)

    def required_section(self, key: str, allowed: set[str], what: str) -> Cursor:
        section = self.section(key, allowed, what)
        if section is None:
            raise self.at(key).error("is required.", f"Add {self.at(key).path} to the request.")
        return section

    def mapping(self, allowed: set[str], what: str) -> Cursor:
        if not isinstance(self.value, Mapping):
            raise self.error(f"must be an object, got {type(self.value).__name__}.", "Write it as a JSON object / dict.",
                             top="request")
        self.reject_unknown(allowed, what)
        return self


def check_integer(member: Cursor) -> None:
    if isinstance(member.value, bool) or not isinstance(member.value, int):
        raise member.error(f"must be an integer, got {member.value!r}.", "Write a whole number.")
