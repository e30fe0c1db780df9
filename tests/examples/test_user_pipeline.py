"""A user's test file: the plugin starts the pipeline (once per session), boto3 calls it."""

import pytest


@pytest.mark.sagemaker_pipeline("../../example_containers/pipeline.yaml")  # relative to this file
def test_a_gentoo_is_recognised(sagemaker_pipeline):
    client = sagemaker_pipeline.boto3_client()
    answer = client.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv",
                                    Body=b"Biscoe,50.0,15.2,218,5700,male")
    assert answer["Body"].read().strip() == b"Gentoo"


@pytest.mark.sagemaker_pipeline("../../example_containers/pipeline.yaml")
def test_each_hop_is_traced(sagemaker_pipeline):
    result = sagemaker_pipeline["penguins"].invoke(b"Dream,46.5,17.9,192,3500,female", content_type="text/csv")
    assert [hop.container for hop in result.hops] == ["preprocessor", "model"]
