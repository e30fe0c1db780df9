"""Application Auto Scaling on the emulator's port, with real boto3 against real containers: a variant registered
as a scalable target with a target-tracking policy on SageMakerVariantInvocationsPerInstance goes from 1 to 3
instances under load, with no failed request, and back to 1 when the load stops; bad input gets the service's
errors."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from emulator.api import Emulator
from tests.conftest import ECHO_IMAGE
from tests.control.conftest import clients, unique  # noqa: F401 - a fixture
from tests.reliability.support import wait_for
from tests.test_instance_counts import Load

pytestmark = pytest.mark.docker
FAST = {"Delay": 1, "MaxAttempts": 90}
TIME_SCALE = 0.02  # a minute's datapoint every 1.2 s: out after 3.6 s above the target, in after 18 s below it
PROGRESS: list[str] = []


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(startup_timeout=60, invocation_timeout=5, time_scale=TIME_SCALE,
                  progress=PROGRESS.append) as running:
        running.serve()
        yield running


def instances(sm: Any, endpoint: str) -> int:
    return sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]["CurrentInstanceCount"]


def test_an_auto_scaled_variant_goes_from_1_to_3_instances_under_load_and_back(example_images, emulator, unique):
    sm, runtime = clients(emulator.url, "sagemaker"), clients(emulator.url, "sagemaker-runtime")
    scaling = clients(emulator.url, "application-autoscaling")
    endpoint = unique("scaled")
    sm.create_model(ModelName=endpoint, PrimaryContainer={"Image": ECHO_IMAGE,
                                                          "Environment": {"ECHO_DELAY_SECONDS": "0.02"}})
    sm.create_endpoint_config(EndpointConfigName=endpoint, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": endpoint, "InitialInstanceCount": 1,
         "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=endpoint)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig=FAST)
    resource = f"endpoint/{endpoint}/variant/AllTraffic"
    scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource, MinCapacity=1, MaxCapacity=3,
                                     ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    scaling.put_scaling_policy(
        PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            # Two invocations per instance per (1.2-s) minute: any steady load is well above it.
            "TargetValue": 2.0, "ScaleOutCooldown": 60, "ScaleInCooldown": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"][0]["ResourceId"] == \
        resource
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=resource)["ScalingPolicies"]
    assert [policy["PolicyName"] for policy in policies] == ["invocations"]

    with Load(runtime, endpoint) as load:
        wait_for(lambda: instances(sm, endpoint) == 3, 90, "3 instances under load")
        load.until(len(load.answered) + 50)  # the three copies answer
    assert load.failures == []
    assert sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]["DesiredInstanceCount"] == 3
    assert any(line.startswith(f"scaled AllTraffic of {endpoint} from 1 to 3 instances (") for line in PROGRESS), \
        PROGRESS

    wait_for(lambda: instances(sm, endpoint) == 1, 120, "back to 1 instance without load")
    activities = scaling.describe_scaling_activities(ServiceNamespace="sagemaker", ResourceId=resource)
    changes = [activity["Description"] for activity in activities["ScalingActivities"]
               if activity["StatusCode"] == "Successful"]
    assert changes == ["Setting desired instance count to 1.", "Setting desired instance count to 3."]  # newest first

    scaling.delete_scaling_policy(PolicyName="invocations", ServiceNamespace="sagemaker", ResourceId=resource,
                                  ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    scaling.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource,
                                       ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    sm.delete_endpoint(EndpointName=endpoint)


def test_bad_application_auto_scaling_input_gets_its_errors(emulator):
    scaling = clients(emulator.url, "application-autoscaling")
    with pytest.raises(ClientError) as missing:
        scaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/x/variant/y",
                                         ScalableDimension="sagemaker:variant:NoSuchDimension")
    assert missing.value.response["Error"]["Code"] == "ValidationException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as unknown:
        scaling.delete_scaling_policy(PolicyName="none", ServiceNamespace="sagemaker",
                                      ResourceId="endpoint/x/variant/y",
                                      ScalableDimension="sagemaker:variant:DesiredInstanceCount")
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
