"""An endpoint as plain Kubernetes objects: a Deployment whose pod is one SageMaker instance, and a Service.

SageMaker runs a model's containers on one instance, talking over localhost on the ports it hands
them: exactly a pod. The pod holds the model's containers, started as SageMaker starts them, and a
router: the emulator's own front, serving the sagemaker-runtime API for this endpoint and chaining
to the containers on localhost. Each object carries notes saying where each SageMaker setting went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from emulator.artifacts import model_folder
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT
from emulator.definition import ContainerDefinition, EndpointDefinition
from emulator.errors import EmulatorError
from emulator.export.instance_types import requests_per_container
from emulator.containers.sagemaker_env import container_port, serving_environment

ROUTER_IMAGE = "sagemaker-emulator/router:1"
AWS_CLI_IMAGE = "amazon/aws-cli:2.15.30"  # fetches s3:// model data in an init container
ROUTER_PORT = 7080  # outside SAGEMAKER_SAFE_PORT_RANGE and off 8080, the port of a single container
SERVICE_PORT = 8080
ROUTER_NAME = "sagemaker-router"
TRANSFORM_NAME = "sagemaker-transform"
RESERVED_NAMES = {ROUTER_NAME, TRANSFORM_NAME}  # the pod's own containers
MODEL_DIR = "/opt/ml/model"
ARCHIVE_DIR = "/opt/ml/input-model"
DEFAULT_STARTUP_SECONDS = 240  # SageMaker's ContainerStartupHealthCheckTimeoutInSeconds when unset
PING_TIMEOUT_SECONDS = 2  # SageMaker times each /ping out after 2 s
STARTUP_PERIOD_SECONDS = 2
SIGKILL_AFTER_SECONDS = 30  # SageMaker stops a container with SIGTERM, then SIGKILL 30 s later
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class ExportOptions:
    router_image: str = ROUTER_IMAGE
    instance_type: str | None = None  # a ProductionVariant's InstanceType: resource requests
    instance_count: int = 1  # InitialInstanceCount: replicas
    host_port: int | None = None  # also publish the router on 127.0.0.1:<port> of the node (a local run)
    s3_image: str = AWS_CLI_IMAGE
    invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT


@dataclass
class Manifest:
    """One Kubernetes object, and the comment lines written above it."""
    body: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def endpoint_manifests(definition: EndpointDefinition, options: ExportOptions = ExportOptions()) -> list[Manifest]:
    """The Deployment and Service of one endpoint, and a NetworkPolicy when EnableNetworkIsolation is set."""
    if options.instance_count < 1:
        raise EmulatorError(f"--instance-count is {options.instance_count}; SageMaker needs at least 1 instance. "
                            "Fix: give 1 or more.")
    if definition.is_multi_model:  # the pod's router has no owner process to load models on demand
        raise EmulatorError(f"{definition.source}: endpoint {definition.name}: a MultiModel container cannot be "
                            "exported; the exported router loads no models on demand. Fix: export each model you "
                            "need as a SingleModel endpoint, or serve this one with `sagemaker-emulator serve`.")
    name = kubernetes_name(definition.name, f"endpoint {definition.name}")
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "sagemaker-endpoint"}
    deployment = Manifest(_deployment(definition, name, labels, options))
    deployment.notes += _deployment_notes(definition, options)
    manifests = [deployment, Manifest(_service(name, labels), [
        f"Service {name}: the sagemaker-runtime API of endpoint {definition.name} inside the cluster,",
        f"  e.g. boto3.client('sagemaker-runtime', endpoint_url='http://{name}:{SERVICE_PORT}').",
        "  (SageMaker serves it on HTTPS with SigV4; the router accepts any signature.)"])]
    if definition.network_isolation:
        if any((c.model_data or "").startswith("s3://") for c in definition.containers):
            raise EmulatorError(
                f"{definition.source}: endpoint {definition.name}: EnableNetworkIsolation denies the pod all egress, "
                "which also stops its init containers from fetching ModelDataUrl from S3 (in SageMaker the platform "
                "fetches it, outside the container). Fix: download the model and give a local path, or export "
                "without EnableNetworkIsolation and add a NetworkPolicy of your own that lets only the fetch through.")
        manifests.append(Manifest(_network_policy(name, labels), [
            f"EnableNetworkIsolation: true -> NetworkPolicy {name}-network-isolation denies the pod all egress;",
            "  the containers still reach each other on localhost, and the Service still reaches the router.",
            "  It takes effect where the cluster's network plugin enforces NetworkPolicy (Calico, Cilium, ...)."]))
    return manifests


def kubernetes_name(name: str, what: str) -> str:
    """A SageMaker name (letters, digits, hyphens) as a DNS label: Kubernetes names are lower case."""
    lowered = name.lower()
    if len(lowered) > 63 or not DNS_LABEL.fullmatch(lowered):
        raise EmulatorError(f"{what}: {name!r} cannot be a Kubernetes name. Fix: use 1-63 letters, digits and "
                            "hyphens, starting and ending with a letter or digit.")
    return lowered


# -- Deployment ---------------------------------------------------------------------------------------------------
def _deployment(definition: EndpointDefinition, name: str, labels: dict[str, str], options: ExportOptions) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"sagemaker-emulator/endpoint-name": definition.name,
                                     "sagemaker-emulator/source": definition.source}},
        "spec": {
            "replicas": options.instance_count,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec(definition, options)},
        },
    }


def pod_spec(definition: EndpointDefinition, options: ExportOptions) -> dict:
    """One SageMaker instance: the model's containers, their model data, and the router."""
    parts = model_parts(definition, options)
    spec: dict[str, Any] = {}
    if parts.init_containers:
        spec["initContainers"] = parts.init_containers
    spec["containers"] = [*parts.containers, router_container(definition, options)]
    return {**spec, **parts.pod_fields()}


@dataclass
class ModelParts:
    """What every pod of a model holds: its containers, what fetches their model data, and the volumes."""
    definition: EndpointDefinition
    init_containers: list[dict]
    containers: list[dict]
    volumes: list[dict]

    def pod_fields(self, volumes: list[dict] = ()) -> dict[str, Any]:
        """The pod's volumes (its own, then `volumes`) and the settings every such pod shares."""
        fields: dict[str, Any] = {}
        if self.volumes or volumes:
            fields["volumes"] = [*self.volumes, *volumes]
        # SageMaker names each container's host after its ContainerHostname; in a pod they share one host.
        fields["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": [c.hostname for c in self.definition.containers]}]
        fields["terminationGracePeriodSeconds"] = SIGKILL_AFTER_SECONDS
        if not any((c.model_data or "").startswith("s3://") for c in self.definition.containers):
            fields["automountServiceAccountToken"] = False  # nothing in the pod talks to the cluster or to AWS
        return fields


def model_parts(definition: EndpointDefinition, options: ExportOptions) -> ModelParts:
    names = [kubernetes_name(c.hostname, f"endpoint {definition.name}, ContainerHostname") for c in definition.containers]
    if any(name in RESERVED_NAMES for name in names) or len(set(names)) < len(names):
        raise EmulatorError(f"{definition.source}: endpoint {definition.name}: the container hostnames "
                            f"{', '.join(c.hostname for c in definition.containers)} do not give distinct Kubernetes "
                            f"names (lower case, and none of {', '.join(sorted(RESERVED_NAMES))}). Fix: rename a container.")
    requests = requests_per_container(options.instance_type, len(names)) if options.instance_type else None
    parts = ModelParts(definition, [], [], [])
    for index, (container, name) in enumerate(zip(definition.containers, names)):
        mounts = _model_data(container, name, options, parts.init_containers, parts.volumes)
        parts.containers.append(_model_container(definition, index, name, mounts, requests[index] if requests else None))
    return parts


def _model_container(definition: EndpointDefinition, index: int, name: str, mounts: list[dict],
                     requests: dict[str, str] | None) -> dict:
    container = definition.containers[index]
    port = container_port(definition, index)
    startup_seconds = definition.startup_timeout or DEFAULT_STARTUP_SECONDS
    # No `ports` entry: it would only document the port, and `podman kube play` publishes every listed port.
    ping = {"httpGet": {"path": "/ping", "port": port}, "timeoutSeconds": PING_TIMEOUT_SECONDS}
    spec: dict[str, Any] = {
        "name": name,
        "image": container.image,
        "args": ["serve"],
        "env": [{"name": key, "value": value} for key, value in serving_environment(definition, index).items()],
        "startupProbe": {**ping, "periodSeconds": STARTUP_PERIOD_SECONDS,
                         "failureThreshold": -(-startup_seconds // STARTUP_PERIOD_SECONDS)},
        "readinessProbe": {**ping, "periodSeconds": 5},
        "livenessProbe": {**ping, "periodSeconds": 10, "failureThreshold": 3},
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if not spec["env"]:
        del spec["env"]
    if requests:
        spec["resources"] = {"requests": requests}
    if mounts:
        spec["volumeMounts"] = mounts
    return spec


def _model_data(container: ContainerDefinition, name: str, options: ExportOptions,
                init_containers: list[dict], volumes: list[dict]) -> list[dict]:
    """Volumes (and for S3, init containers) that put the model at /opt/ml/model; the model container's mounts."""
    url = container.model_data
    if url is None:
        return []
    model = f"{name}-model" if len(name) <= 57 else f"model-{len(volumes)}"
    model_mount = {"name": model, "mountPath": MODEL_DIR}
    if not url.startswith("s3://"):
        # A local run: the folder on the node, read-only. An archive is unpacked here first, checked and cached
        # as `serve` does (not by an init container: Podman 4.3 restarts a Deployment's init containers forever).
        volumes.append({"name": model, "hostPath": {"path": str(model_folder(url)), "type": "Directory"}})
        return [{**model_mount, "readOnly": True}]
    volumes.append({"name": model, "emptyDir": {}})
    if not url.endswith(ARCHIVE_SUFFIXES):
        # An S3 prefix of model files: copied as they are.
        init_containers.append({"name": f"fetch-{name}"[:63], "image": options.s3_image,
                                "args": ["s3", "sync", url, MODEL_DIR], "volumeMounts": [model_mount]})
        return [{**model_mount, "readOnly": True}]
    archive = f"{name}-archive" if len(name) <= 55 else f"archive-{len(volumes)}"
    archive_path = f"{ARCHIVE_DIR}/{PurePosixPath(url).name}"
    volumes.append({"name": archive, "emptyDir": {}})
    init_containers += [
        {"name": f"fetch-{name}"[:63], "image": options.s3_image, "args": ["s3", "cp", url, archive_path],
         "volumeMounts": [{"name": archive, "mountPath": ARCHIVE_DIR}]},
        # The emulator's own checked unpacking (no `..`, no links out, no devices, a size limit).
        {"name": f"unpack-{name}"[:63], "image": options.router_image,
         "command": ["python3", "-m", "emulator.export.unpack"], "args": [archive_path, MODEL_DIR],
         "volumeMounts": [{"name": archive, "mountPath": ARCHIVE_DIR, "readOnly": True}, model_mount]}]
    return [{**model_mount, "readOnly": True}]


def router_container(definition: EndpointDefinition, options: ExportOptions) -> dict:
    args = ["--port", str(ROUTER_PORT), "--timeout", f"{options.invocation_timeout:g}", *route_arguments(definition)]
    port: dict[str, Any] = {"name": "http", "containerPort": ROUTER_PORT}
    if options.host_port is not None:
        port.update(hostPort=options.host_port, hostIP="127.0.0.1")
    return {
        "name": ROUTER_NAME,
        "image": options.router_image,
        "args": args,
        "ports": [port],
        # Ready when every container of the endpoint answers /ping, as SageMaker's InService.
        "readinessProbe": {"httpGet": {"path": f"/_emulator/endpoints/{definition.name}/health", "port": "http"},
                           "periodSeconds": 5, "timeoutSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2},
        "securityContext": {"allowPrivilegeEscalation": False},
    }


def route_arguments(definition: EndpointDefinition) -> list[str]:
    """The endpoint as the router and the transform runner take it: its name, mode, and containers on localhost."""
    args = ["--endpoint", definition.name, "--mode", definition.mode]
    for index, container in enumerate(definition.containers):
        args += ["--container", f"{container.hostname}={container_port(definition, index)}"]
    return args


def _deployment_notes(definition: EndpointDefinition, options: ExportOptions) -> list[str]:
    notes = [f"Endpoint {definition.name} ({definition.source}): one pod = one SageMaker instance.",
             f"  InitialInstanceCount {options.instance_count} -> replicas: {options.instance_count}."]
    if options.instance_type:
        requests = requests_per_container(options.instance_type, len(definition.containers))
        notes.append(f"  InstanceType {options.instance_type} -> "
                     + (f"resource requests {requests[0]['cpu']} CPU and {requests[0]['memory']} per model container "
                        "(the instance, shared evenly; SageMaker sets no per-container limits)."
                        if requests else "not in the table of known sizes: no resource requests."))
    notes.append(f"  InferenceExecutionConfig.Mode {definition.mode} -> the router container ({ROUTER_NAME}), port "
                 f"{ROUTER_PORT}: the emulator's front chaining to the containers on localhost, with the same "
                 "X-Emulator-Trace header; ready when every container answers /ping.")
    for index, container in enumerate(definition.containers):
        port = container_port(definition, index)
        where = f"Containers[{index}]" if definition.is_pipeline else "PrimaryContainer"
        notes.append(f"  {where} {container.hostname}: container {kubernetes_name(container.hostname, 'container')}, "
                     f"args [serve], listening on {port}"
                     + (" (SAGEMAKER_BIND_TO_PORT; SAGEMAKER_SAFE_PORT_RANGE)" if definition.is_pipeline else "")
                     + "; Environment -> env.")
        if container.model_data:
            notes.append(f"    ModelDataUrl {container.model_data} -> {_model_data_note(container.model_data)}")
    startup = definition.startup_timeout or DEFAULT_STARTUP_SECONDS
    notes += [f"  ContainerStartupHealthCheckTimeoutInSeconds {startup} -> each startupProbe on /ping "
              f"({STARTUP_PERIOD_SECONDS} s apart, {PING_TIMEOUT_SECONDS} s per ping).",
              f"  SIGTERM then SIGKILL after {SIGKILL_AFTER_SECONDS} s -> terminationGracePeriodSeconds.",
              "  ContainerHostname -> hostAliases: each name resolves to the pod's localhost."]
    if options.host_port is not None:
        notes.append(f"  For a local run (podman kube play): the router is also published on 127.0.0.1:{options.host_port}.")
    return notes


def _model_data_note(url: str) -> str:
    if url.startswith("s3://"):
        kind = "archive, unpacked by" if url.endswith(ARCHIVE_SUFFIXES) else "prefix, synced by"
        return (f"an S3 {kind} init containers into an emptyDir at {MODEL_DIR}, read-only in the container "
                "(credentials: the pod's service account, e.g. IRSA).")
    if url.endswith(ARCHIVE_SUFFIXES):
        return (f"unpacked on this machine by `export` (checked and cached, as `serve` does), mounted read-only "
                f"at {MODEL_DIR} from the node (hostPath: a local run; use s3:// for a cluster).")
    return f"the folder on the node (hostPath: a local run; use s3:// for a cluster), mounted read-only at {MODEL_DIR}."


# -- Service and NetworkPolicy ------------------------------------------------------------------------------------
def _service(name: str, labels: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}]},
    }


def _network_policy(name: str, labels: dict[str, str]) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{name}-network-isolation", "labels": labels},
        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Egress"], "egress": []},
    }
