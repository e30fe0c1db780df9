"""A transform job beyond one host: its indexed Job manifest, and its shards run by the router image's
runner, which together write exactly what one `transform` writes."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from emulator import Emulator
from emulator.containers import labels
from emulator.hosting.batch import load_model
from emulator.transform import with_batch_environment
from emulator.invocation.chain_target import ChainTarget
from emulator.cli import main
from emulator.definition import parse
from emulator.errors import EmulatorError
from emulator.export.kubernetes import ExportOptions
from emulator.export.render import to_yaml
from emulator.export.transform_job import transform_job_manifests
from emulator.export.transform_shard import shard_files
from emulator.transform import from_request, run_transform
from tests.conftest import EXAMPLES, PIPELINE, ROOT
from tests.kube import k8s_schema

FEATURES = EXAMPLES / "artifacts/data/penguins-features.csv"
ROUTER_IMAGE = "sagemaker-emulator/router:1"
IMAGE_CODE = "/opt/sagemaker-emulator/emulator"


def request(input_uri: str = "s3://bucket/in/", output: str = "s3://bucket/out/", **fields) -> dict:
    return {"TransformJobName": "nightly", "ModelName": "echoes",
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
                               "ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"S3OutputPath": output, "Accept": "text/csv", "AssembleWith": "Line"},
            "BatchStrategy": "MultiRecord", **fields}


def job_manifests(job_request: dict, **options) -> list[dict]:
    definition = parse({"ModelName": "echoes", "Containers": [
        {"ContainerHostname": "first", "Image": "echo:1"}, {"ContainerHostname": "second", "Image": "echo:1"}]})[0]
    manifests = transform_job_manifests(definition, job_request, from_request(job_request), ExportOptions(**options))
    documents = list(yaml.safe_load_all(to_yaml(manifests)))
    for document in documents:
        k8s_schema.check(document)
    return documents


def test_a_transform_job_becomes_an_indexed_job_with_the_model_as_sidecars():
    config_map, job = job_manifests(request(TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 4}))
    assert yaml.safe_load(config_map["data"]["request.yaml"])["TransformJobName"] == "nightly"
    assert (job["spec"]["completionMode"], job["spec"]["completions"], job["spec"]["parallelism"]) == ("Indexed", 4, 4)
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    first, second = pod["initContainers"]
    assert first["restartPolicy"] == second["restartPolicy"] == "Always"
    assert {"name": "SAGEMAKER_BATCH", "value": "true"} in first["env"]
    assert {"name": "SAGEMAKER_BATCH_STRATEGY", "value": "MULTI_RECORD"} in first["env"]
    assert first["resources"]["requests"] == {"cpu": "2000m", "memory": "4096Mi"}  # ml.c5.xlarge, shared by two
    (runner,) = pod["containers"]
    assert runner["args"][runner["args"].index("--shards") + 1] == "4"
    assert runner["args"][-4:] == ["--container", "first=9081", "--container", "second=9082"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "nightly-data"}} in pod["volumes"]


def test_a_bad_instance_count_is_refused():
    with pytest.raises(EmulatorError, match="InstanceCount is 0"):
        job_manifests(request(TransformResources={"InstanceCount": 0}))


def test_cli_names_a_model_the_definition_lacks(tmp_path, capsys):
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(request()))
    assert main(["export", "kubernetes", str(EXAMPLES / "direct.yaml"), "--transform-job", str(job_file)]) == 0
    job_file.write_text(yaml.safe_dump({**request(), "ModelName": "nope"}))
    assert main(["export", "kubernetes", str(EXAMPLES / "direct.yaml"), "--transform-job", str(job_file)]) == 2
    assert "ModelName 'nope' is not an endpoint" in capsys.readouterr().err


def test_shards_take_every_nth_file_in_name_order(tmp_path):
    for name in ["b.csv", "a.csv", "sub/c.csv", "sub/d.csv", "e.csv"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x\n")
    assert [shard_files(tmp_path, index, 2) for index in (0, 1)] == [
        [Path("a.csv"), Path("e.csv"), Path("sub/d.csv")], [Path("b.csv"), Path("sub/c.csv")]]
    with pytest.raises(EmulatorError, match="shard index 2 is outside 0..1"):
        shard_files(tmp_path, 2, 2)


@pytest.mark.docker
def test_shards_run_in_the_router_image_write_what_one_transform_writes(example_images, tmp_path):
    inputs, shards_out, whole_out = tmp_path / "in", tmp_path / "shards", tmp_path / "whole"
    rows = FEATURES.read_text().splitlines(keepends=True)
    for index, name in enumerate(["a.csv", "b.csv", "day2/c.csv", "day2/d.csv", "e.csv"]):
        (inputs / name).parent.mkdir(parents=True, exist_ok=True)
        (inputs / name).write_text("".join(rows[index::5]))
    job_request = {**request(str(inputs), str(whole_out)), "ModelName": "penguins"}
    (tmp_path / "request.yaml").write_text(yaml.safe_dump(job_request))
    shards_out.mkdir()
    job = from_request(job_request)
    model = load_model(PIPELINE, "penguins")
    with Emulator([with_batch_environment(model, job)]) as emulator:
        run_transform(job, ChainTarget(emulator.endpoint.chain), inputs, whole_out)
        containers = [f"{route.hostname}={urlparse(route.url).port}" for route in emulator.endpoint.chain.routes]
        for index in range(3):
            # The host's network: the containers' published ports are the pod's localhost here. This checkout's
            # code, on the router image's Python and libraries (the shared tag may hold another checkout's build).
            result = subprocess.run(
                ["docker", "run", "--rm", "--network", "host", "-v", f"{ROOT / 'emulator'}:{IMAGE_CODE}:ro",
                 *[f"--label={key}={value}" for key, value in labels.owner_labels().items()],
                 "-v", f"{inputs}:/in:ro", "-v", f"{shards_out}:/out", "-v", f"{tmp_path / 'request.yaml'}:/job.yaml:ro",
                 "--entrypoint", "python3", ROUTER_IMAGE, "-m", "emulator.export.transform_shard", "--job", "/job.yaml",
                 "--input", "/in", "--output", "/out", "--shards", "3", "--index", str(index),
                 "--endpoint", "penguins", *[arg for pair in containers for arg in ("--container", pair)]],
                capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
    written = sorted(p.relative_to(shards_out) for p in shards_out.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(whole_out) for p in whole_out.rglob("*") if p.is_file())
    assert len(written) == 5 and all(filecmp.cmp(shards_out / p, whole_out / p, shallow=False) for p in written)
