"""Pipeline definitions: SageMaker `CreateModel` requests read from YAML or JSON, validated.

A file holds either one CreateModel request (the endpoint is named by `ModelName`
or the file's stem) or several under `Endpoints: {name: request}`. Every mistake
becomes one `DefinitionError` naming the file, the field and the fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from emulator.errors import DefinitionError, EmulatorError
from emulator.instances import instance
from emulator.shapes import Cursor, is_valid_name

MAX_CONTAINERS = 15
MAX_ENV_ENTRIES = 100
# CreateModel's EnvironmentKey and EnvironmentValue: lengths in characters, as the API counts them.
MAX_ENV_CHARACTERS = 1024
MAX_IMAGE_CHARACTERS = 255  # ContainerImage
MAX_URL_CHARACTERS = 1024  # ModelDataUrl
S3_URL = re.compile(r"s3://[^/]+(/.*)?", re.DOTALL)  # the model's Url pattern, (https|s3)://([^/]+)/?(.*)
MAX_ENV_TOTAL_BYTES = 32 * 1024  # all keys and values of a model's containers together (CreateModel's Environment)
ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MIN_STARTUP_TIMEOUT, MAX_STARTUP_TIMEOUT = 60, 3600
MAX_NUMBER_BITS = 14_000  # about 4200 decimal digits, under Python's 4300-digit printing limit

MODEL_FIELDS = {
    "ModelName", "PrimaryContainer", "Containers", "InferenceExecutionConfig",
    "EnableNetworkIsolation", "ContainerStartupHealthCheckTimeoutInSeconds",
    "InstanceType",  # the endpoint config's, in a definition: what the containers are checked against
    # Accepted so a real CreateModel request can be reused; they mean nothing locally.
    "ExecutionRoleArn", "Tags", "VpcConfig",
}
CONTAINER_FIELDS = {"Image", "ModelDataUrl", "Environment", "ContainerHostname", "Mode", "ImageConfig"}


@dataclass(frozen=True)
class ContainerDefinition:
    image: str
    hostname: str
    model_data: str | None = None  # a local path (file or folder), or an s3:// URL
    environment: dict[str, str] = field(default_factory=dict)
    multi_model: bool = False  # Mode: MultiModel: model_data is the prefix (S3 or local folder) of many models


@dataclass(frozen=True)
class EndpointDefinition:
    name: str
    containers: tuple[ContainerDefinition, ...]
    mode: str = "Serial"  # Serial | Direct
    network_isolation: bool = False
    startup_timeout: float | None = None  # seconds; None = the emulator's default
    source: str = "<dict>"
    instance_type: str | None = None  # None: emulator.instances.ASSUMED

    @property
    def is_pipeline(self) -> bool:
        return len(self.containers) > 1

    @property
    def is_multi_model(self) -> bool:
        return any(container.multi_model for container in self.containers)


def load_file(path: str | Path) -> list[EndpointDefinition]:
    """Read a YAML or JSON definition file into its endpoints."""
    path = Path(path)
    source = str(path)
    whole = _document(None, source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise whole.error("the file does not exist.", "check the path to the pipeline definition.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise whole.error(f"the file cannot be read ({exc}).", "pass a UTF-8 YAML or JSON file.") from None
    document = _parse_text(text, whole, as_json=source.endswith(".json"))
    return parse(document, source=source, base_dir=path.parent, default_name=path.stem)


def _document(document: Any, source: str) -> Cursor:
    """The whole document of `source`: its errors name the file, and the field path from here."""
    return Cursor(document, "", partial(DefinitionError, source))


def _parse_text(text: str, whole: Cursor, *, as_json: bool) -> Any:
    try:
        if as_json:
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:  # ValueError also: YAML's `2001-13-45`, integers over 4300 digits
        detail = " ".join(str(exc).split())[:500]
        raise whole.error(f"it is not valid YAML/JSON ({detail}).", "correct the syntax at the position shown.") from None
    except RecursionError:
        raise whole.error("it is nested too deeply to read.", "write a plain CreateModel document.") from None


def parse(document: Any, *, source: str = "<dict>", base_dir: Path | None = None,
          default_name: str = "endpoint") -> list[EndpointDefinition]:
    """Validate a parsed document (a CreateModel dict, or `{"Endpoints": {...}}`)."""
    base_dir = base_dir or Path.cwd()
    whole = _document(document, source)
    _reject_unprintable_numbers(whole)
    if not isinstance(document, dict):
        raise whole.error(f"the top level is {_kind(document)}, not a mapping.",
                          "write a CreateModel request (PrimaryContainer or Containers) or an `Endpoints:` mapping of them.")
    if "Endpoints" in document:
        extra = sorted(str(key) for key in document if key != "Endpoints")
        if extra:
            raise whole.at(extra[0]).error("is not allowed beside `Endpoints`.",
                                           "move it inside one endpoint's definition, or remove it.")
        endpoints = whole.at("Endpoints")
        if not isinstance(endpoints.value, dict) or not endpoints.value:
            raise endpoints.error("must be a non-empty mapping of endpoint name to CreateModel request.",
                                  "write `Endpoints: {my-endpoint: {Containers: [...]}}`.")
        return [_endpoint(str(name), endpoints.at(name), source, base_dir) for name in endpoints.value]
    name = document.get("ModelName", default_name)
    return [_endpoint(str(name), whole, source, base_dir)]


def _endpoint(name: str, body: Cursor, source: str, base_dir: Path) -> EndpointDefinition:
    if not is_valid_name(name):
        raise body.error(f"{_show(name)} is not a valid endpoint name.",
                         "use 1-63 letters, digits and hyphens, starting and ending with a letter or digit.",
                         top="ModelName")
    if not isinstance(body.value, dict):
        raise body.error(f"is {_kind(body.value)}, not a CreateModel mapping.", "give PrimaryContainer or Containers.",
                         top="<top>")
    body.reject_unknown(MODEL_FIELDS, "a CreateModel", guess=False)
    has_primary, has_list = "PrimaryContainer" in body.value, "Containers" in body.value
    if has_primary == has_list:
        raise body.error("needs exactly one of PrimaryContainer and Containers.",
                         "use PrimaryContainer for one container, Containers (a list of 1-15) for a pipeline.", top="<top>")
    if has_primary:
        containers = [body.at("PrimaryContainer")]
    else:
        listed = body.at("Containers")
        if not isinstance(listed.value, list) or not listed.value:
            raise listed.error("must be a list of 1 to 15 containers.", "list each container with at least its Image.")
        if len(listed.value) > MAX_CONTAINERS:
            raise listed.error(f"has {len(listed.value)} containers; SageMaker allows at most {MAX_CONTAINERS}.",
                               "merge steps into fewer containers.")
        containers = [listed.item(i) for i in range(len(listed.value))]
    definitions = _containers(containers, base_dir, single=has_primary)
    config = body.at("InferenceExecutionConfig")
    mode = _mode(config)
    if mode == "Direct":
        _check_direct(containers, config.at("Mode"))
    _check_environment_total(definitions, containers)
    isolation = body.value.get("EnableNetworkIsolation", False)
    if not isinstance(isolation, bool):
        raise body.at("EnableNetworkIsolation").error(f"is {_show(isolation)}, not true or false.", "write true or false.")
    timeout = body.value.get("ContainerStartupHealthCheckTimeoutInSeconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not MIN_STARTUP_TIMEOUT <= timeout <= MAX_STARTUP_TIMEOUT):
        raise body.at("ContainerStartupHealthCheckTimeoutInSeconds").error(
            f"is {_show(timeout)}.", f"give whole seconds from {MIN_STARTUP_TIMEOUT} to {MAX_STARTUP_TIMEOUT}.")
    instance_type = body.value.get("InstanceType")
    if instance_type is not None:
        try:
            sized = instance(instance_type if isinstance(instance_type, str) else repr(instance_type))
        except EmulatorError as unknown:
            raise body.at("InstanceType").error(f"is {_show(instance_type)}, not a SageMaker instance type.",
                                                str(unknown).split("Fix: ", 1)[1]) from None
        if sized.gpus > 1 and any(container.multi_model for container in definitions):
            raise body.at("InstanceType").error(
                f"is {sized.describe()}; SageMaker hosts a MultiModel container on CPU and single-GPU instance "
                "types only.", "choose a CPU or single-GPU type (e.g. ml.m5.xlarge, ml.g5.xlarge).")
    return EndpointDefinition(name=name, containers=tuple(definitions), mode=mode, network_isolation=isolation,
                              startup_timeout=timeout, source=source, instance_type=instance_type)


def _containers(containers: list[Cursor], base_dir: Path, single: bool) -> list[ContainerDefinition]:
    named = [(c, "ContainerHostname" in c.value) for c in containers if isinstance(c.value, dict)]
    if any(has_name for _, has_name in named) and not all(has_name for _, has_name in named):
        first_missing = next(c for c, has_name in named if not has_name)
        raise first_missing.at("ContainerHostname").error(
            "is missing, but other containers set theirs; SageMaker needs it on all containers or none.",
            "set ContainerHostname on every container, or remove it from all.")
    result: list[ContainerDefinition] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(containers):
        default_host = "primary" if single else f"container-{index + 1}"
        container = _container(item, base_dir, default_host, single=len(containers) == 1)
        if container.hostname in seen:
            raise item.at("ContainerHostname").error(
                f"{_show(container.hostname)} is already used by {seen[container.hostname]}.",
                "give each container its own hostname.")
        seen[container.hostname] = item.path
        result.append(container)
    return result


def _check_direct(containers: list[Cursor], mode: Cursor) -> None:
    """Direct mode: callers name the container they invoke by its ContainerHostname, so every container
    has one, and there is more than one to choose from (CreateModel's InferenceExecutionConfig)."""
    if len(containers) < 2:
        raise mode.error("Direct needs more than one container.",
                         "list two or more Containers, each with its ContainerHostname, or use Mode: Serial.")
    for item in containers:
        if "ContainerHostname" not in item.value:
            raise item.at("ContainerHostname").error("is missing; in Direct mode callers name the container they invoke by it.",
                                                     "set ContainerHostname on every container.")


def _check_environment_total(definitions: list[ContainerDefinition], containers: list[Cursor]) -> None:
    total = 0
    for definition, item in zip(definitions, containers):
        total += sum(len(key.encode()) + len(value.encode()) for key, value in definition.environment.items())
        if total > MAX_ENV_TOTAL_BYTES:
            raise item.at("Environment").error(
                f"brings the model's environment to {total} bytes (all keys and values of its "
                f"containers); SageMaker allows at most {MAX_ENV_TOTAL_BYTES} bytes.",
                "move settings into a config file inside the model artifact.")


def _container(item: Cursor, base_dir: Path, default_host: str, single: bool) -> ContainerDefinition:
    if not isinstance(item.value, dict):
        raise item.error(f"is {_kind(item.value)}, not a container mapping.", "write `{Image: ..., ModelDataUrl: ...}`.")
    item.reject_unknown(CONTAINER_FIELDS, "a container definition", guess=False)
    fields = item.value
    image = fields.get("Image")
    if not isinstance(image, str) or not image.strip():
        raise item.at("Image").error("is missing or empty.",
                                     "set Image to the tag of a local image, e.g. `my-preprocessor:latest`.")
    image = image.strip()
    if len(image) > MAX_IMAGE_CHARACTERS or any(character.isspace() for character in image):
        raise item.at("Image").error(
            f"{_show(image)} is not an image reference SageMaker takes (at most {MAX_IMAGE_CHARACTERS} characters, "
            "no whitespace).",
            "give the image's registry/repository:tag (or @sha256:digest) alone.")
    multi_model = _container_mode(item.at("Mode"), single)
    hostname = fields.get("ContainerHostname", default_host)
    if not isinstance(hostname, str) or not is_valid_name(hostname):
        raise item.at("ContainerHostname").error(f"{_show(hostname)} is not a valid hostname.",
                                                 "use 1-63 letters, digits and hyphens.")
    environment = _environment(item.at("Environment"))
    model_data = _model_data(item.at("ModelDataUrl"), base_dir)
    if multi_model:
        _check_model_prefix(item.at("ModelDataUrl"), model_data)
    return ContainerDefinition(image=image, hostname=hostname, model_data=model_data, environment=environment,
                               multi_model=multi_model)


def _container_mode(mode: Cursor, single: bool) -> bool:
    """True for Mode: MultiModel, which SageMaker allows on a model of one container only."""
    value = mode.value if mode.value is not None else "SingleModel"
    if value not in ("SingleModel", "MultiModel"):
        raise mode.error(f"{_show(value)} is not a container mode.", "use SingleModel or MultiModel.")
    if value == "MultiModel" and not single:
        raise mode.error("MultiModel is only for a model of one container; SageMaker refuses it in a pipeline.",
                         "serve the multi-model container as its own model (PrimaryContainer), or use SingleModel.")
    return value == "MultiModel"


def _check_model_prefix(member: Cursor, model_data: str | None) -> None:
    """A multi-model container's ModelDataUrl is where its models are (an S3 prefix, or locally a folder),
    never one model's archive: each invocation names its archive below it (TargetModel)."""
    if model_data is None:
        raise member.error("is missing; a MultiModel container needs the prefix its models are under.",
                           "set ModelDataUrl to an S3 prefix (s3://bucket/models/) or a local folder of model.tar.gz files.")
    if model_data.endswith((".tar.gz", ".tgz", ".tar")) or (not model_data.startswith("s3://")
                                                            and not Path(model_data).is_dir()):
        raise member.error(f"{_show(model_data)} is one archive, but a MultiModel container's ModelDataUrl is the "
                           "prefix its models are under.",
                           "give the S3 prefix (s3://bucket/models/) or the local folder that holds the model.tar.gz "
                           "files, and name each one with TargetModel when invoking.")


def _environment(env: Cursor) -> dict[str, str]:
    if env.value is None:  # absent or empty: no variables
        return {}
    if not isinstance(env.value, dict):
        raise env.error(f"is {_kind(env.value)}, not a mapping.", "write `Environment: {KEY: value}`.")
    if len(env.value) > MAX_ENV_ENTRIES:
        raise env.error(f"has {len(env.value)} entries; SageMaker allows at most {MAX_ENV_ENTRIES}.",
                        "move settings into a config file inside the model artifact.")
    result: dict[str, str] = {}
    for key, value in env.value.items():
        key = str(key)
        variable = env.at(key)
        if not ENV_KEY.fullmatch(key) or len(key) > MAX_ENV_CHARACTERS:
            raise variable.error("is not a valid variable name.",
                                 f"use letters, digits and underscores, not starting with a digit, at most "
                                 f"{MAX_ENV_CHARACTERS} characters.")
        if isinstance(value, (dict, list)) or value is None:
            raise variable.error(f"is {_kind(value)}; environment values are strings.",
                                 "quote the value, e.g. `KEY: \"value\"`.")
        text = _env_text(value)
        if len(text) > MAX_ENV_CHARACTERS:
            raise variable.error(f"is {len(text)} characters; SageMaker allows {MAX_ENV_CHARACTERS} "
                                 "(CreateModel fails: `Map value must satisfy constraint: [Member must have length "
                                 f"less than or equal to {MAX_ENV_CHARACTERS}`).",
                                 "shorten it, or put the data in a file inside the model artifact and name the file.")
        result[key] = text
    return result


def _env_text(value: Any) -> str:
    # YAML reads `true` and `8080` as bool and int; SageMaker only has strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _model_data(member: Cursor, base_dir: Path) -> str | None:
    url = member.value
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise member.error(f"is {_show(url)}.", "give a local .tar.gz, a local folder, file://... or s3://... .")
    url = url.strip()
    if url.startswith("s3://"):
        if len(url) > MAX_URL_CHARACTERS or not S3_URL.fullmatch(url):
            raise member.error(f"{_show(url)} is not an S3 URL SageMaker takes (s3://bucket/key, at most "
                               f"{MAX_URL_CHARACTERS} characters).", "give s3://BUCKET/path/model.tar.gz.")
        return url
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) and not url.startswith("file://"):
        raise member.error(f"{_show(url)} uses a scheme the emulator cannot read.",
                           "give a local path, file://..., or s3://... .")
    try:
        return _local_model_data(Path(url.removeprefix("file://")), member, base_dir)
    except (OSError, RuntimeError, ValueError) as exc:  # a name too long, an unknown `~user`, a NUL byte...
        shown = url if len(url) <= 80 else f"{url[:80]}..."
        raise member.error(f"{_show(shown)} is not a usable path ({getattr(exc, 'strerror', None) or exc}).",
                           "give the path of the model.tar.gz or of the model folder.") from None


def _local_model_data(path: Path, member: Cursor, base_dir: Path) -> str:
    path = path.expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise member.error(f"{path} does not exist.",
                           "build the artifact first, or fix the path (relative paths start at the definition file's folder).")
    if path.is_file() and not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise member.error(f"{path} is a file but not a .tar.gz archive.",
                           "point at the model.tar.gz, or at a folder holding the unpacked model.")
    return str(path.resolve())


def _mode(config: Cursor) -> str:
    if config.value is None:
        return "Serial"
    if not isinstance(config.value, dict) or set(config.value) - {"Mode"}:
        raise config.error("must be `{Mode: Serial}` or `{Mode: Direct}`.", "remove other fields.")
    mode = config.value.get("Mode", "Serial")
    if mode not in ("Serial", "Direct"):
        raise config.at("Mode").error(f"{_show(mode)} is not a mode.", "use Serial or Direct.")
    return mode


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(type(value), f"a {type(value).__name__}")


def _reject_unprintable_numbers(whole: Cursor) -> None:
    """YAML reads `0x` and `0b` literals of any length; Python cannot print an integer of more than
    4300 digits, and every message and environment value prints. Refuse such a number up front.
    (A walk with a stack of its own: a deeply nested document must not exhaust Python's.)"""
    stack, seen = [whole.value], set()
    while stack:
        value = stack.pop()
        if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
            raise whole.error("it holds a number too long to use.", "write it as a quoted string, or shorten it.")
        if isinstance(value, (dict, list)):
            if id(value) in seen:  # YAML aliases may make a structure contain itself
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _show(value: Any) -> str:
    """A value for an error message: its repr, shortened; never an exception of its own."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
