"""InvokeEndpoint's (and InvokeEndpointWithResponseStream's, InvokeEndpointAsync's) request headers: lengths, ranges and
patterns as botocore's sagemaker-runtime model declares them, and the members whose feature the emulator does not run
(refused, never ignored)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import botocore.loaders

from emulator.seam.wire_errors import ValidationError

VISIBLE_ASCII = re.compile(r"[\x20-\x7e]*")
INTEGER = re.compile(r"-?[0-9]{1,18}")
# Java's classes in the model's patterns, as Python's re spells them (\p{Print} is ASCII in Java).
_JAVA_CLASSES = {r"[\p{Print}]": r"[\x20-\x7e]", r"\p{Print}": r"[\x20-\x7e]", r"\p{ASCII}": r"[\x00-\x7f]",
                 r"\z": r"\Z"}


@dataclass(frozen=True)
class HeaderRule:
    member: str  # the API member (InferenceId)
    header: str  # its header (X-Amzn-SageMaker-Inference-Id)
    low: int
    high: int | None
    pattern: re.Pattern[str] | None
    pattern_text: str | None
    sensitive: bool  # the model marks it so: its value is not repeated in messages
    integer: bool = False  # low and high bound the value, not the length

    def problem(self, value: str) -> str | None:
        """AWS's validation text for `value`, or None when it is valid."""
        shown = "" if self.sensitive else f" '{value}'" if len(value) <= 100 else f" '{value[:100]}...'"
        where = f"Value{shown} at '{self.member[0].lower()}{self.member[1:]}' failed to satisfy constraint: Member must"
        if self.integer:
            return self._range_problem(value, where)
        if not self.low <= len(value) <= (self.high if self.high is not None else len(value)):
            return f"{where} have length between {self.low} and {self.high}"
        if self.pattern is not None and not self.pattern.fullmatch(value):
            return f"{where} satisfy regular expression pattern: {self.pattern_text}"
        return None

    def _range_problem(self, value: str, where: str) -> str | None:
        if not INTEGER.fullmatch(value):
            return f"{where} be an integer"
        number = int(value)
        if number < self.low:
            return f"{where} have value greater than or equal to {self.low}"
        if self.high is not None and number > self.high:
            return f"{where} have value less than or equal to {self.high}"
        return None


INVOKE, INVOKE_STREAMING, INVOKE_ASYNC = "InvokeEndpointInput", "InvokeEndpointWithResponseStreamInput", "InvokeEndpointAsyncInput"


@lru_cache(maxsize=3)
def header_rules(input_shape: str = INVOKE) -> tuple[HeaderRule, ...]:
    model = botocore.loaders.Loader().load_service_model("sagemaker-runtime", "service-2")
    shapes = model["shapes"]
    rules = []
    for member, spec in shapes[input_shape]["members"].items():
        if spec.get("location") != "header":
            continue
        shape = shapes[spec["shape"]]
        text = shape.get("pattern")
        rules.append(HeaderRule(member, spec["locationName"], shape.get("min", 0), shape.get("max"),
                                re.compile(_python_pattern(text)) if text else None, text,
                                shape.get("sensitive", False), shape.get("type") == "integer"))
    return tuple(rules)


def _python_pattern(java: str) -> str:
    for java_class, python in _JAVA_CLASSES.items():
        java = java.replace(java_class, python)
    return java


def check_headers(headers: Mapping[str, str], input_shape: str = INVOKE) -> None:
    """Raises ValidationError for the first header that breaks the model's constraints, or that asks
    for a feature the endpoint does not have (as SageMaker) or the emulator does not run."""
    custom = headers.get("X-Amzn-SageMaker-Custom-Attributes")
    if custom is not None and not VISIBLE_ASCII.fullmatch(custom):
        raise ValidationError("CustomAttributes must be visible US-ASCII characters (at most 1024).")
    for rule in header_rules(input_shape):
        value = headers.get(rule.header)
        if value is not None and (problem := rule.problem(value)):
            raise ValidationError(f"1 validation error detected: {problem}")
    for header, member, feature in _NOT_EMULATED:
        if headers.get(header) is not None:
            raise ValidationError(f"{member} ({header}) is not emulated: sagemaker-emulator runs no {feature}. "
                                  "Remove the header, or test this feature on SageMaker.")


_NOT_EMULATED = (
    ("X-Amzn-SageMaker-Enable-Explanations", "EnableExplanations", "SageMaker Clarify online explainer"),
)
