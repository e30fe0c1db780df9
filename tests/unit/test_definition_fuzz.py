"""Hostile definitions: whatever the document, the parser gives valid endpoints or one DefinitionError.

Three sources of input: any JSON/YAML-shaped value, documents built from the real field names (so the
fuzzing reaches the deep checks), and mutations of a valid YAML file read from disk, spliced with
tokens known to trip YAML and JSON readers (impossible dates, over-long integers, tags, anchors).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.definition import CONTAINER_FIELDS, MODEL_FIELDS, EndpointDefinition, is_valid_name, load_file, parse
from emulator.errors import DefinitionError

VALID_YAML = """\
Endpoints:
  penguins:
    Containers:
      - ContainerHostname: preprocessor
        Image: sagemaker-emulator/example-preprocessor:1
        Environment: {SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: text/csv, WORKERS: 2}
      - ContainerHostname: model
        Image: sagemaker-emulator/example-model:1
        ModelDataUrl: model
    InferenceExecutionConfig: {Mode: Serial}
    EnableNetworkIsolation: true
    ContainerStartupHealthCheckTimeoutInSeconds: 60
"""
TEMPLATE = """\
Endpoints:
  {name}:
    Containers:
      - ContainerHostname: {host}
        Image: {image}
        ModelDataUrl: {path}
        Environment: {{A: {value}}}
    InferenceExecutionConfig: {{Mode: {mode}}}
    EnableNetworkIsolation: {isolation}
    ContainerStartupHealthCheckTimeoutInSeconds: {timeout}
"""
FIELD_NAMES = sorted(MODEL_FIELDS | CONTAINER_FIELDS | {"Endpoints", "Mode"})
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PATHS = ["", ".", "..", "/", "~nobody-here/x", "s3://b/k", "file://", "file://~x", "http://h/m.tar.gz", "model",
         "model.tar.gz", "a\x00b", "x" * 300, "/" + "x" * 5000, "model/" * 200]
TOKENS = ["2001-13-45", "2001-02-29 25:61:00", "1" * 5000, "0x" + "f" * 5000, "!!binary x", "!!python/object:os.system",
          "!!set", "&a [*a, *a]", "*nothing", "? [a]", "---", "...", "%YAML 9.9", "{", "[", "]", "}", ": ", "- ", "\t",
          "'", '"', "\\", "\x00", "\ud800", "\ufeff", "~", "null", "NaN", "1e999", "-", "#", "|", ">", "\n"]

names = st.sampled_from(["a", "a-b", "x" * 64, "-a", "a\n", "a b", "é", ""]) | st.text(max_size=8)
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40)
           | st.sampled_from(PATHS) | names)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=12) | st.integers()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
                         max_leaves=30)
# Mostly valid values, so that most examples get past the first checks to the later ones.
def mostly(valid, hostile=scalars):
    return st.one_of(st.just(valid), st.just(valid), hostile)


containers = st.fixed_dictionaries({"Image": mostly("img:1")}, optional={
    "ModelDataUrl": st.sampled_from(PATHS) | scalars,
    "ContainerHostname": mostly(None, names | scalars).map(lambda name: name or f"h{uuid.uuid4().hex[:8]}"),
    "Environment": mostly({"A": "1", "B_2": True}, st.dictionaries(names | keys, scalars, max_size=4) | documents),
    "Mode": mostly("SingleModel"),
    "ImageConfig": documents,
})
models = st.fixed_dictionaries({"Containers": st.lists(containers, min_size=1, max_size=3) | documents}, optional={
    "ModelName": mostly("m", names | scalars),
    "InferenceExecutionConfig": mostly({"Mode": "Direct"}, st.fixed_dictionaries({"Mode": scalars}) | documents),
    "EnableNetworkIsolation": mostly(True),
    "ContainerStartupHealthCheckTimeoutInSeconds": st.sampled_from([59, 60, 3600, 3601, True, 60.0]) | scalars,
})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("definitions")
    (base / "model").mkdir()
    (base / "model.tar.gz").write_bytes(b"")
    return base


def parse_or_error(document, folder: Path) -> list[EndpointDefinition] | DefinitionError:
    try:
        endpoints = parse(document, source="fuzz.yaml", base_dir=folder)
    except DefinitionError as error:
        return error
    for endpoint in endpoints:  # whatever passes is usable as it stands
        assert is_valid_name(endpoint.name) and 1 <= len(endpoint.containers) <= 15
        assert all(is_valid_name(c.hostname) and c.image for c in endpoint.containers)
        assert all(isinstance(k, str) and isinstance(v, str) for c in endpoint.containers for k, v in c.environment.items())
    return endpoints


def test_the_valid_document_parses(folder: Path):
    path = folder / "valid.yaml"
    path.write_text(VALID_YAML)
    [endpoint] = load_file(path)
    assert [c.hostname for c in endpoint.containers] == ["preprocessor", "model"]


@FUZZ
@given(document=documents)
def test_any_document_is_valid_or_one_definition_error(folder: Path, document):
    parse_or_error(document, folder)


@FUZZ
@given(model=models, name=names | scalars)
def test_documents_made_of_real_field_names(folder: Path, model, name):
    parse_or_error(model, folder)
    primary = {k: v for k, v in model.items() if k != "Containers"}
    containers = model["Containers"] if isinstance(model["Containers"], list) else []
    parse_or_error({"Endpoints": {name: {**primary, "PrimaryContainer": (containers or [{}])[0]}}}, folder)


def load_or_error(folder: Path, text: str, suffix: str) -> None:
    path = folder / f"fuzz{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        load_file(path)
    except DefinitionError:
        pass


@FUZZ
@given(values=st.fixed_dictionaries({slot: st.sampled_from(TOKENS + PATHS) | st.text(max_size=8) for slot in (
    "name", "host", "image", "path", "value", "mode", "isolation", "timeout")}))
def test_hostile_values_in_a_valid_file(folder: Path, values):
    load_or_error(folder, TEMPLATE.format(**values), ".yaml")


@FUZZ
@given(data=st.data(), suffix=st.sampled_from([".yaml", ".json"]))
def test_mutations_of_a_valid_file(folder: Path, data, suffix):
    text = VALID_YAML
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 20)))
        text = text[:start] + data.draw(st.sampled_from(TOKENS) | st.text(max_size=12)) + text[end:]
    load_or_error(folder, text, suffix)
