"""What SageMaker hands each serving container of a model: its port, and the environment that says so.

The emulator's endpoints and the Kubernetes export both start containers this way.
"""

from __future__ import annotations

from emulator.definition import EndpointDefinition

SINGLE_CONTAINER_PORT = 8080
PIPELINE_FIRST_PORT = 9081  # not 8080, so an image that ignores SAGEMAKER_BIND_TO_PORT is caught
SAFE_PORT_RANGE = "9000-9999"


def container_port(definition: EndpointDefinition, index: int) -> int:
    """A single container listens on 8080; a pipeline's get one port each from the safe range."""
    return PIPELINE_FIRST_PORT + index if definition.is_pipeline else SINGLE_CONTAINER_PORT


def serving_environment(definition: EndpointDefinition, index: int) -> dict[str, str]:
    """The container's own Environment, plus in a pipeline SAGEMAKER_BIND_TO_PORT and SAGEMAKER_SAFE_PORT_RANGE,
    and for a multi-model container SAGEMAKER_MULTI_MODEL (developer guide, build-multi-model-build-container)."""
    environment = dict(definition.containers[index].environment)
    if definition.containers[index].multi_model:
        environment["SAGEMAKER_MULTI_MODEL"] = "true"
    if definition.is_pipeline:
        environment.update(SAGEMAKER_BIND_TO_PORT=str(container_port(definition, index)),
                           SAGEMAKER_SAFE_PORT_RANGE=SAFE_PORT_RANGE)
    return environment
