"""An instance's vCPUs and memory bound its containers together, as on SageMaker: a container that takes more
memory than the instance has is killed (exit 137) and said to be, two that are only together over it fail too,
and the CPU quota is the instance's vCPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.api import Emulator
from emulator.invocation.outcomes import InvocationFailed
from tests.reliability.support import echo, wait_for
from tests.test_request_log import read_log

pytestmark = pytest.mark.docker
CGROUPS = Path("/sys/fs/cgroup")


def host_config(docker_engine, emulator: Emulator, endpoint: str) -> dict:
    container = emulator.lifecycle.running(endpoint)[0][1].containers[0]
    return docker_engine.api.inspect_container(container.id)["HostConfig"]


def test_the_containers_share_the_instance_types_vcpus_and_memory(example_images, docker_engine):
    definition = {"Endpoints": {"sized": {"Containers": [echo("first"), echo("second")], "InstanceType": "ml.m5.large"}}}
    with Emulator(definition, startup_timeout=60) as emulator:
        config = host_config(docker_engine, emulator, "sized")
        parent = config["CgroupParent"]
        assert parent, "this engine shares the machine's cgroups (cgroupfs): the containers get one parent"
        assert (CGROUPS / "cpu" / parent.lstrip("/") / "cpu.cfs_quota_us").read_text().strip() == "200000"  # 2 vCPUs
        assert int((CGROUPS / "memory" / parent.lstrip("/") / "memory.limit_in_bytes").read_text()) == 8 << 30
        assert config["Memory"] == 0 and config["NanoCpus"] == 0  # no limits of their own: they share the instance
    assert not (CGROUPS / "memory" / parent.lstrip("/")).exists(), "the instance's cgroup goes with its containers"


def test_a_container_over_the_instances_memory_is_killed_and_said_to_be(example_images):
    definition = {"Endpoints": {"hungry": {"PrimaryContainer": echo("hungry", ECHO_ALLOCATE_MB="4600"),
                                           "InstanceType": "ml.t3.medium"}}}  # 4 GiB
    with Emulator(definition, startup_timeout=60) as emulator:
        emulator.serve()
        with pytest.raises(InvocationFailed, match="primary"):
            emulator["hungry"].invoke(b"x", content_type="text/plain")
        # The model server's worker dies, its container lives on: the owner reads the kernel's count of memory kills.
        said = wait_for(lambda: [event for event in read_log(emulator.url, 0, wait="1")["events"]
                                 if event["endpoint"] == "hungry" and event["event"] == "out-of-memory"], 10,
                        "the out-of-memory event in the request log")
        assert "killed for lack of memory: its instance ran out" in said[0]["detail"]


def test_two_containers_only_together_over_the_instances_memory_fail(example_images):
    pipeline = [echo("first", ECHO_ALLOCATE_MB="2300"), echo("second", ECHO_ALLOCATE_MB="2300")]
    with Emulator({"Endpoints": {"pair": {"Containers": pipeline, "InstanceType": "ml.t3.medium"}}},
                  startup_timeout=60) as emulator:
        emulator.serve()
        try:  # each alone fits in 4 GiB; when the second takes its share, the kernel kills a process of one
            emulator["pair"].invoke(b"x", content_type="text/plain")
        except InvocationFailed:
            pass
        said = wait_for(lambda: [event for event in read_log(emulator.url, 0, wait="1")["events"]
                                 if event["endpoint"] == "pair" and event["event"] == "out-of-memory"], 10,
                        "an out-of-memory event of the pair in the request log")
        assert said[0]["container"] in ("first", "second")


def test_no_instance_limits_gives_the_whole_machine(example_images, docker_engine):
    with Emulator({"Endpoints": {"free": {"PrimaryContainer": echo()}}}, instance_limits=False,
                  startup_timeout=60) as emulator:
        config = host_config(docker_engine, emulator, "free")
        assert (config["CgroupParent"], config["Memory"], config["NanoCpus"]) == ("", 0, 0)
