"""The emulator inside a container of its own (the emulator's image), driving the host's engine through its socket.

The model containers it starts are its siblings on the host, not its children: the ports they would publish on
127.0.0.1 are the host's, out of this container's reach. So they join a network this container is on and are
reached there by name (Docker's DNS on a user-defined network), which works the same on a Linux engine, Docker
Desktop's VM, a docker compose project's network and a CI job's service network. On Docker's default `bridge`
network (and Podman's), which have no DNS, the emulator makes the network `sagemaker-emulator` once and joins it.

The engine reads a bind mount's source on its own host, not in this container: a model folder can be mounted
into a sibling only when it lies in a folder mounted at the same path on the host and here.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from emulator.containers import labels as L
from emulator.errors import EmulatorError

AUTO = "auto"  # the network of the container this process runs in
OWN_NETWORK = "sagemaker-emulator"  # made when the emulator is only on Docker's default network
NO_DNS = {"bridge", "podman", "host", "none"}  # Docker's and Podman's default networks resolve no names
CONTAINER_ID = re.compile(r"/([0-9a-f]{64})/")


@dataclass(frozen=True)
class Siblings:
    network: str
    shared_folders: tuple[PurePosixPath, ...]  # mounted at the same path on the host and in this container

    @classmethod
    def join(cls, client: Any, wanted: str) -> "Siblings | None":
        """The network the siblings go on (`wanted`, or with AUTO this container's own), joined if need be; None
        when this container shares the host's network (--network host): the host's 127.0.0.1 is its own."""
        own = _own_container(client, wanted)
        networks = list(own["NetworkSettings"]["Networks"])
        if "host" in networks:
            return None
        if wanted == AUTO:
            wanted = next((name for name in networks if name not in NO_DNS), OWN_NETWORK)
        if wanted not in networks:
            _network(client, wanted).connect(own["Id"])
        shared = tuple(PurePosixPath(mount["Destination"]) for mount in own.get("Mounts", [])
                       # Docker Desktop may prefix the source with its VM's mount point (/host_mnt/Users/...).
                       if mount.get("Type") == "bind" and mount["Source"].endswith(mount["Destination"]))
        return cls(wanted, shared)

    @staticmethod
    def url(name: str, port: int) -> str:
        return f"http://{name}:{port}"

    def check_shared(self, folder: Path) -> None:
        """Raise a clear error when the engine could not mount `folder` from its host into a sibling."""
        path = PurePosixPath(folder)
        if not any(path == shared or shared in path.parents for shared in self.shared_folders):
            raise EmulatorError(
                f"{folder} is not in a folder mounted at the same path on the host and in the emulator's container, "
                "so the Docker engine, which reads a bind mount's source on its own host, cannot mount it into a "
                f"model's container. Fix: start the emulator's container with -v {folder}:{folder} (or a folder "
                "above it; for model data from S3, its cache: -v /tmp/sagemaker-emulator:/tmp/sagemaker-emulator).")


def own_container_id() -> str:
    """This container's id: Docker and Podman mount its /etc/hostname from a folder named after it."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        mounts = []
    for line in mounts:
        fields = line.split()
        if len(fields) > 4 and fields[4] == "/etc/hostname" and (found := CONTAINER_ID.search(fields[3] + "/")):
            return found.group(1)
    return socket.gethostname()  # the engine's default hostname is the short id


def _own_container(client: Any, wanted: str) -> dict:
    from docker.errors import NotFound  # noqa: PLC0415

    try:
        return client.api.inspect_container(own_container_id())
    except NotFound:
        raise EmulatorError(
            f"SAGEMAKER_EMULATOR_NETWORK={wanted} says the emulator runs in a container, but this process is not in "
            "a container of the engine it drives. Fix: unset SAGEMAKER_EMULATOR_NETWORK outside the emulator's "
            "image, or mount that engine's socket (-v /var/run/docker.sock:/var/run/docker.sock).") from None


def _network(client: Any, name: str) -> Any:
    from docker.errors import APIError, NotFound  # noqa: PLC0415

    try:
        return client.networks.get(name)
    except NotFound:
        if name != OWN_NETWORK:
            raise EmulatorError(f"Docker network {name!r} (SAGEMAKER_EMULATOR_NETWORK) does not exist. Fix: "
                                f"`docker network create {name}`, or SAGEMAKER_EMULATOR_NETWORK=auto.") from None
    try:
        return client.networks.create(name, driver="bridge", labels={L.MANAGED: "true"})
    except APIError:  # another emulator made it first
        return client.networks.get(name)
