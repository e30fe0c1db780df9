"""Multi-model endpoints' pure logic: the TargetModel path (untrusted: fuzzed), the opaque model name, the
LRU order of loaded models, the definition's MultiModel rules, and the owner's answers as workers read them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.definition import parse
from emulator.errors import DefinitionError
from emulator.multimodel.loader import failure_to_dict, loaded_from_dict, loaded_to_dict
from emulator.multimodel.lru import LoadedModels
from emulator.multimodel.manager import Loaded
from emulator.multimodel.target import NAME_LENGTH, BadTargetModel, model_name, model_path
from emulator.invocation.outcomes import Hop, ModelLoadFailed, ModelNotFound, ModelNotReady
from emulator.containers.sagemaker_env import serving_environment
from emulator.trace import format_hops


@pytest.mark.parametrize("target, path", [("a.tar.gz", "a.tar.gz"), ("x/./y/m.tar.gz", "x/y/m.tar.gz"),
                                          ("deep/er/m1.tar.gz", "deep/er/m1.tar.gz")])
def test_a_target_model_is_a_relative_path_below_the_prefix(target, path):
    assert model_path(target) == path


@pytest.mark.parametrize("target, why", [("", "empty"), ("  ", "empty"), ("/etc/passwd", "absolute"),
                                         ("../m.tar.gz", "'..'"), ("a/../../m.tar.gz", "'..'"), ("a\\..\\m", "backslash"),
                                         ("models/", "folder"), (".", "folder")])
def test_a_target_model_that_is_not_below_the_prefix_is_refused(target, why):
    with pytest.raises(BadTargetModel, match=why):
        model_path(target)


@given(st.text(max_size=200))
def test_any_target_model_is_refused_or_stays_below_the_prefix(target):
    try:
        path = model_path(target)
    except BadTargetModel:
        return
    assert path and not path.startswith("/") and ".." not in path.split("/") and "\x00" not in path


@given(st.text(max_size=100), st.text(max_size=100))
def test_model_names_are_opaque_and_safe_in_a_url_and_a_folder(prefix, path):
    name = model_name(prefix, path)
    assert len(name) == NAME_LENGTH and name.isalnum() and name == model_name(prefix, path)


def test_the_same_target_under_two_prefixes_gets_two_names():
    assert model_name("s3://a/models/", "m.tar.gz") != model_name("s3://b/models/", "m.tar.gz")


def test_the_least_recently_used_model_goes_first():
    loaded = LoadedModels(budget=2)
    loaded.add("a", "a.tar.gz")
    loaded.add("b", "b.tar.gz")
    assert loaded.over_budget() and not LoadedModels(budget=3).over_budget()
    loaded.touch("a")
    assert loaded.least_recent() == ("b", "b.tar.gz")
    assert loaded.least_recent(sparing="b") == ("a", "a.tar.gz")
    loaded.remove("b")
    assert loaded.targets() == ["a.tar.gz"] and "b" not in loaded and not loaded.over_budget()
    assert LoadedModels(budget=None).least_recent() is None and not LoadedModels(budget=None).over_budget(adding=10**6)


def multi_model(**container) -> dict:
    return {"PrimaryContainer": {"Image": "mme:1", "Mode": "MultiModel", **container}}


def test_a_multi_model_container_takes_an_s3_prefix_or_a_folder_and_gets_its_environment(tmp_path):
    [endpoint] = parse(multi_model(ModelDataUrl="s3://bucket/models/"))
    assert endpoint.is_multi_model and endpoint.containers[0].model_data == "s3://bucket/models/"
    assert serving_environment(endpoint, 0)["SAGEMAKER_MULTI_MODEL"] == "true"
    [endpoint] = parse(multi_model(ModelDataUrl=str(tmp_path)))
    assert endpoint.containers[0].model_data == str(tmp_path.resolve())
    [single] = parse({"PrimaryContainer": {"Image": "model:1"}})
    assert not single.is_multi_model and "SAGEMAKER_MULTI_MODEL" not in serving_environment(single, 0)


@pytest.mark.parametrize("document, words", [
    (multi_model(ModelDataUrl="s3://bucket/models/m.tar.gz"), "PrimaryContainer.ModelDataUrl: 's3://bucket/models/m.tar.gz' is one archive"),
    (multi_model(), "PrimaryContainer.ModelDataUrl: is missing; a MultiModel container needs the prefix"),
    ({"Containers": [{"Image": "a:1", "Mode": "MultiModel", "ModelDataUrl": "s3://b/m/"}, {"Image": "b:1"}]},
     "Containers[0].Mode: MultiModel is only for a model of one container"),
    (multi_model(Mode="Several"), "PrimaryContainer.Mode: 'Several' is not a container mode."),
])
def test_multi_model_mistakes_are_refused_naming_the_field(document, words):
    with pytest.raises(DefinitionError) as caught:
        parse(document, source="islands.yaml")
    assert str(caught.value).startswith(f"islands.yaml: {words}") and "Fix:" in str(caught.value)


def test_a_local_archive_is_refused_as_a_prefix(tmp_path):
    archive = tmp_path / "m.tar.gz"
    archive.write_bytes(b"\x1f\x8b")
    with pytest.raises(DefinitionError, match="is one archive"):
        parse(multi_model(ModelDataUrl=str(archive)))


@pytest.mark.parametrize("failure", [ModelNotFound("islands", "m.tar.gz", "s3://b/m/", "no such key."),
                                     ModelLoadFailed("islands", "m.tar.gz", 500, "boom"),
                                     ModelNotReady("islands", "m.tar.gz", 60.0)])
def test_the_owners_failures_reach_the_worker_as_the_same_outcome(failure):
    with pytest.raises(type(failure)) as raised:
        loaded_from_dict(failure_to_dict(failure))
    assert raised.value.message == failure.message and raised.value.reason() == failure.reason()


def test_the_owners_hops_reach_the_worker():
    loaded = Loaded("abc", [Hop("primary", "application/json", None, 10, status=200, action="load", model="m.tar.gz")])
    again = loaded_from_dict(loaded_to_dict(loaded))
    assert again.invoke_path == "/models/abc/invoke" and again.hops == loaded.hops


def test_the_printed_trace_says_what_each_multi_model_hop_did():
    hops = [Hop("primary", "application/json", None, 98, status=200, action="load", model="Dream.tar.gz"),
            Hop("primary", "text/csv", None, 18, status=200, action="invoke", model="Dream.tar.gz")]
    printed = format_hops([hop.to_dict() for hop in hops]).splitlines()
    assert "primary load Dream.tar.gz" in printed[1] and "primary invoke Dream.tar.gz" in printed[2]


def test_a_multi_model_endpoint_is_not_exported_to_kubernetes():
    from emulator.errors import EmulatorError
    from emulator.export.kubernetes import endpoint_manifests

    with pytest.raises(EmulatorError, match="a MultiModel container cannot be exported.*Fix: export each model"):
        endpoint_manifests(parse(multi_model(ModelDataUrl="s3://bucket/models/"))[0])
