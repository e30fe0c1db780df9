"""CreateEndpointConfig, DescribeEndpointConfig, DeleteEndpointConfig, ListEndpointConfigs.

A config names its models; they must exist when it is created. Deleting a config an endpoint uses is
allowed, as in SageMaker (the SDK deletes the config before the endpoint): endpoints keep what they deployed.
"""

from __future__ import annotations

from typing import Any

from emulator.aws.s3 import S3Error, S3Url
from emulator.control import resources, serverless
from emulator.control.errors import ValidationException
from emulator.control.operations import operation
from emulator.control.plane import ENDPOINT_CONFIG, MODEL, ControlPlane, arn, now

DEFAULT_WEIGHT = 1.0


@operation("CreateEndpointConfig")
def create_endpoint_config(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["EndpointConfigName"]
    variants = request["ProductionVariants"]
    shadows = request.get("ShadowProductionVariants") or []
    if shadows and (len(variants) != 1 or len(shadows) != 1):
        raise ValidationException(f"Endpoint config {name} has {len(variants)} production and {len(shadows)} shadow "
                                  "variants; with ShadowProductionVariants it must have exactly one of each. Fix: one "
                                  "production variant and one shadow variant.")
    seen: set[str] = set()
    listed = [("productionVariants", v) for v in variants] + [("shadowProductionVariants", v) for v in shadows]
    for index, (member, variant) in enumerate(listed, start=1):
        where = f"{member}.{index if member == 'productionVariants' else index - len(variants)}.member"
        if variant["VariantName"] in seen:
            raise ValidationException(f"Value '{variant['VariantName']}' at '{where}.variantName' is used by another "
                                      "production variant of this config. Fix: give each variant its own name.")
        seen.add(variant["VariantName"])
        if bool(variant.get("ModelName")) != bool(variants[0].get("ModelName")):
            raise ValidationException(f"Value null at '{where}.modelName' (or at the first variant's): an endpoint hosts "
                                      "either models or inference components. Fix: give every production variant a "
                                      "ModelName, or none (its inference components then name their models).")
        if variant.get("ModelName"):
            resources.find(plane, MODEL, variant["ModelName"])  # Could not find model "arn..."
    serverless.check_config(request, lambda model: resources.find(plane, MODEL, model)["Describe"])
    if "AsyncInferenceConfig" in request:
        _check_async(request["AsyncInferenceConfig"]["OutputConfig"])
    if "DataCaptureConfig" in request:
        _check_s3_url(request["DataCaptureConfig"].get("DestinationS3Uri"), "DataCaptureConfig.DestinationS3Uri")
    describe = {member: value for member, value in request.items() if member != "Tags"}
    describe["ProductionVariants"] = [{"InitialVariantWeight": DEFAULT_WEIGHT, **variant} for variant in variants]
    if shadows:
        describe["ShadowProductionVariants"] = [{"InitialVariantWeight": DEFAULT_WEIGHT, **variant} for variant in shadows]
    describe.update(EndpointConfigArn=arn(ENDPOINT_CONFIG, name), CreationTime=now())
    resources.create(plane, ENDPOINT_CONFIG, name, describe, request)
    return {"EndpointConfigArn": describe["EndpointConfigArn"]}


def _check_async(output: dict[str, Any]) -> None:
    """The emulator writes asynchronous answers to S3 by s3:// URL (emulator.asynchronous)."""
    where = "asyncInferenceConfig.outputConfig"
    if not output.get("S3OutputPath"):
        raise ValidationException(f"Value null at '{where}.s3OutputPath': the emulator writes every asynchronous "
                                  "answer to S3OutputPath. Fix: set it to an s3://bucket/prefix URL.")
    for member in ("S3OutputPath", "S3FailurePath"):
        if output.get(member) is not None:
            _check_s3_url(output[member], f"AsyncInferenceConfig.OutputConfig.{member}")


def _check_s3_url(url: str, field: str) -> None:
    try:
        S3Url.parse(url, field)
    except S3Error as error:
        raise ValidationException(f"{error} (the emulator writes to s3:// URLs only)") from None


resources.register_describe_delete_list(ENDPOINT_CONFIG, "EndpointConfig",
                                        ("EndpointConfigName", "EndpointConfigArn", "CreationTime"))
