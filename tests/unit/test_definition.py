"""The definition parser: valid documents, and one clear message for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.definition import load_file, parse
from emulator.errors import DefinitionError


def containers(n: int, **extra) -> dict:
    return {"Containers": [{"Image": f"img-{i}:1", **extra} for i in range(n)]}


def error_of(document, **kwargs) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        parse(document, source="pipeline.yaml", **kwargs)
    return caught.value


def test_primary_container_is_one_endpoint_named_primary():
    [endpoint] = parse({"PrimaryContainer": {"Image": "model:1"}}, default_name="fraud")
    assert endpoint.name == "fraud"
    assert [c.hostname for c in endpoint.containers] == ["primary"]
    assert endpoint.mode == "Serial" and not endpoint.is_pipeline


def test_containers_get_default_hostnames_by_position():
    [endpoint] = parse(containers(3))
    assert [c.hostname for c in endpoint.containers] == ["container-1", "container-2", "container-3"]


def test_several_endpoints_in_one_file():
    endpoints = parse({"Endpoints": {"a": containers(1), "b": {"PrimaryContainer": {"Image": "x"}}}})
    assert [e.name for e in endpoints] == ["a", "b"]


def test_environment_values_become_strings():
    [endpoint] = parse({"PrimaryContainer": {"Image": "x", "Environment": {"A": 1, "B": True, "C": "s"}}})
    assert endpoint.containers[0].environment == {"A": "1", "B": "true", "C": "s"}


def test_model_data_relative_to_the_file(tmp_path: Path):
    (tmp_path / "model.tar.gz").write_bytes(b"")
    definition = tmp_path / "p.yaml"
    definition.write_text("PrimaryContainer: {Image: x, ModelDataUrl: model.tar.gz}\n")
    [endpoint] = load_file(definition)
    assert endpoint.containers[0].model_data == str(tmp_path / "model.tar.gz")
    assert endpoint.name == "p"


def test_file_scheme_and_folders(tmp_path: Path):
    [endpoint] = parse({"PrimaryContainer": {"Image": "x", "ModelDataUrl": f"file://{tmp_path}"}})
    assert endpoint.containers[0].model_data == str(tmp_path)


@pytest.mark.parametrize("document, field, words", [
    ({"Containers": [{}]}, "Containers[0].Image", "missing"),
    ({"Containers": [{"Image": "x", "Imagee": "y"}]}, "Containers[0].Imagee", "not a field"),
    (containers(16), "Containers", "at most 15"),
    ({"Containers": [{"Image": "a", "ContainerHostname": "a"}, {"Image": "b"}]},
     "Containers[1].ContainerHostname", "all containers or none"),
    ({"Containers": [{"Image": "a", "ContainerHostname": "x"}, {"Image": "b", "ContainerHostname": "x"}]},
     "Containers[1].ContainerHostname", "already used"),
    ({"PrimaryContainer": {"Image": "a", "Environment": {f"K{i}": "v" for i in range(101)}}},
     "PrimaryContainer.Environment", "at most 100"),
    ({"PrimaryContainer": {"Image": "a", "Environment": {"K": "v" * 1025}}},
     "PrimaryContainer.Environment.K", "1024"),
    # characters, as the API counts them: 1,024 of them are allowed even when UTF-8 needs more bytes
    ({"PrimaryContainer": {"Image": "a", "Environment": {"K": "é" * 1025}}},
     "PrimaryContainer.Environment.K", "is 1025 characters; SageMaker allows 1024"),
    ({"PrimaryContainer": {"Image": "a", "Environment": {"K" * 1025: "v"}}},
     f"PrimaryContainer.Environment.{'K' * 1025}", "at most 1024 characters"),
    ({"PrimaryContainer": {"Image": "a" * 256}}, "PrimaryContainer.Image", "at most 255 characters"),
    ({"PrimaryContainer": {"Image": "my image:1"}}, "PrimaryContainer.Image", "no whitespace"),
    ({"PrimaryContainer": {"Image": "a", "Mode": "MultiModel", "ModelDataUrl": "s3://b/models/"},
      "InstanceType": "ml.g5.12xlarge"}, "InstanceType", "CPU and single-GPU instance types only"),
    ({"PrimaryContainer": {"Image": "a", "ModelDataUrl": "s3://"}}, "PrimaryContainer.ModelDataUrl",
     "s3://bucket/key"),
    ({"PrimaryContainer": {"Image": "a", "ModelDataUrl": "s3://b/" + "k" * 1020}}, "PrimaryContainer.ModelDataUrl",
     "at most 1024 characters"),
    ({"PrimaryContainer": {"Image": "a", "ModelDataUrl": "/no/such/model.tar.gz"}},
     "PrimaryContainer.ModelDataUrl", "does not exist"),
    ({"PrimaryContainer": {"Image": "a"}, "Containers": []}, "<top>", "exactly one"),
    ({**containers(2), "InferenceExecutionConfig": {"Mode": "Parallel"}}, "InferenceExecutionConfig.Mode", "not a mode"),
    ({"Endpoints": {"bad_name!": containers(1)}}, "Endpoints.bad_name!", "not a valid endpoint name"),
    # Direct mode: callers name the container they invoke, so each has a ContainerHostname, and there are several
    ({**containers(2), "InferenceExecutionConfig": {"Mode": "Direct"}}, "Containers[0].ContainerHostname",
     "is missing; in Direct mode"),
    ({"Containers": [{"Image": "a", "ContainerHostname": "only"}], "InferenceExecutionConfig": {"Mode": "Direct"}},
     "InferenceExecutionConfig.Mode", "Direct needs more than one container"),
    ({"PrimaryContainer": {"Image": "a"}, "InferenceExecutionConfig": {"Mode": "Direct"}},
     "InferenceExecutionConfig.Mode", "Direct needs more than one container"),
    # 32 KB for all keys and values of a model's containers together
    ({"Containers": [{"Image": "a", "Environment": {f"K{i}": "v" * 1000 for i in range(20)}},
                     {"Image": "b", "Environment": {f"K{i}": "v" * 1000 for i in range(20)}}]},
     "Containers[1].Environment", "at most 32768 bytes"),
    ([1, 2], "", "not a mapping"),
])
def test_each_mistake_names_the_field_and_the_fix(document, field, words):
    error = error_of(document)
    assert error.field == field
    assert words in str(error)
    assert str(error).startswith("pipeline.yaml") and "Fix:" in str(error)


def test_a_multi_model_container_may_run_on_a_single_gpu():
    parse({"PrimaryContainer": {"Image": "a", "Mode": "MultiModel", "ModelDataUrl": "s3://b/models/"},
           "InstanceType": "ml.g5.xlarge"})


def test_a_value_of_1024_characters_is_allowed_whatever_its_bytes():
    [endpoint] = parse({"PrimaryContainer": {"Image": "a", "Environment": {"K": "é" * 1024}}})
    assert endpoint.containers[0].environment["K"] == "é" * 1024


def test_s3_urls_are_kept_for_the_artifact_step():
    [endpoint] = parse({"PrimaryContainer": {"Image": "a", "ModelDataUrl": "s3://bucket/model.tar.gz"}})
    assert endpoint.containers[0].model_data == "s3://bucket/model.tar.gz"


def test_unreadable_yaml_is_one_message(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("Containers: [\n  - Image: a\n")
    with pytest.raises(DefinitionError, match="not valid YAML"):
        load_file(broken)


def test_missing_file(tmp_path: Path):
    with pytest.raises(DefinitionError, match="does not exist"):
        load_file(tmp_path / "nope.yaml")


def test_a_number_too_long_to_print_is_one_message(tmp_path: Path):
    definition = tmp_path / "huge.yaml"
    definition.write_text(f"PrimaryContainer: {{Image: a, ContainerHostname: 0x{'f' * 4000}}}\n")
    with pytest.raises(DefinitionError, match="a number too long to use"):
        load_file(definition)


def test_a_document_that_contains_itself_is_one_message(tmp_path: Path):
    definition = tmp_path / "alias.yaml"
    definition.write_text("Containers: &l [*l]\n")
    with pytest.raises(DefinitionError, match=r"Containers\[0\]: is a list"):
        load_file(definition)
