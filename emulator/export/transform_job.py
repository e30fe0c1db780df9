"""A batch transform job as a Kubernetes indexed Job: one pod per SageMaker instance, each transforming its
shard of the input files with the emulator's own engine, through the model's containers on localhost.

Each pod holds the model's containers as sidecars (init containers with `restartPolicy: Always`,
Kubernetes 1.29 and later), started with the batch environment, and one `sagemaker-transform` container
running `emulator.export.transform_shard`, whose exit ends the pod. The input and output folders are on
a PersistentVolumeClaim that every pod mounts.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import yaml

from emulator.definition import EndpointDefinition
from emulator.errors import EmulatorError
from emulator.export.kubernetes import (TRANSFORM_NAME, ExportOptions, Manifest, kubernetes_name, model_parts,
                                        route_arguments)
from emulator.transform import TransformJob, with_batch_environment

REQUEST_DIR = "/etc/sagemaker"
DATA_DIR = "/opt/ml/transform"


def transform_job_manifests(definition: EndpointDefinition, request: Mapping[str, Any], job: TransformJob,
                            options: ExportOptions, *, claim: str | None = None) -> list[Manifest]:
    """The job's request as a ConfigMap, and the indexed Job; `request` is the CreateTransformJob request of `job`."""
    shards = _instance_count(request, options)
    resources = request.get("TransformResources") or {}
    options = dataclasses.replace(options, instance_type=options.instance_type or resources.get("InstanceType"))
    name = kubernetes_name(job.name, f"TransformJobName {job.name}")
    claim = claim or f"{name}-data"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "sagemaker-transform-job"}
    parts = model_parts(with_batch_environment(definition, job), options)
    sidecars = [{**container, "restartPolicy": "Always"} for container in parts.containers]
    runner = {
        "name": TRANSFORM_NAME,
        "image": options.router_image,
        "command": ["python3", "-m", "emulator.export.transform_shard"],
        "args": ["--job", f"{REQUEST_DIR}/request.yaml", "--input", f"{DATA_DIR}/input", "--output",
                 f"{DATA_DIR}/output", "--shards", str(shards), *route_arguments(definition)],
        "volumeMounts": [{"name": "request", "mountPath": REQUEST_DIR, "readOnly": True},
                         {"name": "data", "mountPath": f"{DATA_DIR}/input", "subPath": "input", "readOnly": True},
                         {"name": "data", "mountPath": f"{DATA_DIR}/output", "subPath": "output"}],
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    volumes = [{"name": "request", "configMap": {"name": f"{name}-request"}},
               {"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    job_manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"sagemaker-emulator/model-name": definition.name}},
        "spec": {
            "completionMode": "Indexed",
            "completions": shards,
            "parallelism": shards,
            "backoffLimit": 0,  # SageMaker retries invocations (ModelClientConfig), never a whole job
            "template": {"metadata": {"labels": labels}, "spec": {
                "restartPolicy": "Never",
                "initContainers": [*parts.init_containers, *sidecars],
                "containers": [runner],
                **parts.pod_fields(volumes)}},
        },
    }
    request_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-request", "labels": labels},
                   "data": {"request.yaml": yaml.safe_dump(dict(request), sort_keys=False)}}
    return [Manifest(request_map, [f"Transform job {job.name}: its CreateTransformJob request, read by each pod."]),
            Manifest(job_manifest, _notes(definition, job, shards, claim))]


def _instance_count(request: Mapping[str, Any], options: ExportOptions) -> int:
    resources = request.get("TransformResources") or {}
    count = resources.get("InstanceCount", options.instance_count) if isinstance(resources, Mapping) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise EmulatorError(f"TransformResources.InstanceCount is {count!r}. Fix: give a whole number of 1 or more.")
    return count


def _notes(definition: EndpointDefinition, job: TransformJob, shards: int, claim: str) -> list[str]:
    return [
        f"Transform job {job.name} on model {definition.name} ({definition.source}): an indexed Job, one pod per instance.",
        f"  TransformResources.InstanceCount {shards} -> completions and parallelism {shards}: pod i transforms the "
        f"input files i, i+{shards}, ... (sorted by name), as SageMaker hands each instance whole objects.",
        "  The model's containers -> sidecars (init containers with restartPolicy: Always, Kubernetes 1.29+), "
        "with SAGEMAKER_BATCH and the job's batch settings in their environment.",
        f"  {TRANSFORM_NAME} -> the emulator's transform engine (emulator.export.transform_shard) through the "
        "containers on localhost: the same batching, DataProcessing, retries and .out files as `transform`.",
        f"  TransformInput / TransformOutput -> the folders input/ and output/ of the PersistentVolumeClaim {claim} "
        "(copy the S3 input there first, and the .out files back after).",
        "  backoffLimit 0: a failed shard fails the Job, as a failed object fails a SageMaker transform job.",
    ]
