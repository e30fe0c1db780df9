"""The only module that talks to the Docker engine. The client is created on first use."""

from __future__ import annotations

import functools
import io
import socket
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.artifacts import MODEL_MOUNT, MODELS_MOUNT
from emulator.containers.instance_limits import Limits
from emulator.containers import labels as L
from emulator.containers.siblings import Siblings
from emulator.errors import DockerUnavailable, EmulatorError
from emulator.settings import Settings

BIND_TO_PORT_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
MULTI_MODEL_LABEL = "com.amazonaws.sagemaker.capabilities.multi-models"
PORT_RETRIES = 5
# SageMaker stops a container with SIGTERM and kills it 30 s later (developer guide, your-algorithms-inference-code).
STOP_GRACE_SECONDS = 30


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str
    container_port: int
    environment: dict[str, str]
    labels: dict[str, str]
    model_folder: Path | None = None
    network_isolated: bool = False  # EnableNetworkIsolation: no network at all (see emulator.containers.isolation)
    command: tuple[str, ...] = ("serve",)
    model_read_only: bool = True  # False only to detect writes (the contract suite mounts a copy)
    extra_ports: tuple[int, ...] = ()  # also published, to random host ports (see published_url)
    hostname: str | None = None  # the container's DNS hostname (SageMaker sets its ContainerHostname)
    models_folder: Path | None = None  # a multi-model container's: mounted read-only at /opt/ml/models
    limits: Limits | None = None  # its instance's (emulator.containers.instance_limits); None: the whole machine


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    status: str
    labels: dict[str, str] = field(default_factory=dict)
    image_id: str = ""


OUT_OF_MEMORY = ("killed for lack of memory: its instance ran out (the endpoint's containers share the instance "
                 "type's memory). Fix: a larger InstanceType, or a smaller model")


@dataclass(frozen=True)
class ContainerState:
    status: str  # created | running | restarting | exited | dead | removed
    exit_code: int | None
    out_of_memory: bool = False  # the kernel killed it for memory (its cgroup's, or the machine's)

    def describe(self) -> str:
        """How it ended, for a person: `exited, code 137, killed for lack of memory (...)`."""
        text = f"{self.status}, code {self.exit_code}"
        return text + f", {OUT_OF_MEMORY}" if self.out_of_memory else text


class DockerBackend:
    def __init__(self, base_url: str | None = None):
        self._base_url = base_url
        self._client: Any = None
        self._lock = threading.Lock()
        self._network = Settings.from_environment().network

    @functools.cached_property
    def siblings(self) -> Siblings | None:
        """Set when the emulator runs in a container of its own: where the containers it starts are reached."""
        return Siblings.join(self.client, self._network) if self._network else None

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        import docker  # noqa: PLC0415 - imported on first use so `import emulator` never needs Docker

        try:
            client = docker.DockerClient(base_url=self._base_url) if self._base_url else docker.from_env()
            client.ping()
        except Exception as exc:  # the SDK raises DockerException, requests errors, FileNotFoundError...
            raise DockerUnavailable(
                f"No Docker engine answers ({exc}). Fix: start Docker (on Debian as root: scripts/ensure-docker), "
                "or set DOCKER_HOST to a running engine; check with `docker info`.") from None
        return client

    # -- images -------------------------------------------------------------------------------------------------
    @functools.cached_property
    def cgroup_driver(self) -> str:
        return self.client.info().get("CgroupDriver", "")

    @property
    def is_local(self) -> bool:
        """The engine shares this machine's kernel (its socket is a local one), so its cgroups are this machine's."""
        return self.client.api.base_url.startswith("http+docker://")

    def image_labels(self, image: str) -> dict[str, str]:
        """The image's labels; a clear error when the image is not on this engine."""
        return dict(self._image(image).labels or {})

    def image_architecture(self, image: str) -> str:
        """The architecture the image was built for, as Docker says it (amd64, arm64, ...)."""
        return self._image(image).attrs.get("Architecture", "")

    def image_volumes(self, image: str) -> list[str]:
        """The paths its Dockerfile declares as VOLUME."""
        return list((self._image(image).attrs.get("Config") or {}).get("Volumes") or {})

    def image_user(self, image: str) -> str:
        """The USER its Dockerfile sets, as written (`app`, `1000:1000`); "" when it runs as root."""
        return (self._image(image).attrs.get("Config") or {}).get("User") or ""

    def image_files(self, image: str, paths: tuple[str, ...], labels: dict[str, str]) -> dict[str, bytes | None]:
        """Files of the image (None for one it lacks), read from a container created from it and never started:
        nothing of the image runs, and it need not hold a shell."""
        from docker.errors import NotFound  # noqa: PLC0415

        container = self.client.api.create_container(self._image(image).id, command=["serve"], labels=labels)["Id"]
        found: dict[str, bytes | None] = {}
        try:
            for path in paths:
                try:
                    chunks, _ = self.client.api.get_archive(container, path)
                    found[path] = _only_file(b"".join(chunks))
                except NotFound:
                    found[path] = None
        finally:
            self.remove(container, timeout=0)
        return found

    def _image(self, image: str) -> Any:
        from docker.errors import ImageNotFound  # noqa: PLC0415

        try:
            return self.client.images.get(image)
        except ImageNotFound:
            raise EmulatorError(
                f"Image {image!r} is not on this Docker engine. Fix: build it (`docker build -t {image} .`) "
                "or pull it, then try again.") from None

    def image_id(self, image: str) -> str:
        """The image's id (sha256:...), what a tag points to now."""
        return self.client.images.get(image).id

    # -- containers ---------------------------------------------------------------------------------------------
    def run(self, spec: ContainerSpec) -> tuple[str, str | None]:
        """Start a container; returns (id, URL to reach its server from this host).

        An isolated container has no URL (None): only its network namespace reaches it (emulator.containers.isolation).
        """
        from docker.errors import APIError  # noqa: PLC0415

        mode = "ro" if spec.model_read_only else "rw"
        volumes = {str(spec.model_folder): {"bind": MODEL_MOUNT, "mode": mode}} if spec.model_folder else {}
        if spec.models_folder:
            volumes[str(spec.models_folder)] = {"bind": MODELS_MOUNT, "mode": "ro"}
        common: dict[str, Any] = dict(
            image=spec.image, command=list(spec.command), name=spec.name, detach=True, hostname=spec.hostname,
            environment=spec.environment, labels=spec.labels, volumes=volumes,
            # What SageMaker never grants: keep containers unprivileged and away from the host.
            privileged=False, cap_add=[], security_opt=["no-new-privileges"], init=False,
        )
        if spec.limits is not None:
            common.update(cgroup_parent=spec.limits.cgroup_parent, mem_limit=spec.limits.memory_bytes,
                          nano_cpus=spec.limits.nano_cpus)
        if self.siblings is not None:
            return self._run_sibling(spec, common)
        if spec.network_isolated:
            # Not a Docker `internal` network: from one, the gateway address still reaches every host port.
            try:
                return self.client.containers.run(network_mode="none", **common).id, None
            except APIError as exc:
                self.remove_by_name(spec.name)
                raise _refused(spec, exc) from None
        attempts = 0
        while True:
            attempts += 1
            # A fixed host port (not Docker's random one) stays the same when the container restarts.
            host_port = free_port()
            try:
                container = self.client.containers.run(
                    ports={f"{spec.container_port}/tcp": ("127.0.0.1", host_port),
                           **{f"{port}/tcp": ("127.0.0.1", None) for port in spec.extra_ports}},
                    **{**common, "labels": {**spec.labels, L.HOST_PORT: str(host_port)}})
                return container.id, f"http://127.0.0.1:{host_port}"
            except APIError as exc:
                self.remove_by_name(spec.name)
                if _port_is_free(host_port):  # refused for another reason than a process taking the port
                    raise _refused(spec, exc) from None
                if attempts == PORT_RETRIES:  # another process keeps taking the ports we find free
                    raise EmulatorError(f"no free port on 127.0.0.1 for {spec.name} after {PORT_RETRIES} tries: {exc}") from None

    def _run_sibling(self, spec: ContainerSpec, common: dict[str, Any]) -> tuple[str, str | None]:
        """Start it on the emulator's network, publishing nothing: the emulator reaches it there by name."""
        from docker.errors import APIError  # noqa: PLC0415

        assert self.siblings is not None
        if spec.network_isolated:  # reached through its network namespace, which is on the host, out of reach
            raise EmulatorError(
                f"{spec.name}: EnableNetworkIsolation is not emulated when the emulator runs in a container: it reaches "
                "such a container through its network namespace, on the host. Fix: run the emulator on the host "
                "(pip install sagemaker-emulator), or set EnableNetworkIsolation: false for this run.")
        for folder in common["volumes"]:
            self.siblings.check_shared(Path(folder))
        try:
            container = self.client.containers.run(network=self.siblings.network, **common)
        except APIError as exc:
            self.remove_by_name(spec.name)
            raise _refused(spec, exc) from None
        return container.id, self.siblings.url(spec.name, spec.container_port)

    def published_url(self, container_id: str, container_port: int) -> str:
        """The URL from this host of a port published by `extra_ports`."""
        if self.siblings is not None:
            return self.siblings.url(self.client.api.inspect_container(container_id)["Name"].lstrip("/"), container_port)
        ports = self.client.api.inspect_container(container_id)["NetworkSettings"]["Ports"]
        return f"http://127.0.0.1:{ports[f'{container_port}/tcp'][0]['HostPort']}"

    def state(self, container_id: str) -> ContainerState:
        from docker.errors import NotFound  # noqa: PLC0415

        try:
            attrs = self.client.api.inspect_container(container_id)
        except NotFound:
            return ContainerState("removed", None)
        state = attrs["State"]
        status = "restarting" if state.get("Restarting") else state["Status"]
        exit_code = None if status in ("running", "created") else state.get("ExitCode")
        return ContainerState(status, exit_code, bool(state.get("OOMKilled")))

    def start(self, container_id: str) -> None:
        """`docker start` an exited container again: same name, same published host port."""
        self.client.api.start(container_id)

    def network_namespace(self, container_id: str) -> str:
        """The path of a running container's network namespace on the engine's host (changes at each start).

        Docker names it in SandboxKey; Podman leaves that empty for a container without network, and its
        main process's namespace is the container's.
        """
        attrs = self.client.api.inspect_container(container_id)
        return attrs["NetworkSettings"].get("SandboxKey") or f"/proc/{attrs['State']['Pid']}/ns/net"

    def logs(self, container_id: str, tail: int | str = "all", follow: bool = False, *,
             since: float | None = None, timestamps: bool = False) -> Any:
        """Output so far (bytes), or with `follow` an iterator of chunks until the container stops."""
        from docker.errors import NotFound  # noqa: PLC0415

        try:
            return self.client.api.logs(container_id, tail=tail, follow=follow, stream=follow, since=since,
                                        timestamps=timestamps)
        except NotFound:
            return iter(()) if follow else b""

    def stop(self, container_id: str, timeout: int) -> ContainerState:
        """`docker stop`: SIGTERM, then SIGKILL after `timeout` seconds; the state it ends in (exit 137: killed)."""
        self.client.api.stop(container_id, timeout=timeout)
        return self.state(container_id)

    def remove(self, container_id: str, timeout: int = STOP_GRACE_SECONDS) -> None:
        """Stop (SIGTERM, then SIGKILL after `timeout`) and remove; a container already gone is fine."""
        from docker.errors import APIError, NotFound  # noqa: PLC0415

        try:
            self.client.api.stop(container_id, timeout=timeout)
        except NotFound:
            return
        except APIError:
            pass  # already stopped or being removed: removal below settles it
        try:
            self.client.api.remove_container(container_id, force=True)
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code != 409:  # 409: Docker is already removing it
                raise

    def remove_by_name(self, name: str) -> None:
        self.remove(name, timeout=0)

    def list_managed(self, **label_filters: str) -> list[ContainerInfo]:
        wanted = [f"{L.MANAGED}=true"] + [f"{key}={value}" for key, value in label_filters.items()]
        found = self.client.api.containers(all=True, filters={"label": wanted})
        return [ContainerInfo(c["Id"], c["Names"][0].lstrip("/"), c["State"], c.get("Labels") or {}, c.get("ImageID", ""))
                for c in found]


def _only_file(archive: bytes) -> bytes | None:
    """The content of the one regular file in a `docker cp` archive; None when the path is something else."""
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.next()
        readable = tar.extractfile(member) if member is not None and member.isfile() else None
        return readable.read() if readable else None


def _refused(spec: ContainerSpec, exc: Exception) -> EmulatorError:
    return EmulatorError(f"Docker refused to start {spec.name} from {spec.image}: {getattr(exc, 'explanation', None) or exc}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
