"""TensorFlow as the main model behind the same preprocessor, on real containers and boto3.

The model is a real SavedModel served with the /invocations contract of SageMaker's TensorFlow Serving container;
the pipeline predicts held-out penguins, the CSV variant fails as on SageMaker (the container compares the whole
Content-Type), and the contract suite runs on both as users run it (`sagemaker-emulator check`).
"""

from __future__ import annotations

import json

import pytest

from emulator.definition import load_file, parse
from emulator.outcomes import InvocationFailed
from tests.check_runs import Report, run_checks
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.docker

DATA = EXAMPLES / "artifacts" / "data"
HOLDOUT = DATA / "holdout-features.csv"
PIPELINE = "pipeline-tensorflow.yaml"
CSV_PIPELINE = "pipeline-tensorflow-csv.yaml"
TENSORFLOW = "sagemaker-emulator/example-model-tensorflow:1"
MODEL_DATA = EXAMPLES / "artifacts/model-tensorflow/model.tar.gz"
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]  # the order of each prediction's probabilities
REFUSAL = '{"error": "Unsupported Media Type: text/csv; charset=utf-8"}'


@pytest.fixture(scope="module")
def tensorflow(example_images, sagemaker_endpoints):
    """The pipeline, its CSV variant, and the model alone (endpoint `tensorflow`, to call it with other types)."""
    definitions = [endpoint for name in (PIPELINE, CSV_PIPELINE) for endpoint in load_file(EXAMPLES / name)]
    definitions += parse({"Endpoints": {"tensorflow": {"PrimaryContainer": {"Image": TENSORFLOW,
                                                                            "ModelDataUrl": str(MODEL_DATA)}}}})
    return sagemaker_endpoints(definitions)


@pytest.fixture(scope="module")
def client(tensorflow):
    return tensorflow.boto3_client()


@pytest.fixture(scope="module")
def holdout(example_images) -> tuple[list[str], list[str]]:
    """Penguins no model has seen: raw feature rows and their species."""
    return HOLDOUT.read_text().splitlines(), (DATA / "holdout-labels.csv").read_text().splitlines()


@pytest.fixture(scope="module")
def featurized(example_images) -> list[list[float]]:
    """Rows as the preprocessor answers them (the models' first training rows)."""
    lines = (EXAMPLES / "artifacts/model-train/train.csv").read_text().splitlines()[:5]
    return [[float(value) for value in line.split(",")[1:]] for line in lines]


def invoke(client, endpoint: str, body: str, content_type: str, accept: str | None = None) -> tuple[dict, str]:
    """The answer's JSON and Content-Type."""
    answer = client.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body.encode(),
                                    **({"Accept": accept} if accept else {}))
    return json.loads(answer["Body"].read()), answer["ContentType"]


def refusal(client, endpoint: str, body: str, content_type: str) -> dict:
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body.encode())
    return caught.value.response


def test_the_pipeline_classifies_held_out_penguins_through_boto3(client, holdout):
    rows, labels = holdout
    answer = client.invoke_endpoint(EndpointName="penguins-tensorflow", ContentType="text/csv",
                                    Accept="application/json", Body="\n".join(rows).encode())
    assert answer["ContentType"] == "application/json"
    predictions = json.loads(answer["Body"].read())["predictions"]
    predicted = [prediction["species"] for prediction in predictions]
    assert len(labels) > 60
    accuracy = sum(map(str.__eq__, predicted, labels)) / len(labels)
    print(f"TensorFlow pipeline: accuracy {accuracy:.3f} on {len(labels)} held-out penguins")
    assert accuracy > 0.9
    for prediction in predictions:
        probabilities = prediction["probabilities"]
        assert SPECIES[probabilities.index(max(probabilities))] == prediction["species"]
        assert sum(probabilities) == pytest.approx(1, abs=1e-5)
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    assert [(hop["container"], hop["content_type_in"]) for hop in hops] == [
        ("preprocessor", "text/csv"), ("model", "application/json")]


def test_the_csv_variant_fails_with_a_model_error_naming_the_model_container(client, holdout):
    error = refusal(client, "penguins-tensorflow-csv", holdout[0][0], "text/csv")
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"] == REFUSAL
    assert error["Error"]["Message"].startswith(f'Received client error (415) from model with message "{REFUSAL}".')


def test_the_trace_shows_the_preprocessors_csv_reaching_the_model(tensorflow, holdout):
    with pytest.raises(InvocationFailed) as caught:
        tensorflow["penguins-tensorflow-csv"].invoke(holdout[0][0], content_type="text/csv")
    preprocessor, model = caught.value.hops
    assert (preprocessor.status, model.status) == (200, 415)
    assert model.content_type_in == "text/csv; charset=utf-8"


def test_the_fixed_pipeline_answers_the_same_row(tensorflow, holdout):
    result = tensorflow["penguins-tensorflow"].invoke(holdout[0][0], content_type="text/csv",
                                                      accept="application/json")
    [prediction] = json.loads(result.body)["predictions"]
    assert prediction["species"] in SPECIES


def test_the_model_reads_the_bare_csv_type_and_json_lines(client, featurized):
    as_csv, content_type = invoke(client, "tensorflow", "".join(",".join(map(str, r)) + "\n" for r in featurized),
                                  "text/csv")
    assert content_type == "application/json"
    as_lines, content_type = invoke(client, "tensorflow", "\n".join(json.dumps(row) for row in featurized),
                                    "application/jsonlines", accept="application/jsonlines")
    assert content_type == "application/jsonlines"
    as_instances, _ = invoke(client, "tensorflow", json.dumps({"instances": [{"features": r} for r in featurized]}),
                             "application/json")
    assert as_csv == as_lines == as_instances
    assert len(as_csv["predictions"]) == len(featurized)


def test_the_columnar_format_answers_outputs(client, featurized):
    answer, _ = invoke(client, "tensorflow", json.dumps({"inputs": {"features": featurized}}), "application/json")
    assert set(answer["outputs"]) == {"species", "probabilities"}
    assert len(answer["outputs"]["species"]) == len(featurized)


@pytest.mark.parametrize(("body", "content_type", "status", "words"), [
    ("0.5", "text/plain", 415, "Unsupported Media Type: text/plain"),
    ('{"instances": [{"inputs": [0.5]}]}', "application/json", 400,
     "Failed to process element: 0 key: inputs of 'instances' list. Error: INVALID_ARGUMENT: "
     "JSON object: does not have named input: inputs"),
    ('{"instances": []}', "application/json", 400, "No values in 'instances' array"),
    ('{"signature_name": "other", "instances": [1]}', "application/json", 400,
     'Serving signature name: "other" not found in signature def'),
    ("a,b", "text/csv", 400, "Type: String is not of expected type: float"),
    ("0.5,0.5", "text/csv", 400, "Matrix size-incompatible"),
])
def test_the_model_refuses_as_tensorflow_serving_does(client, body, content_type, status, words):
    error = refusal(client, "tensorflow", body, content_type)
    assert error["OriginalStatusCode"] == status
    assert words in json.loads(error["OriginalMessage"])["error"]
    assert "from primary" in error["Error"]["Message"]


# --- the contract suite, as `sagemaker-emulator check` runs it


@pytest.fixture(scope="module")
def checks(featurized, tmp_path_factory) -> dict[str, Report]:
    folder = tmp_path_factory.mktemp("tensorflow-check")
    features = folder / "features.csv"
    features.write_text("".join(",".join(map(str, row)) + "\n" for row in featurized))
    runs = {
        "pipeline": ["--definition", str(EXAMPLES / PIPELINE), "--sample", str(HOLDOUT)],
        "csv": ["--definition", str(EXAMPLES / CSV_PIPELINE), "--sample", str(HOLDOUT), "-k", "chain"],
        "parity": [TENSORFLOW, "--model-data", str(MODEL_DATA), "--parity-data", str(features), "-k", "parity"],
    }
    return run_checks(runs, folder)


@pytest.mark.slow
def test_check_passes_the_tensorflow_pipeline_and_each_container(checks):
    report = checks["pipeline"]
    assert report.returncode == 0, report.output
    assert report.of("penguins-tensorflow")["test_chain_passes_content_types"].status == "passed"
    # The model was checked with what the preprocessor handed it.
    assert report.of("penguins-tensorflow/model")["test_answers_samples"].status == "passed"


@pytest.mark.slow
def test_check_fails_the_csv_variant_at_the_model(checks):
    report = checks["csv"]
    outcome = report.of("penguins-tensorflow-csv")["test_chain_passes_content_types"]
    assert outcome.status == "failed", report.output
    assert report.returncode != 0
    assert "'text/csv; charset=utf-8'" in outcome.message


@pytest.mark.slow
def test_the_parity_check_shows_one_answer_per_request_not_per_record(checks, featurized):
    """AWS's TensorFlow Serving container answers one {"predictions": [...]} per request, so a MultiRecord batch
    transform writes one line per mini-batch (aws/sagemaker-tensorflow-serving-container#154): the check says so."""
    outcome = checks["parity"].of(TENSORFLOW)["test_realtime_equals_batch_transform"]
    assert outcome.status == "failed", checks["parity"].output
    assert f"{len(featurized)} records" in outcome.message and "1 output lines" in outcome.message
