"""The emulator's own image (sagemaker-emulator/emulator:1, docs/container-image.md): run with the host's Docker
socket, driven by boto3 from the host; the model containers it starts are its siblings on the host's engine,
reached on its network, and removed when its container stops."""

from __future__ import annotations

import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from emulator.containers import labels
from emulator.containers.docker_backend import free_port

pytestmark = pytest.mark.docker
IMAGE = "sagemaker-emulator/emulator:1"
ROW = b"Biscoe,50.0,15.2,218,5700,male"
ROLE = "arn:aws:iam::123456789012:role/any"


class EmulatorContainer:
    """`docker run` of the image, as the docs show it: the socket, a folder at the same path, a published port."""

    def __init__(self, engine, shared: Path, *arguments: str, network: str | None = None,
                 volumes: dict[str, str] | None = None):
        self.engine, self.port = engine, free_port()
        mounts = {"/var/run/docker.sock": "/var/run/docker.sock", str(shared): str(shared), **(volumes or {})}
        command = ["docker", "run", "--detach", "--name", f"sme-test-emulator-{uuid.uuid4().hex[:8]}",
                   # Time for the emulator to stop its siblings, each given SageMaker's 30 s, as the docs say.
                   "--stop-timeout", "60", "--publish", f"127.0.0.1:{self.port}:8080",
                   *(f"--volume={source}:{target}" for source, target in mounts.items()),
                   # This test process's session label: the leftover check at the session's end sees the siblings.
                   "--env", f"SAGEMAKER_EMULATOR_SESSION={labels.session_id()}",
                   "--env", f"SAGEMAKER_EMULATOR_CACHE={shared / 'cache'}",
                   "--label", f"{labels.MANAGED}=true", "--label", f"{labels.SESSION}={labels.session_id()}",
                   *(["--network", network] if network else []), IMAGE, *arguments]
        started = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        self.container = engine.containers.get(started.stdout.strip())
        self.url = f"http://127.0.0.1:{self.port}"
        self.hostname = self.container.attrs["Config"]["Hostname"]  # the engine's short id, on its siblings' labels

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}))

    def wait_until(self, ready, timeout: float = 180) -> None:
        """Until `ready(sagemaker client)` is true: the port answers, an endpoint is InService."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.container.reload()
            assert self.container.status in ("created", "running"), self.logs()
            try:
                if ready(self.client("sagemaker")):
                    return
            except Exception:  # not listening yet, or the endpoint not created yet
                pass
            time.sleep(0.5)
        pytest.fail(f"the emulator's container was not ready within {timeout} s:\n{self.logs()}")

    def siblings(self) -> list[dict]:
        """The containers it started (theirs carry its hostname), as `docker ps` lists them."""
        return self.engine.api.containers(all=True, filters={"label": [f"{labels.HOST}={self.hostname}"]})

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """`docker stop`: SIGTERM, as compose and a CI runner stop it; every sibling must be gone after."""
        try:
            subprocess.run(["docker", "stop", self.container.id], capture_output=True, timeout=120, check=True)
            left = [name for sibling in self.siblings() for name in sibling["Names"]]
            logs = self.logs()
        finally:  # whatever failed, the emulator's own container goes
            self.container.remove(force=True)
        assert not left, f"left behind when the emulator's container stopped: {left}\n{logs}"


@pytest.fixture
def shared(tmp_path_factory) -> Path:
    """A folder mounted at the same path on the host and in the emulator's container."""
    return tmp_path_factory.mktemp("sagemaker-emulator-shared")


@pytest.fixture
def network(docker_engine):
    """A user-defined network, as a docker compose project and a CI job's services have."""
    made = docker_engine.networks.create(f"sme-test-{uuid.uuid4().hex[:8]}", driver="bridge")
    yield made.name
    made.remove()


def invoke(emulator: EmulatorContainer, endpoint: str) -> bytes:
    answer = emulator.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=ROW)
    return answer["Body"].read().strip()


def test_a_pipeline_with_model_data_in_the_embedded_s3_deployed_by_boto3_from_the_host(
        docker_engine, example_images, shared):
    emulator = EmulatorContainer(docker_engine, shared)  # on Docker's default network: it makes its own
    try:
        emulator.wait_until(lambda sm: sm.list_endpoints() is not None)
        s3, sm = emulator.client("s3"), emulator.client("sagemaker")
        s3.create_bucket(Bucket="models")
        containers = []
        for part, accept in (("preprocessor", "text/csv"), ("model", "application/json")):
            s3.upload_file(str(example_images / "artifacts" / part / "model.tar.gz"), "models", f"{part}/model.tar.gz")
            containers.append({"ContainerHostname": part, "Image": f"sagemaker-emulator/example-{part}:1",
                               "ModelDataUrl": f"s3://models/{part}/model.tar.gz",
                               "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": accept}})
        sm.create_model(ModelName="penguins", Containers=containers, ExecutionRoleArn=ROLE,
                        InferenceExecutionConfig={"Mode": "Serial"})
        sm.create_endpoint_config(EndpointConfigName="penguins", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "penguins", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName="penguins", EndpointConfigName="penguins")
        sm.get_waiter("endpoint_in_service").wait(EndpointName="penguins", WaiterConfig={"Delay": 1, "MaxAttempts": 240})
        assert invoke(emulator, "penguins") == b"Gentoo"
        # EnableNetworkIsolation: reached through a network namespace on the host, refused here with the reason.
        sm.create_model(ModelName="isolated", Containers=containers[1:], ExecutionRoleArn=ROLE,
                        EnableNetworkIsolation=True)
        sm.create_endpoint_config(EndpointConfigName="isolated", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "isolated", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}])
        sm.create_endpoint(EndpointName="isolated", EndpointConfigName="isolated")
        emulator.wait_until(lambda sm: sm.describe_endpoint(EndpointName="isolated")["EndpointStatus"] == "Failed")
        assert "EnableNetworkIsolation is not emulated when the emulator runs in a container" in \
            sm.describe_endpoint(EndpointName="isolated")["FailureReason"]
        siblings = emulator.siblings()
        assert len(siblings) == 2
        for sibling in siblings:  # on the emulator's network, publishing nothing on the host
            assert list(sibling["NetworkSettings"]["Networks"]) == ["sagemaker-emulator"]
            assert not [port for port in sibling["Ports"] if "PublicPort" in port]
    finally:
        emulator.stop()


def test_a_definition_with_local_model_folders_mounted_at_the_same_path(docker_engine, example_images, shared,
                                                                        network):
    for part in ("preprocessor", "model"):
        with tarfile.open(example_images / "artifacts" / part / "model.tar.gz") as archive:
            archive.extractall(shared / part, filter="data")
    definition = shared / "pipeline.yaml"
    definition.write_text((example_images / "pipeline.yaml").read_text()
                          .replace("artifacts/preprocessor/model.tar.gz", str(shared / "preprocessor"))
                          .replace("artifacts/model/model.tar.gz", str(shared / "model")))
    emulator = EmulatorContainer(docker_engine, shared, "serve", str(definition), "--host", "0.0.0.0",
                                 network=network)
    try:
        emulator.wait_until(lambda sm: sm.describe_endpoint(EndpointName="penguins")["EndpointStatus"] == "InService")
        assert invoke(emulator, "penguins") == b"Gentoo"
        assert [list(s["NetworkSettings"]["Networks"]) for s in emulator.siblings()] == [[network], [network]]
    finally:
        emulator.stop()


def test_a_model_folder_not_mounted_at_the_same_path_is_refused_naming_the_fix(docker_engine, example_images, shared,
                                                                               tmp_path):
    with tarfile.open(example_images / "artifacts" / "model" / "model.tar.gz") as archive:
        archive.extractall(tmp_path / "model", filter="data")
    (tmp_path / "single.yaml").write_text(
        "PrimaryContainer: {Image: 'sagemaker-emulator/example-model:1', ModelDataUrl: model}\n")
    emulator = EmulatorContainer(docker_engine, shared, "serve", "/models/single.yaml", "--host", "0.0.0.0",
                                 volumes={str(tmp_path): "/models"})
    try:
        assert emulator.container.wait(timeout=120)["StatusCode"] != 0
        logs = emulator.logs()
        assert "/models/model is not in a folder mounted at the same path" in logs
        assert "-v /models/model:/models/model" in logs
        assert "Traceback" not in logs
    finally:
        emulator.stop()
