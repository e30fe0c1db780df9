"""The sagemaker control plane through real boto3, without containers: models, endpoint configs, tags,
list filters and pages, validation as AWS words it, unknown operations."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.conftest import ECHO_IMAGE

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def error_of(call, **members) -> dict:
    with pytest.raises(ClientError) as caught:
        call(**members)
    return caught.value.response["Error"]


def test_model_create_describe_list_delete(sm, unique):
    name = unique("model")
    created = sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE, "Environment": {"A": "1"}},
                              ExecutionRoleArn=f"arn:aws:iam::123456789012:role/any", Tags=[{"Key": "team", "Value": "ml"}])
    assert created["ModelArn"] == f"{ARN}:model/{name}"
    described = sm.describe_model(ModelName=name)
    assert described["PrimaryContainer"] == {"Image": ECHO_IMAGE, "Environment": {"A": "1"}}
    assert described["ModelArn"] == created["ModelArn"] and described["CreationTime"]
    assert name in [m["ModelName"] for m in sm.list_models(NameContains=name)["Models"]]
    assert sm.list_tags(ResourceArn=created["ModelArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.delete_model(ModelName=name)
    assert error_of(sm.describe_model, ModelName=name)["Message"] == f'Could not find model "{ARN}:model/{name}".'


def test_a_pipeline_model_keeps_its_containers_and_mode(sm, unique):
    name = unique("pipeline")
    containers = [{"ContainerHostname": "first", "Image": ECHO_IMAGE}, {"ContainerHostname": "second", "Image": ECHO_IMAGE}]
    sm.create_model(ModelName=name, Containers=containers, InferenceExecutionConfig={"Mode": "Direct"})
    described = sm.describe_model(ModelName=name)
    assert described["Containers"] == containers and described["InferenceExecutionConfig"] == {"Mode": "Direct"}


def test_duplicates_and_missing_resources_are_named_as_sagemaker_names_them(sm, unique):
    model, config = unique("model"), unique("config")
    sm.create_model(ModelName=model, PrimaryContainer={"Image": ECHO_IMAGE})
    error = error_of(sm.create_model, ModelName=model, PrimaryContainer={"Image": ECHO_IMAGE})
    assert error == {"Code": "ValidationException", "Message": f'Cannot create already existing model "{ARN}:model/{model}".'}
    missing = error_of(sm.create_endpoint_config, EndpointConfigName=config,
                       ProductionVariants=[{"VariantName": "v", "ModelName": "no-such-model"}])
    assert missing["Message"] == f'Could not find model "{ARN}:model/no-such-model".'
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{"VariantName": "v", "ModelName": model}])
    again = error_of(sm.create_endpoint_config, EndpointConfigName=config,
                     ProductionVariants=[{"VariantName": "v", "ModelName": model}])
    assert again["Message"] == f'Cannot create already existing endpoint configuration "{ARN}:endpoint-config/{config}".'
    assert error_of(sm.create_endpoint, EndpointName=unique("endpoint"), EndpointConfigName="no-such-config")["Message"] \
        == f'Could not find endpoint configuration "{ARN}:endpoint-config/no-such-config".'
    assert error_of(sm.describe_endpoint, EndpointName="no-such-endpoint")["Message"] \
        == f'Could not find endpoint "{ARN}:endpoint/no-such-endpoint".'
    assert error_of(sm.delete_endpoint, EndpointName="no-such-endpoint")["Code"] == "ValidationException"
    assert error_of(sm.delete_model, ModelName="no-such-model")["Code"] == "ValidationException"


def test_endpoint_config_defaults_and_deletion(sm, unique):
    model, config = unique("model"), unique("config")
    sm.create_model(ModelName=model, PrimaryContainer={"Image": ECHO_IMAGE})
    arn = sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "a", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"},
        {"VariantName": "b", "ModelName": model, "InitialVariantWeight": 3.0}])["EndpointConfigArn"]
    assert arn == f"{ARN}:endpoint-config/{config}"
    variants = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    assert [(v["VariantName"], v["InitialVariantWeight"]) for v in variants] == [("a", 1.0), ("b", 3.0)]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs(NameContains=config)["EndpointConfigs"]] == [config]
    sm.delete_endpoint_config(EndpointConfigName=config)
    assert error_of(sm.describe_endpoint_config, EndpointConfigName=config)["Code"] == "ValidationException"


def test_two_variants_of_one_name_are_refused(sm, unique):
    model = unique("model")
    sm.create_model(ModelName=model, PrimaryContainer={"Image": ECHO_IMAGE})
    error = error_of(sm.create_endpoint_config, EndpointConfigName=unique("config"),
                     ProductionVariants=[{"VariantName": "v", "ModelName": model}, {"VariantName": "v", "ModelName": model}])
    assert "Fix: give each variant its own name" in error["Message"]


def test_list_filters_sort_and_pages(sm, unique):
    prefix = unique("listed")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        sm.create_model(ModelName=name, PrimaryContainer={"Image": ECHO_IMAGE})
    ascending = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in ascending] == names
    newest_first = sm.list_models(NameContains=prefix)["Models"]  # CreationTime, Descending by default
    assert [m["ModelName"] for m in newest_first] == names[::-1]
    first = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2)
    second = sm.list_models(NameContains=prefix, SortBy="Name", SortOrder="Ascending", MaxResults=2, NextToken=first["NextToken"])
    assert [m["ModelName"] for m in first["Models"] + second["Models"]] == names[:4]
    paged = [m["ModelName"] for page in sm.get_paginator("list_models").paginate(
        NameContains=prefix, PaginationConfig={"PageSize": 2}) for m in page["Models"]]
    assert sorted(paged) == names
    created = sm.describe_model(ModelName=names[2])["CreationTime"]  # boto3 sends times in whole seconds
    assert len(sm.list_models(NameContains=prefix, CreationTimeAfter=created - timedelta(hours=1))["Models"]) == 5
    assert sm.list_models(NameContains=prefix, CreationTimeBefore=created - timedelta(hours=1))["Models"] == []
    assert error_of(sm.list_models, NextToken="not-a-token")["Message"].startswith("Invalid pagination token")


def test_tags_are_added_listed_and_deleted(sm, unique):
    model = unique("model")
    arn = sm.create_model(ModelName=model, PrimaryContainer={"Image": ECHO_IMAGE}, Tags=[{"Key": "a", "Value": "1"}])["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "3"}]
    assert error_of(sm.list_tags, ResourceArn=f"{ARN}:model/no-such-model")["Code"] == "ValidationException"


def test_validation_is_the_servers_as_aws_words_it(sm, unique):
    too_long = "m" * 64
    error = error_of(sm.create_model, ModelName=too_long, PrimaryContainer={"Image": ECHO_IMAGE})
    assert error["Message"] == (f"1 validation error detected: Value '{too_long}' at 'modelName' failed to satisfy "
                                "constraint: Member must have length less than or equal to 63")
    error = error_of(sm.create_model, ModelName="bad_name", PrimaryContainer={"Image": ECHO_IMAGE})
    assert "at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern" in error["Message"]
    error = error_of(sm.list_endpoints, SortBy="Size")  # boto3 checks no enums: the server does
    assert "Member must satisfy enum value set: [Name, CreationTime, Status]" in error["Message"]


@pytest.mark.parametrize("model, words", [
    ({"Containers": [{"Image": ECHO_IMAGE}, {"Image": ECHO_IMAGE}], "InferenceExecutionConfig": {"Mode": "Direct"}},
     "Containers[0].ContainerHostname: is missing; in Direct mode"),
    ({"Containers": [{"Image": ECHO_IMAGE, "ContainerHostname": "only"}], "InferenceExecutionConfig": {"Mode": "Direct"}},
     "Direct needs more than one container"),
    ({"Containers": [{"Image": ECHO_IMAGE, "Environment": {f"K{i}": "v" * 1000 for i in range(20)}} for _ in range(2)]},
     "at most 32768 bytes"),
])
def test_create_model_applies_the_definitions_rules_for_direct_mode_and_the_environment(sm, unique, model, words):
    error = error_of(sm.create_model, ModelName=unique("model"), **model)
    assert error["Code"] == "ValidationException" and words in error["Message"]


def test_a_model_the_emulator_cannot_run_is_refused_at_creation(sm, unique):
    error = error_of(sm.create_model, ModelName=unique("model"), PrimaryContainer={
        "Image": ECHO_IMAGE, "Mode": "MultiModel", "ModelDataUrl": "s3://models/one/model.tar.gz"})
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("PrimaryContainer.ModelDataUrl: 's3://models/one/model.tar.gz' is one archive, "
                                       "but a MultiModel container's ModelDataUrl is the prefix its models are under. Fix:")


def test_unknown_operations_and_garbage_get_an_aws_error_never_a_500(emulator, sm):
    assert error_of(sm.list_training_jobs)["Code"] == "UnknownOperationException"
    post = lambda target, body: urllib3.request(  # noqa: E731
        "POST", emulator.url + "/", body=body, headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
    for target, body in [("SageMaker.NoSuchThing", b"{}"), ("SageMaker.CreateModel", b"{not json"),
                         ("SageMaker.CreateModel", b"[1, 2]"), ("SageMaker.CreateModel", json.dumps({"ModelName": 5}).encode()),
                         ("SageMaker.CreateModel", b'{"ModelName": "x", "PrimaryContainer": {"Image": "i"}, "Extra": 1}')]:
        answer = post(target, body)
        assert answer.status == 400, (target, body, answer.data)
        assert json.loads(answer.data)["__type"] in ("UnknownOperationException", "ValidationException")
