"""A transform job's TransformResources.InstanceType sizes its containers as a variant's InstanceType does: they
share that instance's vCPUs and memory, through the API (CreateTransformJob) and the local `transform` alike."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from emulator.api import Emulator
from emulator.containers import labels
from emulator.containers.docker_backend import DockerBackend
from emulator.definition import parse
from emulator.hosting.batch import job_from_options, transform
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients
from tests.reliability.support import wait_for

pytestmark = pytest.mark.docker
CGROUPS = Path("/sys/fs/cgroup")
SLOW_ECHO = {"Image": ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": "3"}}  # the job lasts while it is looked at


def instance_of(job: str, docker_engine) -> tuple[float, int]:
    """(vCPUs, memory bytes) the running job's container gets: its instance's parent cgroup, or limits of its own
    where this engine allows no shared parent."""
    [container] = wait_for(lambda: DockerBackend().list_managed(**{labels.ENDPOINT: job}), 60,
                           f"the container of {job}")
    config = docker_engine.api.inspect_container(container.id)["HostConfig"]
    parent = config["CgroupParent"].lstrip("/")
    if not parent:
        return config["NanoCpus"] / 1e9, config["Memory"]
    if (CGROUPS / "cgroup.controllers").exists():
        quota, period = (CGROUPS / parent / "cpu.max").read_text().split()
        return int(quota) / int(period), int((CGROUPS / parent / "memory.max").read_text())
    quota = int((CGROUPS / "cpu" / parent / "cpu.cfs_quota_us").read_text())
    period = int((CGROUPS / "cpu" / parent / "cpu.cfs_period_us").read_text())
    return quota / period, int((CGROUPS / "memory" / parent / "memory.limit_in_bytes").read_text())


def test_create_transform_job_runs_on_its_instance_type(example_images, docker_engine):
    job = f"sized-{uuid.uuid4().hex[:8]}"
    with Emulator(startup_timeout=60) as emulator:
        url = emulator.serve()
        sm, s3 = clients(url, "sagemaker"), clients(url, "s3")
        s3.create_bucket(Bucket="sized")
        s3.put_object(Bucket="sized", Key="in/a.csv", Body=b"1\n")
        sm.create_model(ModelName=job, PrimaryContainer=SLOW_ECHO)
        sm.create_transform_job(
            TransformJobName=job, ModelName=job,
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://sized/in/"}}},
            TransformOutput={"S3OutputPath": "s3://sized/out/"},
            TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 1})
        assert instance_of(job, docker_engine) == (4, 8 << 30)
        sm.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=job,
                                                                  WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})
        assert sm.describe_transform_job(TransformJobName=job)["TransformJobStatus"] == "Completed"


@pytest.mark.parametrize("instance_type, sized", [("ml.c5.2xlarge", (8, 16 << 30)),  # the job's, over the definition's
                                                 (None, (2, 4 << 30))])  # the definition's ml.t3.medium
def test_the_local_transform_runs_on_the_jobs_instance_type_else_the_definitions(instance_type, sized, example_images,
                                                                                 docker_engine, tmp_path):
    name = f"local-{uuid.uuid4().hex[:8]}"
    [model] = parse({"Endpoints": {name: {"PrimaryContainer": SLOW_ECHO, "InstanceType": "ml.t3.medium"}}})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("1\n")
    job = job_from_options(name, tmp_path / "in", tmp_path / "out", instance_type=instance_type)
    done = threading.Thread(target=transform, args=(model, job, tmp_path / "in", tmp_path / "out"),
                            kwargs={"startup_timeout": 60})
    done.start()
    try:
        assert instance_of(name, docker_engine) == sized
    finally:
        done.join(timeout=120)
    assert (tmp_path / "out" / "a.csv.out").read_text() == "1\n"
