"""A user's deploy script, unchanged, tested against the emulator: the `sagemaker_environment` fixture
points AWS_ENDPOINT_URL (and dummy credentials) at it, so the script's own boto3 clients land there."""

import boto3

IMAGE = "sagemaker-emulator/echo:1"


def deploy_and_test(name: str) -> bytes:
    """What a deploy script does: create the model, config and endpoint, wait, predict, clean up."""
    sagemaker, runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
    sagemaker.create_model(ModelName=name, PrimaryContainer={"Image": IMAGE},
                           ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole")
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name)
    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,2,3")["Body"].read()
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)
    return answer


def test_the_deploy_script_runs_unchanged(sagemaker_environment):
    assert deploy_and_test("my-model") == b"1,2,3"
