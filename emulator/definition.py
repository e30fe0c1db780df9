"""Pipeline definitions: SageMaker `CreateModel` requests read from YAML or JSON, validated.

A file holds either one CreateModel request (the endpoint is named by `ModelName`
or the file's stem) or several under `Endpoints: {name: request}`. Every mistake
becomes one `DefinitionError` naming the file, the field and the fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from emulator.errors import DefinitionError
from emulator.shapes import is_valid_name

MAX_CONTAINERS = 15
MAX_ENV_ENTRIES = 100
MAX_ENV_BYTES = 1024
MAX_ENV_TOTAL_BYTES = 32 * 1024  # all keys and values of a model's containers together (CreateModel's Environment)
ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
MIN_STARTUP_TIMEOUT, MAX_STARTUP_TIMEOUT = 60, 3600
MAX_NUMBER_BITS = 14_000  # about 4200 decimal digits, under Python's 4300-digit printing limit

MODEL_FIELDS = {
    "ModelName", "PrimaryContainer", "Containers", "InferenceExecutionConfig",
    "EnableNetworkIsolation", "ContainerStartupHealthCheckTimeoutInSeconds",
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


@dataclass(frozen=True)
class EndpointDefinition:
    name: str
    containers: tuple[ContainerDefinition, ...]
    mode: str = "Serial"  # Serial | Direct
    network_isolation: bool = False
    startup_timeout: float | None = None  # seconds; None = the emulator's default
    source: str = "<dict>"

    @property
    def is_pipeline(self) -> bool:
        return len(self.containers) > 1


def load_file(path: str | Path) -> list[EndpointDefinition]:
    """Read a YAML or JSON definition file into its endpoints."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(source, "", "the file does not exist.", "check the path to the pipeline definition.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, "", f"the file cannot be read ({exc}).", "pass a UTF-8 YAML or JSON file.") from None
    document = _parse_text(text, source)
    return parse(document, source=source, base_dir=path.parent, default_name=path.stem)


def _parse_text(text: str, source: str) -> Any:
    try:
        if source.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:  # ValueError also: YAML's `2001-13-45`, integers over 4300 digits
        detail = " ".join(str(exc).split())[:500]
        raise DefinitionError(source, "", f"it is not valid YAML/JSON ({detail}).", "correct the syntax at the position shown.") from None
    except RecursionError:
        raise DefinitionError(source, "", "it is nested too deeply to read.", "write a plain CreateModel document.") from None


def parse(document: Any, *, source: str = "<dict>", base_dir: Path | None = None,
          default_name: str = "endpoint") -> list[EndpointDefinition]:
    """Validate a parsed document (a CreateModel dict, or `{"Endpoints": {...}}`)."""
    base_dir = base_dir or Path.cwd()
    _reject_unprintable_numbers(document, source)
    if not isinstance(document, dict):
        raise DefinitionError(source, "", f"the top level is {_kind(document)}, not a mapping.",
                              "write a CreateModel request (PrimaryContainer or Containers) or an `Endpoints:` mapping of them.")
    if "Endpoints" in document:
        extra = sorted(str(key) for key in document if key != "Endpoints")
        if extra:
            raise DefinitionError(source, extra[0], "is not allowed beside `Endpoints`.",
                                  "move it inside one endpoint's definition, or remove it.")
        endpoints = document["Endpoints"]
        if not isinstance(endpoints, dict) or not endpoints:
            raise DefinitionError(source, "Endpoints", "must be a non-empty mapping of endpoint name to CreateModel request.",
                                  "write `Endpoints: {my-endpoint: {Containers: [...]}}`.")
        return [_endpoint(str(name), body, source, f"Endpoints.{name}", base_dir) for name, body in endpoints.items()]
    name = document.get("ModelName", default_name)
    return [_endpoint(str(name), document, source, "", base_dir)]


def _endpoint(name: str, body: Any, source: str, where: str, base_dir: Path) -> EndpointDefinition:
    def at(field_name: str) -> str:
        return f"{where}.{field_name}" if where else field_name

    if not is_valid_name(name):
        raise DefinitionError(source, where or "ModelName", f"{_show(name)} is not a valid endpoint name.",
                              "use 1-63 letters, digits and hyphens, starting and ending with a letter or digit.")
    if not isinstance(body, dict):
        raise DefinitionError(source, where or "<top>", f"is {_kind(body)}, not a CreateModel mapping.",
                              "give PrimaryContainer or Containers.")
    _reject_unknown(body, MODEL_FIELDS, source, where, "CreateModel")
    has_primary, has_list = "PrimaryContainer" in body, "Containers" in body
    if has_primary == has_list:
        raise DefinitionError(source, where or "<top>", "needs exactly one of PrimaryContainer and Containers.",
                              "use PrimaryContainer for one container, Containers (a list of 1-15) for a pipeline.")
    if has_primary:
        raw_containers = [body["PrimaryContainer"]]
        paths = [at("PrimaryContainer")]
    else:
        raw_containers = body["Containers"]
        if not isinstance(raw_containers, list) or not raw_containers:
            raise DefinitionError(source, at("Containers"), "must be a list of 1 to 15 containers.",
                                  "list each container with at least its Image.")
        if len(raw_containers) > MAX_CONTAINERS:
            raise DefinitionError(source, at("Containers"),
                                  f"has {len(raw_containers)} containers; SageMaker allows at most {MAX_CONTAINERS}.",
                                  "merge steps into fewer containers.")
        paths = [f"{at('Containers')}[{i}]" for i in range(len(raw_containers))]
    containers = _containers(raw_containers, paths, source, base_dir, single=has_primary)
    mode = _mode(body.get("InferenceExecutionConfig"), source, at("InferenceExecutionConfig"))
    if mode == "Direct":
        _check_direct(raw_containers, paths, source, at("InferenceExecutionConfig.Mode"))
    _check_environment_total(containers, paths, source)
    isolation = body.get("EnableNetworkIsolation", False)
    if not isinstance(isolation, bool):
        raise DefinitionError(source, at("EnableNetworkIsolation"), f"is {_show(isolation)}, not true or false.",
                              "write true or false.")
    timeout = body.get("ContainerStartupHealthCheckTimeoutInSeconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not MIN_STARTUP_TIMEOUT <= timeout <= MAX_STARTUP_TIMEOUT):
        raise DefinitionError(source, at("ContainerStartupHealthCheckTimeoutInSeconds"), f"is {_show(timeout)}.",
                              f"give whole seconds from {MIN_STARTUP_TIMEOUT} to {MAX_STARTUP_TIMEOUT}.")
    return EndpointDefinition(name=name, containers=tuple(containers), mode=mode, network_isolation=isolation,
                              startup_timeout=timeout, source=source)


def _containers(raw: list[Any], paths: list[str], source: str, base_dir: Path, single: bool) -> list[ContainerDefinition]:
    named = {where: "ContainerHostname" in c for c, where in zip(raw, paths) if isinstance(c, dict)}
    if any(named.values()) and not all(named.values()):
        first_missing = next(where for where, has_name in named.items() if not has_name)
        raise DefinitionError(source, f"{first_missing}.ContainerHostname",
                              "is missing, but other containers set theirs; SageMaker needs it on all containers or none.",
                              "set ContainerHostname on every container, or remove it from all.")
    result: list[ContainerDefinition] = []
    seen: dict[str, str] = {}
    for index, (item, where) in enumerate(zip(raw, paths)):
        default_host = "primary" if single else f"container-{index + 1}"
        container = _container(item, where, source, base_dir, default_host)
        if container.hostname in seen:
            raise DefinitionError(source, f"{where}.ContainerHostname",
                                  f"{_show(container.hostname)} is already used by {seen[container.hostname]}.",
                                  "give each container its own hostname.")
        seen[container.hostname] = where
        result.append(container)
    return result


def _check_direct(raw: list[Any], paths: list[str], source: str, mode_path: str) -> None:
    """Direct mode: callers name the container they invoke by its ContainerHostname, so every container
    has one, and there is more than one to choose from (CreateModel's InferenceExecutionConfig)."""
    if len(raw) < 2:
        raise DefinitionError(source, mode_path, "Direct needs more than one container.",
                              "list two or more Containers, each with its ContainerHostname, or use Mode: Serial.")
    for item, where in zip(raw, paths):
        if "ContainerHostname" not in item:
            raise DefinitionError(source, f"{where}.ContainerHostname",
                                  "is missing; in Direct mode callers name the container they invoke by it.",
                                  "set ContainerHostname on every container.")


def _check_environment_total(containers: list[ContainerDefinition], paths: list[str], source: str) -> None:
    total = 0
    for container, where in zip(containers, paths):
        total += sum(len(key.encode()) + len(value.encode()) for key, value in container.environment.items())
        if total > MAX_ENV_TOTAL_BYTES:
            raise DefinitionError(source, f"{where}.Environment",
                                  f"brings the model's environment to {total} bytes (all keys and values of its "
                                  f"containers); SageMaker allows at most {MAX_ENV_TOTAL_BYTES} bytes.",
                                  "move settings into a config file inside the model artifact.")


def _container(item: Any, where: str, source: str, base_dir: Path, default_host: str) -> ContainerDefinition:
    if not isinstance(item, dict):
        raise DefinitionError(source, where, f"is {_kind(item)}, not a container mapping.",
                              "write `{Image: ..., ModelDataUrl: ...}`.")
    _reject_unknown(item, CONTAINER_FIELDS, source, where, "container definition")
    image = item.get("Image")
    if not isinstance(image, str) or not image.strip():
        raise DefinitionError(source, f"{where}.Image", "is missing or empty.",
                              "set Image to the tag of a local image, e.g. `my-preprocessor:latest`.")
    if item.get("Mode", "SingleModel") != "SingleModel":
        raise DefinitionError(source, f"{where}.Mode", f"{_show(item['Mode'])} is not supported by the emulator.",
                              "use SingleModel (multi-model endpoints are not emulated).")
    hostname = item.get("ContainerHostname", default_host)
    if not isinstance(hostname, str) or not is_valid_name(hostname):
        raise DefinitionError(source, f"{where}.ContainerHostname", f"{_show(hostname)} is not a valid hostname.",
                              "use 1-63 letters, digits and hyphens.")
    environment = _environment(item.get("Environment", {}), f"{where}.Environment", source)
    model_data = _model_data(item.get("ModelDataUrl"), f"{where}.ModelDataUrl", source, base_dir)
    return ContainerDefinition(image=image.strip(), hostname=hostname, model_data=model_data, environment=environment)


def _environment(env: Any, where: str, source: str) -> dict[str, str]:
    if env is None:
        return {}
    if not isinstance(env, dict):
        raise DefinitionError(source, where, f"is {_kind(env)}, not a mapping.", "write `Environment: {KEY: value}`.")
    if len(env) > MAX_ENV_ENTRIES:
        raise DefinitionError(source, where, f"has {len(env)} entries; SageMaker allows at most {MAX_ENV_ENTRIES}.",
                              "move settings into a config file inside the model artifact.")
    result: dict[str, str] = {}
    for key, value in env.items():
        key = str(key)
        if not ENV_KEY.fullmatch(key) or len(key.encode()) > MAX_ENV_BYTES:
            raise DefinitionError(source, f"{where}.{key}", "is not a valid variable name.",
                                  f"use letters, digits and underscores, not starting with a digit, at most {MAX_ENV_BYTES} bytes.")
        if isinstance(value, (dict, list)) or value is None:
            raise DefinitionError(source, f"{where}.{key}", f"is {_kind(value)}; environment values are strings.",
                                  "quote the value, e.g. `KEY: \"value\"`.")
        text = _env_text(value)
        if len(text.encode()) > MAX_ENV_BYTES:
            raise DefinitionError(source, f"{where}.{key}", f"is {len(text.encode())} bytes; SageMaker allows {MAX_ENV_BYTES}.",
                                  "shorten it, or put the data in the model artifact.")
        result[key] = text
    return result


def _env_text(value: Any) -> str:
    # YAML reads `true` and `8080` as bool and int; SageMaker only has strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _model_data(url: Any, where: str, source: str, base_dir: Path) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str) or not url.strip():
        raise DefinitionError(source, where, f"is {_show(url)}.", "give a local .tar.gz, a local folder, file://... or s3://... .")
    url = url.strip()
    if url.startswith("s3://"):
        return url
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url) and not url.startswith("file://"):
        raise DefinitionError(source, where, f"{_show(url)} uses a scheme the emulator cannot read.",
                              "give a local path, file://..., or s3://... .")
    try:
        return _local_model_data(Path(url.removeprefix("file://")), where, source, base_dir)
    except (OSError, RuntimeError, ValueError) as exc:  # a name too long, an unknown `~user`, a NUL byte...
        shown = url if len(url) <= 80 else f"{url[:80]}..."
        raise DefinitionError(source, where, f"{_show(shown)} is not a usable path ({getattr(exc, 'strerror', None) or exc}).",
                              "give the path of the model.tar.gz or of the model folder.") from None


def _local_model_data(path: Path, where: str, source: str, base_dir: Path) -> str:
    path = path.expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise DefinitionError(source, where, f"{path} does not exist.",
                              "build the artifact first, or fix the path (relative paths start at the definition file's folder).")
    if path.is_file() and not path.name.endswith((".tar.gz", ".tgz", ".tar")):
        raise DefinitionError(source, where, f"{path} is a file but not a .tar.gz archive.",
                              "point at the model.tar.gz, or at a folder holding the unpacked model.")
    return str(path.resolve())


def _mode(config: Any, source: str, where: str) -> str:
    if config is None:
        return "Serial"
    if not isinstance(config, dict) or set(config) - {"Mode"}:
        raise DefinitionError(source, where, "must be `{Mode: Serial}` or `{Mode: Direct}`.", "remove other fields.")
    mode = config.get("Mode", "Serial")
    if mode not in ("Serial", "Direct"):
        raise DefinitionError(source, f"{where}.Mode", f"{_show(mode)} is not a mode.", "use Serial or Direct.")
    return mode


def _reject_unknown(mapping: dict, allowed: set[str], source: str, where: str, what: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise DefinitionError(source, f"{prefix}{unknown[0]}", f"is not a field of a {what}.",
                              f"remove it, or check its spelling; allowed: {', '.join(sorted(allowed))}.")


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "empty"}.get(type(value), f"a {type(value).__name__}")


def _reject_unprintable_numbers(document: Any, source: str) -> None:
    """YAML reads `0x` and `0b` literals of any length; Python cannot print an integer of more than
    4300 digits, and every message and environment value prints. Refuse such a number up front.
    (A walk with a stack of its own: a deeply nested document must not exhaust Python's.)"""
    stack, seen = [document], set()
    while stack:
        value = stack.pop()
        if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
            raise DefinitionError(source, "", "it holds a number too long to use.",
                                  "write it as a quoted string, or shorten it.")
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
