"""Batch transform on real containers: start the model's containers with the batch environment,
drive the transform engine through them, and stop them.

The model is an endpoint of a pipeline definition (its `ModelName`), or a single image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.containers.docker_backend import DockerBackend
from emulator.containers.group import ContainerGroup, Progress
from emulator.containers.leftovers import remove_dead_runs
from emulator.definition import EndpointDefinition, load_file, parse
from emulator.errors import EmulatorError
from emulator.invocation.chain import Chain
from emulator.invocation.chain_target import ChainTarget
from emulator.transform import TransformJob, TransformReport, from_request, run_transform, with_batch_environment


def load_model(source: str | Path | dict, model_name: str | None) -> EndpointDefinition:
    """The endpoint of a definition named `model_name` (or its only one)."""
    definitions = parse(source) if isinstance(source, dict) else load_file(source)
    if model_name is None:
        if len(definitions) != 1:
            raise EmulatorError(f"the definition holds {len(definitions)} endpoints; name one with ModelName "
                                f"(--model): {', '.join(d.name for d in definitions)}.")
        return definitions[0]
    for definition in definitions:
        if definition.name == model_name:
            return definition
    raise EmulatorError(f"ModelName {model_name!r} is not in the definition; it defines: "
                        f"{', '.join(d.name for d in definitions)}.")


def transform(model: EndpointDefinition, job: TransformJob, inputs: Path, output_dir: Path, *,
              startup_timeout: float | None = None, progress: Progress | None = None,
              instance_limits: bool = True) -> TransformReport:
    """Start the model's containers (one container group, as a transform job's instance: no control plane, no
    front), run the job over `inputs` into `output_dir`, stop them. They share the job's instance type's vCPUs and
    memory (its TransformResources.InstanceType, else the definition's InstanceType); `instance_limits` False: the
    machine's."""
    backend = DockerBackend()
    remove_dead_runs(backend)
    group = ContainerGroup(with_batch_environment(model, job), backend, startup_timeout=startup_timeout,
                           progress=progress, instance_limits=instance_limits).start()
    try:
        return run_transform(job, ChainTarget(Chain(model.name, group.routes, model.mode)), inputs, output_dir)
    finally:
        group.stop()


def job_from_options(model_name: str, inputs: Path, output_dir: Path, **options: Any) -> TransformJob:
    """A CreateTransformJob request from command-line style options (None = not set), validated."""
    request: dict[str, Any] = {
        "TransformJobName": options.pop("name", None) or "local-transform", "ModelName": model_name,
        "TransformInput": _without_none({"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(inputs)}},
                                         "ContentType": options.pop("content_type", None),
                                         "SplitType": options.pop("split_type", None)}),
        "TransformOutput": _without_none({"S3OutputPath": str(output_dir), "Accept": options.pop("accept", None),
                                          "AssembleWith": options.pop("assemble_with", None)}),
        "TransformResources": _without_none({"InstanceType": options.pop("instance_type", None)}),
        "BatchStrategy": options.pop("batch_strategy", None),
        "MaxPayloadInMB": options.pop("max_payload_mb", None),
        "MaxConcurrentTransforms": options.pop("max_concurrent_transforms", None),
        "ModelClientConfig": _without_none({"InvocationsTimeoutInSeconds": options.pop("timeout", None),
                                            "InvocationsMaxRetries": options.pop("max_retries", None)}),
        "DataProcessing": _without_none({"InputFilter": options.pop("input_filter", None),
                                         "OutputFilter": options.pop("output_filter", None),
                                         "JoinSource": options.pop("join_source", None)}),
    }
    if options:
        raise TypeError(f"unknown transform options: {', '.join(options)}")
    return from_request(_without_none(request))


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None and value != {}}
