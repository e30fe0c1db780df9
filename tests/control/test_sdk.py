"""The SageMaker Python SDK v2, unchanged, against a served emulator with the example pipeline's real
containers: upload_data, PipelineModel.deploy(wait=True), predict, delete_endpoint, delete_model and
Transformer.transform(wait=True) (which reads the job's CloudWatch Logs). No network: every host but
this machine is refused, so a call that escaped the emulator fails the test."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROLE = "arn:aws:iam::123456789012:role/emulator"  # a full ARN: the SDK then asks IAM nothing
ROWS = ["Biscoe,50.0,15.2,218,5700,male", "Torgersen,39.1,18.7,181,3750,male", "Dream,46.5,17.9,192,3500,female"]


@pytest.fixture(scope="module")
def emulator():
    """SageMaker's own startup limit (4 minutes): the example pipeline boots slowly on a busy machine."""
    from emulator.api import Emulator

    with Emulator() as running:
        running.serve()
        yield running


@pytest.fixture
def no_network(monkeypatch):
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1") and not str(host).endswith(".localhost"):
            raise OSError(f"this test allows no network, but the SDK tried to reach {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture
def sdk_session(emulator, no_network, monkeypatch):
    """A sagemaker.Session as a user's script builds it, in the environment `serve` prints (emulator.environment():
    AWS_ENDPOINT_URL, dummy credentials, and the SDK defaults file naming its default bucket, telemetry off)."""
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    with emulator.redirected():
        import sagemaker

        yield sagemaker.Session()


def test_the_sdk_deploys_predicts_transforms_and_deletes_a_pipeline(sdk_session, emulator, example_images, tmp_path):
    from sagemaker.deserializers import StringDeserializer
    from sagemaker.model import Model
    from sagemaker.pipeline import PipelineModel
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    artifacts = EXAMPLES / "artifacts"
    preprocessor_data = sdk_session.upload_data(str(artifacts / "preprocessor" / "model.tar.gz"), key_prefix="sdk/pre")
    model_data = sdk_session.upload_data(str(artifacts / "model" / "model.tar.gz"), key_prefix="sdk/model")
    assert preprocessor_data == "s3://sagemaker-us-east-1-123456789012/sdk/pre/model.tar.gz"  # the SDK's own name

    name = f"sdk-{uuid.uuid4().hex[:8]}"
    pipeline = PipelineModel(name=name, role=ROLE, sagemaker_session=sdk_session, predictor_cls=Predictor, models=[
        Model(image_uri="sagemaker-emulator/example-preprocessor:1", model_data=preprocessor_data, role=ROLE,
              env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}, sagemaker_session=sdk_session),
        Model(image_uri="sagemaker-emulator/example-model:1", model_data=model_data, role=ROLE,
              env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/json"}, sagemaker_session=sdk_session)])
    predictor = pipeline.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=name, wait=True,
                                serializer=CSVSerializer(), deserializer=StringDeserializer(accept="text/csv"))
    assert predictor.predict(ROWS[0]).strip() == "Gentoo"
    predictor.delete_model()  # first: it finds the models through the endpoint config, which delete_endpoint deletes
    predictor.delete_endpoint()
    client = sdk_session.sagemaker_client
    client.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    assert client.list_models(NameContains=name)["Models"] == []

    source = sdk_session.upload_data(_write(tmp_path / "rows.csv", "\n".join(ROWS) + "\n"), key_prefix=f"{name}/in")
    transformer = pipeline.transformer(instance_count=1, instance_type="ml.m5.large", accept="text/csv",
                                       assemble_with="Line", strategy="MultiRecord",
                                       output_path=f"s3://{sdk_session.default_bucket()}/{name}/out")
    transformer.transform(source, content_type="text/csv", split_type="Line", wait=True)
    answer = sdk_session.read_s3_file(sdk_session.default_bucket(), f"{name}/out/rows.csv.out")
    assert answer.split() == ["Gentoo", "Adelie", "Chinstrap"]


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_the_sdk_takes_a_role_by_name_through_iam(sdk_session):
    """A role given by name is expanded with IAM's GetRole: every role exists, trusted by SageMaker."""
    assert sdk_session.expand_role("emulator-by-name") == "arn:aws:iam::123456789012:role/emulator-by-name"
