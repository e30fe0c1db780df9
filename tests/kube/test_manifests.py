"""`export kubernetes` without a cluster: the manifests' shape, their schema, and clear refusals."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from emulator.cli import main
from emulator.definition import parse
from emulator.errors import EmulatorError
from emulator.export.kubernetes import ExportOptions, endpoint_manifests
from emulator.export.render import to_yaml
from emulator.export.router import parse_routes, spec_of
from emulator.seam.serving import EndpointSpec, build
from tests.kube import k8s_schema


@pytest.fixture
def model_tar(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SAGEMAKER_EMULATOR_CACHE", str(tmp_path / "cache"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model/weights.txt").write_text("1 2 3")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "model/weights.txt", arcname="weights.txt")
    return archive


def endpoint(model_tar: Path, **fields) -> dict:
    return {"Containers": [{"ContainerHostname": "Pre", "Image": "pre:1", "ModelDataUrl": str(model_tar),
                            "Environment": {"A": "1"}},
                           {"ContainerHostname": "model", "Image": "model:1", "ModelDataUrl": "s3://b/m/model.tar.gz"},
                           {"ContainerHostname": "post", "Image": "post:1", "ModelDataUrl": "s3://b/post/"}], **fields}


def export(document: dict, **options) -> list[dict]:
    manifests = endpoint_manifests(parse(document)[0], ExportOptions(**options))
    documents = list(yaml.safe_load_all(to_yaml(manifests)))
    for document in documents:
        k8s_schema.check(document)
    return documents


def test_a_pipeline_becomes_one_pod_with_its_containers_and_a_router(model_tar):
    deployment, service = export({"ModelName": "Penguins", **endpoint(model_tar)}, instance_type="ml.m5.xlarge",
                                 instance_count=3)
    assert deployment["metadata"]["name"] == service["metadata"]["name"] == "penguins"
    assert deployment["spec"]["replicas"] == 3
    pod = deployment["spec"]["template"]["spec"]
    pre, model, post, router = pod["containers"]
    assert [c["name"] for c in pod["containers"]] == ["pre", "model", "post", "sagemaker-router"]
    assert pre["args"] == ["serve"]
    assert pre["env"] == [{"name": "A", "value": "1"}, {"name": "SAGEMAKER_BIND_TO_PORT", "value": "9081"},
                          {"name": "SAGEMAKER_SAFE_PORT_RANGE", "value": "9000-9999"}]
    assert [c["readinessProbe"]["httpGet"] for c in (pre, model, post)] == [
        {"path": "/ping", "port": port} for port in (9081, 9082, 9083)]
    assert pre["startupProbe"]["failureThreshold"] * pre["startupProbe"]["periodSeconds"] == 240
    assert pre["resources"] == {"requests": {"cpu": "1333m", "memory": "5461Mi"}}  # ml.m5.xlarge: 4 vCPU, 16 GiB
    assert router["args"][-6:] == ["--container", "Pre=9081", "--container", "model=9082", "--container", "post=9083"]
    assert all(m["readOnly"] for c in (pre, model, post) for m in c["volumeMounts"])
    assert {m["mountPath"] for c in (pre, model, post) for m in c["volumeMounts"]} == {"/opt/ml/model"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert Path(volumes["pre-model"]["hostPath"]["path"], "weights.txt").read_text() == "1 2 3"  # unpacked by export
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-model", "unpack-model", "fetch-post"]
    assert pod["initContainers"][2]["args"] == ["s3", "sync", "s3://b/post/", "/opt/ml/model"]
    assert pod["hostAliases"] == [{"ip": "127.0.0.1", "hostnames": ["Pre", "model", "post"]}]
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "targetPort": "http"}]


def test_a_single_container_listens_on_8080_without_the_pipeline_variables(model_tar):
    deployment, _ = export({"ModelName": "one", "PrimaryContainer": {"Image": "x:1"},
                            "ContainerStartupHealthCheckTimeoutInSeconds": 600})
    primary = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in primary and primary["readinessProbe"]["httpGet"]["port"] == 8080
    assert primary["startupProbe"]["failureThreshold"] == 300


def test_network_isolation_is_a_network_policy_denying_egress(model_tar):
    document = {"ModelName": "quiet", "EnableNetworkIsolation": True,
                "PrimaryContainer": {"Image": "x:1", "ModelDataUrl": str(model_tar)}}
    *_, policy = export(document)
    assert policy["kind"] == "NetworkPolicy"
    assert policy["spec"]["policyTypes"] == ["Egress"] and policy["spec"]["egress"] == []


def test_network_isolation_with_s3_model_data_is_refused_with_the_reason(model_tar):
    with pytest.raises(EmulatorError, match="denies the pod all egress.*Fix: download the model"):
        export({"ModelName": "quiet", "EnableNetworkIsolation": True, **endpoint(model_tar)})


def test_the_manifests_say_where_each_setting_went(model_tar):
    text = to_yaml(endpoint_manifests(parse({"ModelName": "e", **endpoint(model_tar)})[0],
                                      ExportOptions(instance_type="ml.unknown.large")))
    assert "# Endpoint e" in text and "InstanceType ml.unknown.large -> not in the table" in text
    assert "ContainerStartupHealthCheckTimeoutInSeconds 240 -> each startupProbe" in text
    assert "&id" not in text  # no YAML anchors


@pytest.mark.parametrize("hostnames, problem", [(["a", "A"], "distinct Kubernetes names"),
                                                (["sagemaker-router", "b"], "distinct Kubernetes names")])
def test_container_names_that_collide_in_kubernetes_are_refused(hostnames, problem):
    document = {"ModelName": "e", "Containers": [{"ContainerHostname": h, "Image": "x:1"} for h in hostnames]}
    with pytest.raises(EmulatorError, match=problem):
        export(document)


def test_instance_count_below_one_is_refused():
    with pytest.raises(EmulatorError, match="--instance-count is 0"):
        export({"ModelName": "e", "PrimaryContainer": {"Image": "x:1"}}, instance_count=0)


def test_cli_writes_the_file_and_names_an_unknown_endpoint(tmp_path, capsys):
    definition = tmp_path / "p.yaml"
    definition.write_text(yaml.safe_dump({"Endpoints": {"a": {"PrimaryContainer": {"Image": "x:1"}},
                                                        "b": {"PrimaryContainer": {"Image": "y:1"}}}}))
    assert main(["export", "kubernetes", str(definition), "--endpoint", "b", "--host-port", "18000",
                 "-o", str(tmp_path / "out.yaml")]) == 0
    documents = list(yaml.safe_load_all((tmp_path / "out.yaml").read_text()))
    assert [d["metadata"]["name"] for d in documents] == ["b", "b"]
    assert documents[0]["spec"]["template"]["spec"]["containers"][-1]["ports"][0]["hostPort"] == 18000
    assert main(["export", "kubernetes", str(definition), "--endpoint", "c"]) == 2
    assert "defines no endpoint 'c'" in capsys.readouterr().err


def test_router_arguments_become_the_fronts_routes():
    routes = parse_routes("penguins", "Serial", ["preprocessor=9081", "model=9082"], 60)
    assert [(r.hostname, r.url) for r in routes.routes] == [("preprocessor", "http://127.0.0.1:9081"),
                                                            ("model", "http://127.0.0.1:9082")]


def test_the_routers_spec_is_one_variant_the_front_builds_a_chain_of():
    """The pod's router writes this spec and its front builds from its JSON (a spec it could not build left every
    exported pod unready)."""
    spec = spec_of(parse_routes("penguins", "Serial", ["preprocessor=9081", "model=9082"], 60))
    served = build(EndpointSpec.from_json(spec.to_json()))
    variant = served.choose()
    assert (variant.name, [(r.hostname, r.url) for r in variant.chain.routes]) == (
        "AllTraffic", [("preprocessor", "http://127.0.0.1:9081"), ("model", "http://127.0.0.1:9082")])


@pytest.mark.parametrize("containers, problem", [([], "no --container"), (["model"], "not HOSTNAME=PORT"),
                                                 (["model=99999"], "not HOSTNAME=PORT"),
                                                 (["a=1", "a=2"], "given twice")])
def test_router_refuses_bad_arguments_clearly(containers, problem):
    with pytest.raises(EmulatorError, match=problem):
        parse_routes("penguins", "Serial", containers, 60)
