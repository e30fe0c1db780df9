"""What CreateEndpointConfig refuses of a serverless variant (emulator.control.serverless.check_config), as
SageMaker's serverless inference refuses it; an instance-based config is left alone."""

from __future__ import annotations

import pytest

from emulator.control.errors import ValidationException
from emulator.control.serverless import check_config

MODELS = {"plain": {"ModelName": "plain", "PrimaryContainer": {"Image": "echo"}},
          "pipeline": {"ModelName": "pipeline", "Containers": [{"Image": "a"}, {"Image": "b"}]},
          "multi": {"ModelName": "multi", "PrimaryContainer": {"Image": "m", "Mode": "MultiModel"}},
          "vpc": {"ModelName": "vpc", "PrimaryContainer": {"Image": "echo"}, "VpcConfig": {"Subnets": ["s"]}},
          "isolated": {"ModelName": "isolated", "PrimaryContainer": {"Image": "echo"}, "EnableNetworkIsolation": True},
          "private": {"ModelName": "private", "PrimaryContainer": {"Image": "echo",
                                                                    "ImageConfig": {"RepositoryAccessMode": "Vpc"}}}}
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def config(model: str = "plain", serverless: dict | None = None, **more) -> dict:
    variant = {"VariantName": "AllTraffic", "ModelName": model, "ServerlessConfig": serverless or SERVERLESS}
    return {"EndpointConfigName": "c", "ProductionVariants": [{**variant, **more.pop("variant", {})}], **more}


def test_a_plain_serverless_config_and_an_instance_config_pass():
    check_config(config(), MODELS.__getitem__)
    check_config(config(serverless={"MemorySizeInMB": 6144, "MaxConcurrency": 200, "ProvisionedConcurrency": 200}),
                 MODELS.__getitem__)
    instances = {"EndpointConfigName": "c", "DataCaptureConfig": {},
                 "ProductionVariants": [{"VariantName": "a", "ModelName": "multi", "InstanceType": "ml.m5.large"},
                                        {"VariantName": "b", "ModelName": "pipeline", "InstanceType": "ml.m5.large"}]}
    check_config(instances, MODELS.__getitem__)


@pytest.mark.parametrize("request_, words", [
    (config(model="pipeline"), "inference pipelines"),
    (config(model="multi"), "multi-model"),
    (config(model="vpc"), "VPC"),
    (config(model="isolated"), "network isolation"),
    (config(model="private"), "private Docker registries"),
    (config(DataCaptureConfig={"EnableCapture": True}), "data capture"),
    (config(ShadowProductionVariants=[{"VariantName": "s"}]), "shadow variants"),
    (config(AsyncInferenceConfig={"OutputConfig": {}}), "asynchronous inference"),
    (config(variant={"InstanceType": "ml.m5.large"}), "InstanceType"),
    (config(variant={"AcceleratorType": "ml.eia1.medium"}), "AcceleratorType"),
    (config(serverless={"MemorySizeInMB": 2000, "MaxConcurrency": 1}), "multiple of 1024"),
    (config(serverless={"MemorySizeInMB": 1024, "MaxConcurrency": 2, "ProvisionedConcurrency": 3}), "at most MaxConcurrency"),
])
def test_what_serverless_inference_does_not_support_is_refused_with_the_fix(request_, words):
    with pytest.raises(ValidationException) as refused:
        check_config(request_, MODELS.__getitem__)
    assert words in refused.value.message and "Fix:" in refused.value.message


def test_a_serverless_variant_beside_another_is_refused():
    request = config()
    request["ProductionVariants"].append({"VariantName": "b", "ModelName": "plain", "InstanceType": "ml.m5.large"})
    with pytest.raises(ValidationException, match="one production variant"):
        check_config(request, MODELS.__getitem__)
