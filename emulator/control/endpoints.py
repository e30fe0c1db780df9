"""CreateEndpoint, DescribeEndpoint, UpdateEndpoint, UpdateEndpointWeightsAndCapacities, DeleteEndpoint,
ListEndpoints. The containers themselves are the lifecycle's (emulator.control.lifecycle).

An endpoint records what it deployed (`Deployed`: each variant with its weight and a copy of its model),
so it runs, restarts and describes itself even after its config or models are deleted.

DescribeEndpoint on a Creating or Updating endpoint may wait (`describe_wait` seconds, `serve
--describe-wait`) for the status to change before answering: a waiter's first call then returns the
moment the containers are healthy instead of 30 s later.
"""

from __future__ import annotations

from typing import Any

from emulator.control import resources
from emulator.control.errors import ValidationException, already_exists
from emulator.control.lifecycle import wait_for
from emulator.control.operations import operation
from emulator.control.plane import ENDPOINT, ENDPOINT_CONFIG, MODEL, ControlPlane, arn, key, now

# SystemUpdating: coming back after a restart of the emulator (SageMaker's status for maintenance).
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating")
# How long a DescribeEndpoint may wait by default: under botocore's 60-s read timeout, so no client retries it,
# and long enough that a waiter's first call sees most containers healthy rather than sleeping its 30 s.
DEFAULT_DESCRIBE_WAIT = 45.0


def deployment(plane: ControlPlane, config_name: str) -> dict[str, Any]:
    """What an endpoint runs for a config: its variants, each with a copy of its model."""
    config = resources.find(plane, ENDPOINT_CONFIG, config_name)["Describe"]
    variants = []
    shadows = config.get("ShadowProductionVariants", [])
    for variant in config["ProductionVariants"] + shadows:
        model = resources.find(plane, MODEL, variant["ModelName"])
        variants.append({"VariantName": variant["VariantName"], "Weight": variant["InitialVariantWeight"],
                         "InstanceCount": variant.get("InitialInstanceCount", 1),
                         "StartupTimeout": variant.get("ContainerStartupHealthCheckTimeoutInSeconds"),
                         "InstanceType": variant.get("InstanceType"),
                         "Model": model["Describe"], "Source": model.get("Source"), "Shadow": variant in shadows})
    return {"EndpointConfigName": config["EndpointConfigName"], "Variants": variants,
            "AsyncInferenceConfig": config.get("AsyncInferenceConfig"),
            "DataCaptureConfig": config.get("DataCaptureConfig")}


@operation("CreateEndpoint")
def create_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    endpoint_arn = arn(ENDPOINT, name)
    if plane.store.get(ENDPOINT, key(name)) is not None:
        raise already_exists("endpoint", endpoint_arn)
    deployed = deployment(plane, request["EndpointConfigName"])
    created = now()
    describe = {"EndpointName": name, "EndpointArn": endpoint_arn, "EndpointConfigName": request["EndpointConfigName"],
                "EndpointStatus": "Creating", "CreationTime": created, "LastModifiedTime": created}
    resources.create(plane, ENDPOINT, name, describe, request, Deployed=deployed, Pending=None)
    plane.lifecycle.create(name)
    return {"EndpointArn": endpoint_arn}


@operation("DescribeEndpoint")
def describe_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    document = wait_for(plane, name, IN_PROGRESS, plane.describe_wait) if plane.describe_wait else None
    document = document or resources.find(plane, ENDPOINT, name)
    describe = dict(document["Describe"])
    if document["Deployed"].get("AsyncInferenceConfig"):
        describe["AsyncInferenceConfig"] = document["Deployed"]["AsyncInferenceConfig"]
    capture = document["Deployed"].get("DataCaptureConfig")
    if capture:
        describe["DataCaptureConfig"] = _capture_summary(capture)
    if describe["EndpointStatus"] not in ("Creating", "Failed"):
        for member, shadow in (("ProductionVariants", False), ("ShadowProductionVariants", True)):
            summaries = [_summary(variant, describe["LastModifiedTime"])
                         for variant in document["Deployed"]["Variants"] if variant.get("Shadow", False) == shadow]
            if summaries:
                describe[member] = summaries
    return describe


def _capture_summary(config: dict[str, Any]) -> dict[str, Any]:
    enabled = config.get("EnableCapture", True)
    return {"EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
            "CurrentSamplingPercentage": config["InitialSamplingPercentage"],
            "DestinationS3Uri": config["DestinationS3Uri"], **({"KmsKeyId": config["KmsKeyId"]} if "KmsKeyId" in config else {})}


def _summary(variant: dict[str, Any], since: float) -> dict[str, Any]:
    containers = variant["Model"].get("Containers") or [variant["Model"]["PrimaryContainer"]]
    return {"VariantName": variant["VariantName"],
            "DeployedImages": [{"SpecifiedImage": c["Image"], "ResolvedImage": c["Image"], "ResolutionTime": since}
                               for c in containers],
            "CurrentWeight": variant["Weight"], "DesiredWeight": variant["Weight"],
            "CurrentInstanceCount": variant["InstanceCount"], "DesiredInstanceCount": variant["InstanceCount"]}


@operation("UpdateEndpoint")
def update_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    document = _in_service(plane, name, "update")
    pending = deployment(plane, request["EndpointConfigName"])
    was_async = bool(document["Deployed"].get("AsyncInferenceConfig"))
    if bool(pending["AsyncInferenceConfig"]) != was_async:
        change = "removed from" if was_async else "added to"
        raise ValidationException(f"The AsyncInferenceConfig parameter cannot be {change} endpoint {name}. "
                                  "Fix: create a new endpoint to change whether it is asynchronous.")
    document["Pending"] = pending
    document["Describe"].update(EndpointStatus="Updating", LastModifiedTime=now())
    resources.save(plane, ENDPOINT, document, name)
    plane.lifecycle.update(name)
    return {"EndpointArn": document["Describe"]["EndpointArn"]}


@operation("UpdateEndpointWeightsAndCapacities")
def update_weights(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    document = _in_service(plane, name, "update")
    variants = {variant["VariantName"]: variant for variant in document["Deployed"]["Variants"]}
    for index, desired in enumerate(request["DesiredWeightsAndCapacities"], start=1):
        variant = variants.get(desired["VariantName"])
        if variant is None:
            raise ValidationException(f"Value '{desired['VariantName']}' at 'desiredWeightsAndCapacities.{index}.member."
                                      f"variantName' is not a variant of endpoint {name}; its variants are: "
                                      f"{', '.join(variants)}.")
        variant["Weight"] = desired.get("DesiredWeight", variant["Weight"])
        variant["InstanceCount"] = desired.get("DesiredInstanceCount", variant["InstanceCount"])
    document["Describe"]["LastModifiedTime"] = now()
    resources.save(plane, ENDPOINT, document, name)
    plane.lifecycle.reweigh(name)
    return {"EndpointArn": document["Describe"]["EndpointArn"]}


@operation("DeleteEndpoint")
def delete_endpoint(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointName"]
    document = resources.find(plane, ENDPOINT, name)
    document["Describe"].update(EndpointStatus="Deleting", LastModifiedTime=now())
    resources.save(plane, ENDPOINT, document, name)
    plane.lifecycle.delete(name)
    return {}


@operation("ListEndpoints")
def list_endpoints(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    page, token = resources.listing(plane, ENDPOINT, request, name_field="EndpointName", status_field="EndpointStatus",
                                    members=("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime",
                                             "EndpointStatus"))
    return {"Endpoints": page, **({"NextToken": token} if token else {})}


def _in_service(plane: ControlPlane, name: str, verb: str) -> dict[str, Any]:
    document = resources.find(plane, ENDPOINT, name)
    status = document["Describe"]["EndpointStatus"]
    endpoint_arn = document["Describe"]["EndpointArn"]
    if status in IN_PROGRESS:
        raise ValidationException(f'Cannot {verb} in-progress endpoint "{endpoint_arn}".')
    if status != "InService":
        raise ValidationException(f'Cannot {verb} endpoint "{endpoint_arn}" in status {status}. '
                                  "Fix: a Failed endpoint can only be deleted; delete it and create it again.")
    return document
