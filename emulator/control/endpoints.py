"""CreateEndpoint, DescribeEndpoint, UpdateEndpoint, UpdateEndpointWeightsAndCapacities, DeleteEndpoint,
ListEndpoints. The containers themselves are the lifecycle's (emulator.control.lifecycle).

An endpoint records what it deployed (`Deployed`: each variant with its weight and a copy of its model),
so it runs, restarts and describes itself even after its config or models are deleted.

DescribeEndpoint on a Creating or Updating endpoint may wait (`describe_wait` seconds, `serve
--describe-wait`) for the status to change before answering: a waiter's first call then returns the
moment the containers are healthy instead of 30 s later.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from emulator.control import resources
from emulator.control.deployment import Policy
from emulator.control.errors import ValidationException, already_exists
from emulator.control.lifecycle import wait_for
from emulator.control.operations import operation
from emulator.control.plane import ENDPOINT, ENDPOINT_CONFIG, MODEL, ControlPlane, arn, now
from emulator.control.records import IN_PROGRESS, DeployedVariant, Deployment, EndpointRecord, EndpointRecords

# How long a DescribeEndpoint may wait by default: under botocore's 60-s read timeout, so no client retries it,
# and long enough that a waiter's first call sees most containers healthy rather than sleeping its 30 s.
DEFAULT_DESCRIBE_WAIT = 45.0


def deployment(plane: ControlPlane, config_name: str) -> Deployment:
    """What an endpoint runs for a config: its variants, each with a copy of its model."""
    config = resources.find(plane, ENDPOINT_CONFIG, config_name)["Describe"]
    variants = []
    shadows = config.get("ShadowProductionVariants", [])
    for variant in config["ProductionVariants"] + shadows:
        # No ModelName: the variant hosts inference components (emulator.control.components).
        model = resources.find(plane, MODEL, variant["ModelName"]) if variant.get("ModelName") else {"Describe": None}
        variants.append(DeployedVariant(variant["VariantName"], variant["InitialVariantWeight"],
                                        variant.get("InitialInstanceCount", 1), model["Describe"],
                                        variant.get("ContainerStartupHealthCheckTimeoutInSeconds"),
                                        variant.get("InstanceType"), model.get("Source"), variant in shadows,
                                        variant.get("ServerlessConfig")))
    return Deployment(config["EndpointConfigName"], tuple(variants), config.get("AsyncInferenceConfig"),
                      config.get("DataCaptureConfig"))


@operation("CreateEndpoint")
def create_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    records = EndpointRecords(plane.store)
    name = request["EndpointName"]
    if records.get(name) is not None:
        raise already_exists("endpoint", arn(ENDPOINT, name))
    tags = list(request.get("Tags") or [])
    resources.check_tag_keys([tag.get("Key", "") for tag in tags])
    record = EndpointRecord.new(name, deployment(plane, request["EndpointConfigName"]), now(), tags,
                                request.get("DeploymentConfig"))
    if not records.insert(record):
        raise already_exists("endpoint", record.arn)
    plane.lifecycle.create(name)
    return {"EndpointArn": record.arn}


@operation("DescribeEndpoint")
def describe_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    record = wait_for(plane, name, IN_PROGRESS, plane.describe_wait) if plane.describe_wait else None
    return (record or EndpointRecords(plane.store).find(name)).describe(plane.lifecycle.max_instances)


@operation("UpdateEndpoint")
def update_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    record = _in_service(plane, name, "update")
    pending = deployment(plane, request["EndpointConfigName"])
    was_async = bool(record.deployed.async_config)
    if bool(pending.async_config) != was_async:
        change = "removed from" if was_async else "added to"
        raise ValidationException(f"The AsyncInferenceConfig parameter cannot be {change} endpoint {name}. "
                                  "Fix: create a new endpoint to change whether it is asynchronous.")
    EndpointRecords(plane.store).put(record.with_status("Updating", record.failure_reason, now(), pending=pending,
                                                        deployment_config=_deployment_config(record, request, pending)))
    plane.lifecycle.update(name)
    return {"EndpointArn": record.arn}


def _deployment_config(record: EndpointRecord, request: dict[str, Any], pending: Deployment) -> dict[str, Any] | None:
    """The update's DeploymentConfig (the last one when RetainDeploymentConfig says so), checked as SageMaker
    checks it against the new fleet; it is the endpoint's LastDeploymentConfig from now on."""
    config = request.get("DeploymentConfig")
    if config is None and request.get("RetainDeploymentConfig"):
        config = record.deployment_config
    policy = Policy.of(config)
    problem = policy.problem(sum(variant.instance_count or 1 for variant in pending.variants)) if policy else None
    if problem is not None:
        raise ValidationException(f"{problem} Fix: change DeploymentConfig.BlueGreenUpdatePolicy."
                                  "TrafficRoutingConfiguration.")
    return config


@operation("UpdateEndpointWeightsAndCapacities")
def update_weights(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    record = _in_service(plane, name, "update")
    variants = {variant.name: variant for variant in record.deployed.variants}
    for index, desired in enumerate(request["DesiredWeightsAndCapacities"], start=1):
        variant = variants.get(desired["VariantName"])
        if variant is None:
            raise ValidationException(f"Value '{desired['VariantName']}' at 'desiredWeightsAndCapacities.{index}.member."
                                      f"variantName' is not a variant of endpoint {name}; its variants are: "
                                      f"{', '.join(variants)}.")
        variants[variant.name] = replace(variant, weight=desired.get("DesiredWeight", variant.weight),
                                         instance_count=desired.get("DesiredInstanceCount", variant.instance_count))
    deployed = replace(record.deployed, variants=tuple(variants.values()))
    EndpointRecords(plane.store).put(replace(record, deployed=deployed, modified=now()))
    plane.lifecycle.reweigh(name)
    return {"EndpointArn": record.arn}


@operation("DeleteEndpoint")
def delete_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    records = EndpointRecords(plane.store)
    record = records.find(name)
    records.put(replace(record, status="Deleting", modified=now()))
    plane.lifecycle.delete(name)
    return {}


@operation("ListEndpoints")
def list_endpoints(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    page, token = resources.listing(plane, ENDPOINT, request, name_field="EndpointName", status_field="EndpointStatus",
                                    members=("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime",
                                             "EndpointStatus"))
    return {"Endpoints": page, **({"NextToken": token} if token else {})}


def _in_service(plane: ControlPlane, name: str, verb: str) -> EndpointRecord:
    record = EndpointRecords(plane.store).find(name)
    if record.in_progress:
        raise ValidationException(f'Cannot {verb} in-progress endpoint "{record.arn}".')
    if record.status != "InService":
        raise ValidationException(f'Cannot {verb} endpoint "{record.arn}" in status {record.status}. '
                                  "Fix: a Failed endpoint can only be deleted; delete it and create it again.")
    return record
