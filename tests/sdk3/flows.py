"""The SageMaker Python SDK v3's deploy flows, unchanged, as a user's script runs them: run by
tests/test_sagemaker_sdk_v3.py in the SDK v3's own virtualenv (v3 cannot be installed beside v2), in the
environment `serve` prints and nothing else. Prints what the test checks: a line `RESULT {json}`.

    python flows.py core|builder NAME single|pipeline PREPROCESSOR_MODEL_DATA MODEL_DATA
"""

from __future__ import annotations

import json
import sys
import time

ROLE = "arn:aws:iam::123456789012:role/emulator"
INSTANCE = "ml.m5.large"
ROW = "Biscoe,50.0,15.2,218,5700,male"
RESULT = "RESULT "


def containers(preprocessor_data: str, model_data: str) -> list:
    from sagemaker.core.shapes import ContainerDefinition

    return [ContainerDefinition(image="sagemaker-emulator/example-preprocessor:1", model_data_url=preprocessor_data,
                                environment={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}),
            ContainerDefinition(image="sagemaker-emulator/example-model:1", model_data_url=model_data,
                                environment={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"})]


def core_resources(name: str, shape: str, preprocessor_data: str, model_data: str) -> dict:
    """sagemaker-core's Model, EndpointConfig and Endpoint: create, wait, invoke, delete; `shape` single (the
    example preprocessor) or pipeline (preprocessor and model, Serial)."""
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model
    from sagemaker.core.shapes import InferenceExecutionConfig, ProductionVariant

    pair = containers(preprocessor_data, model_data)
    if shape == "pipeline":
        model = Model.create(model_name=name, containers=pair, execution_role_arn=ROLE,
                             inference_execution_config=InferenceExecutionConfig(mode="Serial"))
    else:
        model = Model.create(model_name=name, primary_container=pair[0], execution_role_arn=ROLE)
    config = EndpointConfig.create(endpoint_config_name=name, production_variants=[ProductionVariant(
        variant_name="AllTraffic", model_name=name, initial_instance_count=1, instance_type=INSTANCE)])
    started = time.perf_counter()
    endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
    endpoint.wait_for_status(target_status="InService", poll=1, timeout=300)
    result = invoked(endpoint, started)
    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=120)
    config.delete()
    model.delete()
    return result


def model_builder(name: str, shape: str, preprocessor_data: str, model_data: str) -> dict:
    """ModelBuilder in SAGEMAKER_ENDPOINT mode, deploy(wait=False) then wait_for_status: single (an image of the
    user's own and its model data: ModelBuilder's passthrough build, with the caller's role) or pipeline
    (ModelBuilder(model=[two core Models]), the SDK v3's inference pipeline)."""
    from sagemaker.core.resources import Model
    from sagemaker.serve.mode.function_pointers import Mode
    from sagemaker.serve.model_builder import ModelBuilder

    pair = containers(preprocessor_data, model_data)
    if shape == "pipeline":
        parts = [Model.create(model_name=f"{name}-{index}", primary_container=container, execution_role_arn=ROLE)
                 for index, container in enumerate(pair)]
        builder = ModelBuilder(model=parts, role_arn=ROLE, instance_type=INSTANCE, mode=Mode.SAGEMAKER_ENDPOINT)
    else:
        parts = []
        # no role_arn: the SDK takes the caller's own role (STS GetCallerIdentity, then IAM GetRole)
        builder = ModelBuilder(image_uri=pair[0].image, s3_model_data_url=preprocessor_data,
                               env_vars=pair[0].environment, instance_type=INSTANCE, mode=Mode.SAGEMAKER_ENDPOINT)
    built = builder.build(model_name=name)
    started = time.perf_counter()
    endpoint = builder.deploy(endpoint_name=name, initial_instance_count=1, wait=False)
    endpoint.wait_for_status(target_status="InService", poll=1, timeout=300)
    result = invoked(endpoint, started)
    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=120)
    for model in [built, *parts]:
        model.delete()
    return {**result, "containers": len(built.containers) if isinstance(built.containers, list) else 1,
            "role": built.execution_role_arn}


def invoked(endpoint, started: float) -> dict:
    """What the test checks: the endpoint's answer to one penguin, and the seconds from create to InService."""
    waited = time.perf_counter() - started
    answer = endpoint.invoke(body=ROW, content_type="text/csv", accept="text/csv")
    return {"answer": answer.body.read().decode(), "variant": answer.invoked_production_variant, "waited": waited}


def inference_component(name: str, shape: str, preprocessor_data: str, model_data: str) -> dict:
    """sagemaker-core's InferenceComponent on an endpoint of no model: the endpoint, the component of the example
    preprocessor (its Container), InferenceComponent.create and wait_for_status, Endpoint.invoke naming it, and
    the deletes (`shape`: single only)."""
    from sagemaker.core.resources import Endpoint, EndpointConfig, InferenceComponent
    from sagemaker.core.shapes import (InferenceComponentComputeResourceRequirements,
                                       InferenceComponentContainerSpecification, InferenceComponentRuntimeConfig,
                                       InferenceComponentSpecification, ProductionVariant)

    config = EndpointConfig.create(endpoint_config_name=name, execution_role_arn=ROLE, production_variants=[
        ProductionVariant(variant_name="AllTraffic", initial_instance_count=1, instance_type="ml.m5.xlarge")])
    endpoint = Endpoint.create(endpoint_name=name, endpoint_config_name=name)
    endpoint.wait_for_status(target_status="InService", poll=1, timeout=300)
    started = time.perf_counter()
    preprocessor = containers(preprocessor_data, model_data)[0]
    component = InferenceComponent.create(
        inference_component_name=name, endpoint_name=name, variant_name="AllTraffic",
        specification=InferenceComponentSpecification(
            container=InferenceComponentContainerSpecification(
                image=preprocessor.image, artifact_url=preprocessor_data, environment=preprocessor.environment),
            compute_resource_requirements=InferenceComponentComputeResourceRequirements(
                number_of_cpu_cores_required=1, min_memory_required_in_mb=1024)),
        runtime_config=InferenceComponentRuntimeConfig(copy_count=2))
    component.wait_for_status(target_status="InService", poll=1, timeout=300)
    waited = time.perf_counter() - started
    answer = endpoint.invoke(body=ROW, content_type="text/csv", accept="text/csv", inference_component_name=name)
    result = {"answer": answer.body.read().decode(), "variant": answer.invoked_production_variant, "waited": waited,
              "copies": component.runtime_config.current_copy_count}
    component.delete()
    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=120)
    config.delete()
    return result


FLOWS = {"core": core_resources, "builder": model_builder, "component": inference_component}

if __name__ == "__main__":
    flow, *arguments = sys.argv[1:]
    # on a line of its own: the SDK's progress panels end without a newline
    print(f"\n{RESULT}{json.dumps(FLOWS[flow](*arguments))}", flush=True)
