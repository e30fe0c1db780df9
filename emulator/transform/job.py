"""A transform job's settings in SageMaker's vocabulary, and CreateTransformJob request validation.

Every check raises JobConfigError naming the request field and the fix, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from emulator.errors import EmulatorError
from emulator.instances import instance
from emulator.invocation.content_types import base_type
from emulator.shapes import Cursor, check_integer, is_valid_name
from emulator.transform.errors import JobConfigError
from emulator.transform.jsonpath import JsonPath, JsonPathError

# Limits from botocore's SageMaker service model (CreateTransformJob and its shapes).
MAX_PAYLOAD_LIMIT_MB = 100
MAX_ENVIRONMENT_ENTRIES = 16
_ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,1023}")
_MAX_JSONPATH = 63
_MAX_MIME = 256
_MAX_ENV_VALUE = 10240


class SplitType(str, Enum):
    NONE = "None"
    LINE = "Line"
    RECORDIO = "RecordIO"
    TFRECORD = "TFRecord"


class BatchStrategy(str, Enum):
    SINGLE_RECORD = "SingleRecord"
    MULTI_RECORD = "MultiRecord"

    @property
    def env_value(self) -> str:
        """The spelling of SAGEMAKER_BATCH_STRATEGY and of /execution-parameters."""
        return "SINGLE_RECORD" if self is BatchStrategy.SINGLE_RECORD else "MULTI_RECORD"


class AssembleWith(str, Enum):
    NONE = "None"
    LINE = "Line"


class JoinSource(str, Enum):
    NONE = "None"
    INPUT = "Input"


class S3DataType(str, Enum):
    S3_PREFIX = "S3Prefix"
    MANIFEST_FILE = "ManifestFile"


CSV_TYPE = "text/csv"
JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines")


@dataclass(frozen=True)
class ModelClientConfig:
    invocations_timeout_in_seconds: int = 600
    invocations_max_retries: int = 3

    def __post_init__(self) -> None:
        _check_range("ModelClientConfig.InvocationsTimeoutInSeconds", self.invocations_timeout_in_seconds,
                     1, 3600)
        _check_range("ModelClientConfig.InvocationsMaxRetries", self.invocations_max_retries, 0, 3)


@dataclass(frozen=True)
class DataProcessing:
    input_filter: str = "$"
    output_filter: str = "$"
    join_source: JoinSource = JoinSource.NONE
    # Emulator knob, not a SageMaker field: how `[s:e]` treats e (see JsonPath).
    slice_end_inclusive: bool = True

    def __post_init__(self) -> None:
        self.input_path()
        self.output_path()

    def input_path(self) -> JsonPath:
        return self._path("DataProcessing.InputFilter", self.input_filter)

    def output_path(self) -> JsonPath:
        return self._path("DataProcessing.OutputFilter", self.output_filter)

    @property
    def active(self) -> bool:
        return self.join_source is JoinSource.INPUT or not (
            self.input_path().is_root and self.output_path().is_root)

    def _path(self, name: str, text: str) -> JsonPath:
        if len(text) > _MAX_JSONPATH:
            raise JobConfigError(name, f"{text!r} is {len(text)} characters long; SageMaker allows "
                                 f"{_MAX_JSONPATH}.", "Shorten the expression.")
        try:
            return JsonPath.parse(text, slice_end_inclusive=self.slice_end_inclusive)
        except JsonPathError as exc:
            raise JobConfigError(name, f"{exc}.", "Use the supported JSONPath subset: $, $.name, $.a.b, "
                                 "$['a','b'], $[0,-1], $[1:], $[*].") from None


@dataclass(frozen=True)
class TransformJob:
    """What CreateTransformJob says, with SageMaker's defaults; validated on construction."""

    name: str = "local-transform"
    model_name: str | None = None
    content_type: str | None = None
    accept: str | None = None
    split_type: SplitType = SplitType.NONE
    batch_strategy: BatchStrategy | None = None
    max_payload_in_mb: int | None = None
    # 0 means "unset" in SageMaker: ask /execution-parameters, then default to 1.
    max_concurrent_transforms: int | None = None
    assemble_with: AssembleWith = AssembleWith.NONE
    model_client_config: ModelClientConfig = field(default_factory=ModelClientConfig)
    data_processing: DataProcessing = field(default_factory=DataProcessing)
    environment: Mapping[str, str] = field(default_factory=dict)
    input_uri: str | None = None
    input_data_type: S3DataType = S3DataType.S3_PREFIX
    output_path: str | None = None
    # TransformResources.InstanceType: sizes the containers (None: the model definition's, else the assumed one).
    instance_type: str | None = None

    def __post_init__(self) -> None:
        self._coerce_enums()
        self._check_names()
        self._check_instance_type()
        self._check_sizes()
        self._check_environment()
        self._check_data_processing()

    def _coerce_enums(self) -> None:
        """Accept SageMaker's strings ("Line") as well as the enums, e.g. from a YAML config."""
        for name, enum, request_field in _ENUM_FIELDS:
            value = getattr(self, name)
            if value is None or isinstance(value, enum):
                continue
            try:
                object.__setattr__(self, name, enum(value))
            except ValueError:
                raise JobConfigError(request_field, f"{value!r} is not valid.",
                                     f"Use one of: {', '.join(member.value for member in enum)}.") from None

    def _check_names(self) -> None:
        if not is_valid_name(self.name):
            raise JobConfigError("TransformJobName", f"{self.name!r} is not a valid name.",
                                 "Use 1-63 letters, digits and hyphens, starting and ending with a "
                                 "letter or digit.")
        if self.model_name is not None and not is_valid_name(self.model_name):
            raise JobConfigError("ModelName", f"{self.model_name!r} is not a valid model name.",
                                 "Use 1-63 letters, digits and hyphens, starting and ending with a "
                                 "letter or digit.")
        for name, value in (("TransformInput.ContentType", self.content_type),
                            ("TransformOutput.Accept", self.accept)):
            if value is not None and len(value) > _MAX_MIME:
                raise JobConfigError(name, f"is {len(value)} characters long; SageMaker allows {_MAX_MIME}.",
                                     "Use a MIME type such as text/csv.")

    def _check_instance_type(self) -> None:
        if self.instance_type is None:
            return
        try:
            instance(self.instance_type)
        except EmulatorError as unknown:
            problem, _, fix = str(unknown).partition(" Fix: ")
            raise JobConfigError("TransformResources.InstanceType", problem, fix[:1].upper() + fix[1:]) from None

    def _check_sizes(self) -> None:
        if self.max_payload_in_mb is not None:
            _check_range("MaxPayloadInMB", self.max_payload_in_mb, 0, MAX_PAYLOAD_LIMIT_MB)
        if self.max_concurrent_transforms is not None:
            _check_range("MaxConcurrentTransforms", self.max_concurrent_transforms, 0, None)
        if self.max_payload_in_mb and self.max_concurrent_transforms:
            total = self.max_payload_in_mb * self.max_concurrent_transforms
            if total > MAX_PAYLOAD_LIMIT_MB:
                raise JobConfigError(
                    "MaxConcurrentTransforms", f"{self.max_concurrent_transforms} x MaxPayloadInMB "
                    f"{self.max_payload_in_mb} = {total} MB, above SageMaker's {MAX_PAYLOAD_LIMIT_MB} MB.",
                    "Lower MaxConcurrentTransforms or MaxPayloadInMB so that their product is at most 100.")

    def _check_environment(self) -> None:
        if len(self.environment) > MAX_ENVIRONMENT_ENTRIES:
            raise JobConfigError("Environment", f"has {len(self.environment)} entries; SageMaker allows "
                                 f"{MAX_ENVIRONMENT_ENTRIES}.", "Move the rest to the model's Environment.")
        for key, value in self.environment.items():
            if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
                raise JobConfigError(f"Environment.{key}", "is not a valid variable name.",
                                     "Use letters, digits and underscores, not starting with a digit.")
            if not isinstance(value, str) or len(value) > _MAX_ENV_VALUE:
                raise JobConfigError(f"Environment.{key}", "must be a string of at most "
                                     f"{_MAX_ENV_VALUE} characters.", "Quote the value in the request.")

    def _check_data_processing(self) -> None:
        processing = self.data_processing
        if not processing.active:
            return
        # ContentType is required (records must be parsed); Accept may be left to the container.
        checks = [("TransformInput.ContentType", self.content_type)]
        if self.accept is not None:
            checks.append(("TransformOutput.Accept", self.accept))
        for name, value in checks:
            if not is_data_type(value):
                raise JobConfigError(name, f"{value!r} cannot be used with DataProcessing.",
                                     f"Set it to {CSV_TYPE} or one of {', '.join(JSON_TYPES)}.")
        if self.split_type not in (SplitType.LINE, SplitType.NONE):
            raise JobConfigError("TransformInput.SplitType", f"{self.split_type.value} records are binary; "
                                 "DataProcessing works on JSON and CSV.", "Use SplitType Line or None.")
        input_csv = base_type(self.content_type) == CSV_TYPE
        output_csv = base_type(self.accept) == CSV_TYPE
        if input_csv or output_csv:
            self._check_csv_processing(input_csv, output_csv)

    def _check_csv_processing(self, input_csv: bool, output_csv: bool) -> None:
        processing = self.data_processing
        joins = processing.join_source is JoinSource.INPUT
        if self.split_type is not SplitType.LINE:
            raise JobConfigError("TransformInput.SplitType", "CSV DataProcessing works row by row.",
                                 "Set SplitType to Line.")
        if self.assemble_with is not AssembleWith.LINE:
            raise JobConfigError("TransformOutput.AssembleWith", "CSV DataProcessing writes one row per record.",
                                 "Set AssembleWith to Line.")
        if input_csv and joins and not output_csv:
            raise JobConfigError("TransformOutput.Accept", f"a CSV join needs the output as CSV too, got "
                                 f"{self.accept!r}.", f"Set Accept to {self.content_type!r}.")
        if input_csv and processing.input_path().uses_names:
            raise JobConfigError("DataProcessing.InputFilter", f"{processing.input_filter!r} selects members "
                                 "by name, but CSV rows are arrays.", "Select columns by index, e.g. $[1:].")
        # OutputFilter sees the joined record (input's format) or else the output alone.
        if (input_csv if joins else output_csv) and processing.output_path().uses_names:
            raise JobConfigError("DataProcessing.OutputFilter", f"{processing.output_filter!r} selects "
                                 "members by name, but CSV rows are arrays.", "Select columns by index, "
                                 "e.g. $[0,-1].")


_ENUM_FIELDS: tuple[tuple[str, type[Enum], str], ...] = (
    ("split_type", SplitType, "TransformInput.SplitType"),
    ("batch_strategy", BatchStrategy, "BatchStrategy"),
    ("assemble_with", AssembleWith, "TransformOutput.AssembleWith"),
    ("input_data_type", S3DataType, "TransformInput.DataSource.S3DataSource.S3DataType"),
)


def is_data_type(content_type: str | None) -> bool:
    return base_type(content_type) in (CSV_TYPE, *JSON_TYPES)


def _check_range(name: str, value: int, low: int, high: int | None) -> None:
    check_integer(Cursor(value, name, JobConfigError))
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise JobConfigError(name, f"{value} is out of range.", f"Use a value {bounds}.")


# ---- CreateTransformJob request parsing -------------------------------------------------------

# Fields we accept but that mean nothing on one local machine.
_IGNORED = {"DataCaptureConfig", "Tags", "ExperimentConfig"}
_TOP = {"TransformJobName", "ModelName", "MaxConcurrentTransforms", "ModelClientConfig", "MaxPayloadInMB",
        "BatchStrategy", "Environment", "TransformInput", "TransformOutput", "DataProcessing",
        "TransformResources"} | _IGNORED
# One instance runs here whatever InstanceCount says (the Kubernetes export runs as many).
_RESOURCES = {"InstanceType", "InstanceCount", "VolumeKmsKeyId", "TransformAmiVersion"}

_WHAT = "CreateTransformJob"


def from_request(request: Mapping[str, Any]) -> TransformJob:
    """Validate a CreateTransformJob-shaped dict (as boto3 takes it) and build the TransformJob."""
    top = Cursor(request, "", JobConfigError).mapping(_TOP, _WHAT)
    source = top.required_section("TransformInput", {"DataSource", "ContentType", "CompressionType", "SplitType"},
                                  _WHAT)
    compression = source.text("CompressionType")
    if compression not in (None, "None"):
        raise JobConfigError("TransformInput.CompressionType", f"{compression!r} is not supported by the "
                             "emulator.", "Decompress the input files and set CompressionType to 'None'.")
    s3 = source.required_section("DataSource", {"S3DataSource"}, _WHAT).required_section(
        "S3DataSource", {"S3DataType", "S3Uri"}, _WHAT)
    if s3.text("S3DataType") == "AugmentedManifestFile":
        raise JobConfigError(s3.at("S3DataType").path, "AugmentedManifestFile is not compatible with batch "
                             "transform.", "Use S3Prefix or ManifestFile.")
    s3.required_text("S3DataType")
    output = top.required_section("TransformOutput", {"S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"}, _WHAT)
    resources = top.section("TransformResources", _RESOURCES, _WHAT)
    environment = top.value.get("Environment") or {}
    if not isinstance(environment, Mapping):
        raise JobConfigError("Environment", "must be an object of strings.", 'Write {"NAME": "value"}.')
    return TransformJob(
        name=top.required_text("TransformJobName"),
        model_name=top.required_text("ModelName"),
        content_type=source.text("ContentType"),
        accept=output.text("Accept"),
        split_type=source.choice("SplitType", SplitType) or SplitType.NONE,
        batch_strategy=top.choice("BatchStrategy", BatchStrategy),
        max_payload_in_mb=top.integer("MaxPayloadInMB"),
        max_concurrent_transforms=top.integer("MaxConcurrentTransforms"),
        assemble_with=output.choice("AssembleWith", AssembleWith) or AssembleWith.NONE,
        model_client_config=_model_client_config(top.section(
            "ModelClientConfig", {"InvocationsTimeoutInSeconds", "InvocationsMaxRetries"}, _WHAT)),
        data_processing=_data_processing(top.section("DataProcessing", {"InputFilter", "OutputFilter", "JoinSource"},
                                                     _WHAT)),
        environment=dict(environment),
        input_uri=s3.required_text("S3Uri"),
        input_data_type=s3.choice("S3DataType", S3DataType) or S3DataType.S3_PREFIX,
        output_path=output.required_text("S3OutputPath"),
        instance_type=resources.text("InstanceType") if resources else None,
    )


def _model_client_config(section: Cursor | None) -> ModelClientConfig:
    defaults = ModelClientConfig()
    if section is None:
        return defaults
    timeout = section.integer("InvocationsTimeoutInSeconds")
    retries = section.integer("InvocationsMaxRetries")
    return ModelClientConfig(
        invocations_timeout_in_seconds=defaults.invocations_timeout_in_seconds if timeout is None else timeout,
        invocations_max_retries=defaults.invocations_max_retries if retries is None else retries)


def _data_processing(section: Cursor | None) -> DataProcessing:
    if section is None:
        return DataProcessing()
    # An empty filter is allowed by the API (min length 0) and means the default `$`.
    return DataProcessing(input_filter=section.text("InputFilter") or "$",
                          output_filter=section.text("OutputFilter") or "$",
                          join_source=section.choice("JoinSource", JoinSource) or JoinSource.NONE)
