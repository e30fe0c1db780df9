"""Multi-model endpoints through real boto3 against the example multi-model container: the first call of a
model loads it (a hop says so), later calls do not, the least recently used ones are unloaded under the
budget, concurrent first calls load once across the front's worker processes, and SageMaker's errors."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from botocore.exceptions import ClientError

from emulator import Emulator
from emulator.multimodel.manager import ModelSettings
from tests.conftest import ECHO_IMAGE, EXAMPLES
from tests.reliability.support import client, wait_for

pytestmark = pytest.mark.docker
IMAGE = "sagemaker-emulator/example-multimodel:1"
MODELS = EXAMPLES / "artifacts" / "multimodel"
ROW = b"39.1,18.7,181,3750"
BUDGET, LOAD_TIMEOUT = 2, 3.0


def multi_model(**environment: str) -> dict:
    return {"PrimaryContainer": {"Image": IMAGE, "Mode": "MultiModel", "ModelDataUrl": str(MODELS),
                                 "Environment": environment}}


@pytest.fixture(scope="module")
def emulator(example_images):
    definition = {"Endpoints": {
        "islands": multi_model(),
        "slow": multi_model(MULTIMODEL_LOAD_DELAY_SECONDS="1"),
        "too-slow": multi_model(MULTIMODEL_LOAD_DELAY_SECONDS=str(LOAD_TIMEOUT + 2)),
        "full": multi_model(MULTIMODEL_MAX_MODELS="1", MULTIMODEL_FAIL_LOAD="Torgersen"),  # 507 to a second load
        "single": {"PrimaryContainer": {"Image": ECHO_IMAGE}}}}
    with Emulator(definition, model_settings=ModelSettings(budget=BUDGET, load_timeout=LOAD_TIMEOUT)) as started:
        started.serve()
        yield started


@pytest.fixture(scope="module")
def runtime(emulator):
    return client(emulator.url)


def invoke(runtime, endpoint: str, target: str, body: bytes = ROW) -> tuple[dict, list[dict]]:
    """The answer's JSON body and its trace (the X-Emulator-Trace header's hops)."""
    answer = runtime.invoke_endpoint(EndpointName=endpoint, TargetModel=target, ContentType="text/csv",
                                     Accept="application/json", Body=body)
    return json.loads(answer["Body"].read()), json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])


def actions(hops: list[dict]) -> list[tuple[str, str]]:
    return [(hop["action"], hop["model"]) for hop in hops]


def container_models(emulator, endpoint: str) -> list[dict]:
    url = emulator[endpoint].chain.routes[0].url
    return json.loads(urllib3.request("GET", url + "/models").data)["models"]


def error_of(call, **members) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**members)
    return raised.value.response


def test_the_first_call_loads_the_model_and_later_calls_do_not(emulator, runtime):
    answer, hops = invoke(runtime, "islands", "Torgersen.tar.gz")
    assert answer == {"island": "Torgersen", "predictions": ["Adelie"]}
    assert actions(hops) == [("load", "Torgersen.tar.gz"), ("invoke", "Torgersen.tar.gz")]
    for _ in range(3):
        answer, hops = invoke(runtime, "islands", "Torgersen.tar.gz")
        assert actions(hops) == [("invoke", "Torgersen.tar.gz")] and answer["island"] == "Torgersen"
    loaded = container_models(emulator, "islands")
    # The container knows the model by an opaque name, its files under /opt/ml/models/<name>/model.
    assert [model["modelUrl"] for model in loaded] == [f"/opt/ml/models/{model['modelName']}/model" for model in loaded]
    assert "Torgersen" not in json.dumps(loaded)


def test_the_least_recently_used_model_is_unloaded_over_the_budget(emulator, runtime):
    invoke(runtime, "slow", "Biscoe.tar.gz")
    invoke(runtime, "slow", "Dream.tar.gz")
    invoke(runtime, "slow", "Biscoe.tar.gz")  # Dream is now the least recently used
    _, hops = invoke(runtime, "slow", "Torgersen.tar.gz")
    assert actions(hops) == [("unload", "Dream.tar.gz"), ("load", "Torgersen.tar.gz"), ("invoke", "Torgersen.tar.gz")]
    assert len(container_models(emulator, "slow")) == BUDGET
    _, hops = invoke(runtime, "slow", "Dream.tar.gz")  # loaded again (still unpacked on disk), Biscoe unloaded
    assert actions(hops)[:2] == [("unload", "Biscoe.tar.gz"), ("load", "Dream.tar.gz")]


def test_concurrent_first_calls_load_the_model_once(emulator, runtime):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: invoke(client(emulator.url), "islands", "Dream.tar.gz"), range(8)))
    assert all(answer["island"] == "Dream" for answer, _ in results)
    loads = [hop for _, hops in results for hop in hops if hop["action"] == "load"]
    assert len(loads) == 1, loads


def test_a_restarted_container_has_its_models_loaded_again(emulator, runtime, docker_engine):
    invoke(runtime, "full", "Dream.tar.gz")
    docker_engine.containers.get(emulator["full"].endpoint.containers[0].id).kill()  # the supervisor starts it again
    wait_for(lambda: emulator["full"].health()["primary"]["restarts"] == 1 and emulator["full"].health()["primary"]["healthy"],
             60, "the container started again")
    answer, hops = invoke(runtime, "full", "Dream.tar.gz")  # it forgot the model: 404, then a load
    assert answer["island"] == "Dream"
    assert [(hop["action"], hop["status"]) for hop in hops] == [("invoke", 404), ("load", 200), ("invoke", 200)]


def test_a_container_out_of_room_has_a_model_unloaded_and_the_load_retried(emulator, runtime):
    invoke(runtime, "full", "Biscoe.tar.gz")
    answer, hops = invoke(runtime, "full", "Dream.tar.gz")
    assert answer["island"] == "Dream"
    assert [(hop["action"], hop["model"], hop["status"]) for hop in hops] == [
        ("load", "Dream.tar.gz", 507), ("unload", "Biscoe.tar.gz", 200), ("load", "Dream.tar.gz", 200),
        ("invoke", "Dream.tar.gz", 200)]


def test_a_missing_model_is_a_validation_error_naming_it_and_the_prefix(runtime):
    error = error_of(runtime.invoke_endpoint, EndpointName="islands", TargetModel="Atlantis.tar.gz",
                     ContentType="text/csv", Body=ROW)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationError", 400)
    assert "TargetModel 'Atlantis.tar.gz'" in error["Error"]["Message"] and str(MODELS) in error["Error"]["Message"]


@pytest.mark.parametrize("target", ["../multimodel/Biscoe.tar.gz", "/etc/passwd", "islands/"])
def test_a_target_model_outside_the_prefix_is_refused(runtime, target):
    error = error_of(runtime.invoke_endpoint, EndpointName="islands", TargetModel=target, ContentType="text/csv", Body=ROW)
    assert error["Error"]["Code"] == "ValidationError" and "TargetModel is not usable" in error["Error"]["Message"]


def test_a_model_the_container_fails_to_load_is_a_model_error_with_its_answer(runtime):
    error = error_of(runtime.invoke_endpoint, EndpointName="full", TargetModel="Torgersen.tar.gz",
                     ContentType="text/csv", Body=ROW)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ModelError", 424)
    assert error["OriginalStatusCode"] == 500 and "MULTIMODEL_FAIL_LOAD" in error["OriginalMessage"]
    assert error["Error"]["Message"].startswith("Failed to load model Torgersen.tar.gz: received server error (500)")


def test_a_load_over_the_timeout_is_model_not_ready_and_a_later_call_finds_it_loaded(runtime):
    started = time.perf_counter()
    error = error_of(runtime.invoke_endpoint, EndpointName="too-slow", TargetModel="Biscoe.tar.gz",
                     ContentType="text/csv", Body=ROW)
    waited = time.perf_counter() - started
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ModelNotReadyException", 429)
    assert waited < LOAD_TIMEOUT + 2  # the caller is answered at the timeout, not when the load ends
    answer, hops = invoke(runtime, "too-slow", "Biscoe.tar.gz")  # the container answers 409: it has it now
    assert answer["island"] == "Biscoe" and [(h["action"], h["status"]) for h in hops] == [("load", 409), ("invoke", 200)]


def test_the_target_model_header_is_required_here_and_refused_elsewhere(runtime):
    error = error_of(runtime.invoke_endpoint, EndpointName="islands", ContentType="text/csv", Body=ROW)
    assert "is a multi-model endpoint: the request must name the model" in error["Error"]["Message"]
    error = error_of(runtime.invoke_endpoint, EndpointName="single", TargetModel="m1.tar.gz", Body=b"x")
    assert error["Error"]["Message"] == ("Endpoint single is not a multi-model endpoint and does not support "
                                         "target model header.")


def test_the_traced_route_and_the_python_api_show_the_hops(emulator):
    answer = urllib3.request("POST", emulator.url + "/_emulator/endpoints/islands/invocations", body=b"49.1,14.5,212,4625",
                             headers={"Content-Type": "text/csv", "Accept": "text/csv",
                                      "X-Amzn-SageMaker-Target-Model": "Biscoe.tar.gz"})
    traced = json.loads(answer.data)
    assert traced["body"] == "Gentoo\n" and traced["hops"][-1]["action"] == "invoke"
    result = emulator["islands"].invoke(b"49.1,14.5,212,4625", content_type="text/csv", accept="text/csv",
                                        target_model="Biscoe.tar.gz")
    assert result.body == b"Gentoo\n" and [hop.action for hop in result.hops] == ["invoke"]


def test_create_model_with_an_s3_prefix_serves_end_to_end(emulator, runtime):
    s3, sm = emulator.boto3_client("s3"), emulator.boto3_client("sagemaker")
    s3.create_bucket(Bucket="mme-models")
    for island in ("Biscoe", "Dream"):
        s3.upload_file(str(MODELS / f"{island}.tar.gz"), "mme-models", f"penguins/{island}.tar.gz")
    sm.create_model(ModelName="islands-s3", ExecutionRoleArn="arn:aws:iam::123456789012:role/any",
                    PrimaryContainer={"Image": IMAGE, "Mode": "MultiModel", "ModelDataUrl": "s3://mme-models/penguins/"})
    sm.create_endpoint_config(EndpointConfigName="islands-s3", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "islands-s3", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="islands-s3", EndpointConfigName="islands-s3")
    try:
        sm.get_waiter("endpoint_in_service").wait(EndpointName="islands-s3", WaiterConfig={"Delay": 1})
        answer, hops = invoke(runtime, "islands-s3", "Dream.tar.gz", b"46.5,17.9,192,3500")
        assert answer == {"island": "Dream", "predictions": ["Chinstrap"]} and actions(hops)[0] == ("load", "Dream.tar.gz")
        error = error_of(runtime.invoke_endpoint, EndpointName="islands-s3", TargetModel="Torgersen.tar.gz",
                         ContentType="text/csv", Body=ROW)
        assert "s3://mme-models/penguins/" in error["Error"]["Message"]
    finally:
        sm.delete_endpoint(EndpointName="islands-s3")


def test_an_image_without_the_multi_models_label_fails_the_endpoint_naming_it(emulator):
    sm = emulator.boto3_client("sagemaker")
    sm.create_model(ModelName="no-label", ExecutionRoleArn="arn:aws:iam::123456789012:role/any",
                    PrimaryContainer={"Image": ECHO_IMAGE, "Mode": "MultiModel", "ModelDataUrl": "s3://any/models/"})
    sm.create_endpoint_config(EndpointConfigName="no-label", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "no-label", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="no-label", EndpointConfigName="no-label")
    describe = sm.describe_endpoint(EndpointName="no-label")  # waits while Creating
    assert describe["EndpointStatus"] == "Failed"
    assert f"image {ECHO_IMAGE} does not carry the Docker label com.amazonaws.sagemaker.capabilities.multi-models=true" \
        in describe["FailureReason"]
    sm.delete_endpoint(EndpointName="no-label")
