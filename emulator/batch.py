"""Batch transform on real containers: start the model's containers with the batch environment,
drive the transform engine through them, and stop them.

The model is an endpoint of a pipeline definition (its `ModelName`), or a single image.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import urllib3

from emulator import container_http
from emulator.container_http import StreamedFile
from emulator.api import Emulator
from emulator.chain import BATCH_LIMITS, Chain
from emulator.definition import EndpointDefinition, load_file, parse
from emulator.endpoint import Progress
from emulator.errors import EmulatorError
from emulator.transform import TransformJob, TransformReport, container_environment, from_request, run_transform


class ChainTarget:
    """The transform engine's view of a running endpoint: its first container's execution
    parameters, and invocations through the whole chain."""

    def __init__(self, chain: Chain):
        self.chain = chain
        self._timed: dict[float, Chain] = {}

    def execution_parameters(self) -> dict[str, Any] | None:
        try:
            response = container_http.pool.request("GET", self.chain.routes[0].url + "/execution-parameters",
                                                   timeout=container_http.PING_TIMEOUT)
        except urllib3.exceptions.HTTPError:
            return None
        if response.status != 200:
            return None
        try:
            return json.loads(response.data)
        except ValueError:
            raise EmulatorError(f"{self.chain.routes[0].hostname} answered GET /execution-parameters with "
                                f"invalid JSON: {response.data[:200]!r}. Fix: return a JSON object or 404.") from None

    def invoke(self, body: bytes | StreamedFile, *, content_type: str | None, accept: str | None,
               timeout: float) -> tuple[str | None, bytes]:
        result = self._chain_with(timeout).invoke(body, content_type=content_type, accept=accept)
        return result.content_type, result.body

    def _chain_with(self, timeout: float) -> Chain:
        """ModelClientConfig's timeout, not the real-time 60 s, and batches of up to MaxPayloadInMB
        (100, or unbounded), not the real-time 6 MB."""
        chain = self._timed.get(timeout)
        if chain is None:
            chain = self._timed[timeout] = Chain(self.chain.endpoint, self.chain.routes, self.chain.mode,
                                                 timeout=timeout, limits=BATCH_LIMITS)
        return chain


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


def with_batch_environment(model: EndpointDefinition, job: TransformJob) -> EndpointDefinition:
    """Every container gets SAGEMAKER_BATCH and the job's batch settings, as in a transform job."""
    extra = container_environment(job)
    containers = tuple(dataclasses.replace(c, environment={**c.environment, **extra}) for c in model.containers)
    return dataclasses.replace(model, containers=containers)


def transform(model: EndpointDefinition, job: TransformJob, inputs: Path, output_dir: Path, *,
              startup_timeout: float | None = None, progress: Progress | None = None) -> TransformReport:
    """Start the model's containers, run the job over `inputs` into `output_dir`, stop them."""
    with Emulator([with_batch_environment(model, job)], startup_timeout=startup_timeout, progress=progress) as emulator:
        return run_transform(job, ChainTarget(emulator.endpoint.chain), inputs, output_dir)


def job_from_options(model_name: str, inputs: Path, output_dir: Path, **options: Any) -> TransformJob:
    """A CreateTransformJob request from command-line style options (None = not set), validated."""
    request: dict[str, Any] = {
        "TransformJobName": options.pop("name", None) or "local-transform", "ModelName": model_name,
        "TransformInput": _without_none({"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": str(inputs)}},
                                         "ContentType": options.pop("content_type", None),
                                         "SplitType": options.pop("split_type", None)}),
        "TransformOutput": _without_none({"S3OutputPath": str(output_dir), "Accept": options.pop("accept", None),
                                          "AssembleWith": options.pop("assemble_with", None)}),
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
