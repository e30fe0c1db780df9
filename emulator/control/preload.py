"""Definitions (YAML/JSON files, dicts) as a preload: each of their endpoints becomes a model, an endpoint
config (one variant, AllTraffic) and an endpoint of the same name, created through the control plane,
so DescribeEndpoint and ListEndpoints show them as any other."""

from __future__ import annotations

from typing import Any

from emulator.control.plane import ENDPOINT, ENDPOINT_CONFIG, MODEL, ControlPlane, key
from emulator.definition import EndpointDefinition

VARIANT = "AllTraffic"


def requests(definition: EndpointDefinition) -> list[tuple[str, dict[str, Any]]]:
    """The CreateModel, CreateEndpointConfig and CreateEndpoint calls that deploy a definition's endpoint."""
    name = definition.name
    containers = [{"ContainerHostname": c.hostname, "Image": c.image, "Environment": dict(c.environment),
                   **({"ModelDataUrl": c.model_data} if c.model_data else {}),
                   **({"Mode": "MultiModel"} if c.multi_model else {})} for c in definition.containers]
    model = {"ModelName": name, "InferenceExecutionConfig": {"Mode": definition.mode},
             "EnableNetworkIsolation": definition.network_isolation,
             **({"Containers": containers} if definition.is_pipeline else {"PrimaryContainer": containers[0]})}
    variant = {"VariantName": VARIANT, "ModelName": name, "InitialInstanceCount": 1, "InitialVariantWeight": 1.0}
    if definition.startup_timeout:
        variant["ContainerStartupHealthCheckTimeoutInSeconds"] = int(definition.startup_timeout)
    if definition.instance_type:
        variant["InstanceType"] = definition.instance_type
    return [("CreateModel", model),
            ("CreateEndpointConfig", {"EndpointConfigName": name, "ProductionVariants": [variant]}),
            ("CreateEndpoint", {"EndpointName": name, "EndpointConfigName": name})]


def forget(plane: ControlPlane, definitions: list[EndpointDefinition]) -> None:
    """Drop from the state what a definition is about to create again (its file may have changed since);
    called before the state's endpoints are brought back, so none of these starts for nothing."""
    for definition in definitions:
        for kind in (ENDPOINT, ENDPOINT_CONFIG, MODEL):
            plane.store.delete(kind, key(definition.name))
        plane.store.set_serving(key(definition.name), None)


def preload(plane: ControlPlane, definitions: list[EndpointDefinition]) -> None:
    """Create the definitions' endpoints; they start in the background like any CreateEndpoint."""
    for definition in definitions:
        (_, model), *deployment = requests(definition)
        plane.call("CreateModel", model, validate=False)
        with plane.lock:  # the file it came from: its messages and container reuse name it
            document = plane.store.get(MODEL, key(definition.name))
            plane.store.put(MODEL, key(definition.name), {**document, "Source": definition.source})
        for operation, request in deployment:
            plane.call(operation, request, validate=False)
