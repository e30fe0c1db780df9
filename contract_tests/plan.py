"""What one run checks: the containers (each image given, each container of a definition), the samples,
and the serial pipelines whose chain is checked. Mistakes in the options stop the run before any container starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contract_tests import samples
from contract_tests.options import SuiteOptions
from emulator.definition import EndpointDefinition, load_file
from emulator.env_option import env_mapping
from emulator.errors import EmulatorError


@dataclass(frozen=True)
class Target:
    """One container to check, started as SageMaker would start it."""
    id: str
    image: str
    model_data: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    endpoint: EndpointDefinition | None = None  # the definition's endpoint it belongs to
    position: int = 0  # its place in that endpoint's containers

    @property
    def fed_by_chain(self) -> bool:
        """In a Serial pipeline every container but the first receives the previous container's answer."""
        return self.endpoint is not None and self.endpoint.mode == "Serial" and self.position > 0

    @property
    def name_in_errors(self) -> str:
        """How SageMaker's error messages name it: `primary` alone, its hostname in a pipeline."""
        return self.id.rsplit("/", 1)[-1] if self.endpoint and self.endpoint.is_pipeline else "primary"

    @property
    def needs_bind_to_port(self) -> bool:
        """An image given alone may go into any pipeline; a definition's lone container never shares an instance."""
        return self.endpoint is None or self.endpoint.is_pipeline


@dataclass(frozen=True)
class Plan:
    targets: list[Target]
    samples: list[samples.Sample]
    pipelines: list[EndpointDefinition]  # Serial endpoints of two or more containers
    definition: Path | None
    startup_timeout: float
    parity_data: samples.Sample | None = None  # records for the parity check of each image given


def make_plan(options: SuiteOptions) -> Plan:
    """Raises pytest.UsageError, whose message says which option to fix."""
    try:
        endpoints = load_file(options.definition) if options.definition else []
        loaded = [samples.load(spec) for spec in options.samples]
        parity_data = samples.load(options.parity_data, "--sagemaker-parity-data") if options.parity_data else None
    except (EmulatorError, samples.SampleError) as exc:
        raise pytest.UsageError(str(exc)) from None
    targets = _image_targets(options.images, options.model_data, env_mapping(options.env))
    for endpoint in endpoints:
        targets += [Target(f"{endpoint.name}/{c.hostname}", c.image, c.model_data, c.environment, endpoint, position)
                    for position, c in enumerate(endpoint.containers)]
    pipelines = [e for e in endpoints if e.is_pipeline and e.mode == "Serial"]
    return Plan(targets, loaded, pipelines, options.definition, options.startup_timeout, parity_data)


def _image_targets(images: list[str], model_data: list[str], environment: dict[str, str]) -> list[Target]:
    if len(model_data) not in (0, 1, len(images)):
        raise pytest.UsageError(
            f"{len(model_data)} --sagemaker-model-data for {len(images)} --sagemaker-image. Fix: give one per image, "
            "in the same order, or one for all (a pipeline definition names its own ModelDataUrl).")
    missing = [path for path in model_data if not Path(path).exists()]
    if missing:
        raise pytest.UsageError(f"--sagemaker-model-data {missing[0]}: no such file or folder. "
                                "Fix: give a model.tar.gz or the folder to mount at /opt/ml/model.")
    per_image = model_data * len(images) if len(model_data) == 1 else model_data or [None] * len(images)
    return [Target(image, image, data, environment) for image, data in zip(images, per_image, strict=True)]
