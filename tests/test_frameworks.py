"""Any main model behind the same preprocessor: scikit-learn, XGBoost, PyTorch and TensorFlow pipelines on real
containers.

One emulator serves the four pipelines, the XGBoost one with the charset pitfall and the TensorFlow one answering
CSV, for the whole module; the contract suite runs as users run it (`sagemaker-emulator check`, in parallel
subprocesses). The TensorFlow model is a real SavedModel served with the /invocations contract of SageMaker's
TensorFlow Serving container (its request handling alone: test_tensorflow_requests.py).
"""

from __future__ import annotations

import json

import pytest

from emulator.containers import labels
from emulator.invocation.chain import InvocationFailed
from emulator.definition import load_file, parse
from emulator.hosting.parity import check_parity
from tests.conftest import EXAMPLES
# The contract suite's own tests run `check` this way; these runs are judged the same.
from tests.check_runs import Report, run_checks

pytestmark = pytest.mark.docker

DATA = EXAMPLES / "artifacts" / "data"
HOLDOUT = DATA / "holdout-features.csv"
# Endpoint name -> its definition file; every one has the same preprocessor in front.
PIPELINES = {"penguins": "pipeline.yaml", "penguins-xgboost": "pipeline-xgboost.yaml",
             "penguins-pytorch": "pipeline-pytorch.yaml", "penguins-tensorflow": "pipeline-tensorflow.yaml"}
CHARSET_PIPELINE = "pipeline-xgboost-charset.yaml"
TENSORFLOW_CSV_PIPELINE = "pipeline-tensorflow-csv.yaml"
XGBOOST = "sagemaker-emulator/example-model-xgboost:1"
PYTORCH = "sagemaker-emulator/example-model-pytorch:1"
TENSORFLOW = "sagemaker-emulator/example-model-tensorflow:1"
TENSORFLOW_MODEL = EXAMPLES / "artifacts/model-tensorflow/model.tar.gz"
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
REFUSAL = "Content-type text/csv; charset=utf-8 not supported. Supported content-type is text/csv, text/libsvm"
TENSORFLOW_REFUSAL = '{"error": "Unsupported Media Type: text/csv; charset=utf-8"}'


@pytest.fixture(scope="module")
def frameworks(example_images, sagemaker_endpoints):
    """The four pipelines, the two failing ones, and the XGBoost and TensorFlow models alone (to call them with
    other types)."""
    definitions = [endpoint for name in (*PIPELINES.values(), CHARSET_PIPELINE, TENSORFLOW_CSV_PIPELINE)
                   for endpoint in load_file(EXAMPLES / name)]
    definitions += parse({"Endpoints": {
        "xgboost": {"PrimaryContainer": {"Image": XGBOOST,
                                         "ModelDataUrl": str(EXAMPLES / "artifacts/model-xgboost/model.tar.gz")}},
        "tensorflow": {"PrimaryContainer": {"Image": TENSORFLOW, "ModelDataUrl": str(TENSORFLOW_MODEL)}}}})
    return sagemaker_endpoints(definitions)


@pytest.fixture(scope="module")
def client(frameworks):
    return frameworks.boto3_client()


@pytest.fixture(scope="module")
def holdout(example_images) -> tuple[list[str], list[str]]:
    """Penguins no model has seen: raw feature rows and their species."""
    return HOLDOUT.read_text().splitlines(), (DATA / "holdout-labels.csv").read_text().splitlines()


@pytest.fixture(scope="module")
def featurized(example_images) -> tuple[list[list[str]], list[str]]:
    """Rows as the preprocessor answers them (from the models' training rows), and their species."""
    rows = [line.split(",") for line in (EXAMPLES / "artifacts/model-train/train.csv").read_text().splitlines()]
    return [row[1:] for row in rows[:20]], [row[0] for row in rows[:20]]


def invoke(client, endpoint: str, body: str, content_type: str, accept: str | None = None) -> tuple[str, str]:
    """The answer's body and Content-Type."""
    answer = client.invoke_endpoint(EndpointName=endpoint, ContentType=content_type, Body=body.encode(),
                                    **({"Accept": accept} if accept else {}))
    return answer["Body"].read().decode(), answer["ContentType"]


def species_named(endpoint: str, body: str, species: list[str]) -> list[str]:
    """XGBoost answers a class index a line, as SageMaker's built-in algorithm does (species in sorted order);
    TensorFlow Serving answers JSON whatever the Accept, here `{"predictions": [{"species": ..}, ..]}`."""
    if "tensorflow" in endpoint:
        return [prediction["species"] for prediction in json.loads(body)["predictions"]]
    return [species[int(float(line))] if "xgboost" in endpoint else line for line in body.split()]


def accuracy(predicted: list[str], labels: list[str]) -> float:
    assert len(predicted) == len(labels)
    return sum(map(str.__eq__, predicted, labels)) / len(labels)


@pytest.mark.parametrize("endpoint", PIPELINES)
def test_each_pipeline_classifies_held_out_penguins_through_boto3(endpoint, client, holdout):
    rows, labels = holdout
    answer = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv",
                                    Body="\n".join(rows).encode())
    species = sorted(set(labels))
    predicted = species_named(endpoint, answer["Body"].read().decode(), species)
    assert len(labels) > 60
    print(f"{endpoint}: accuracy {accuracy(predicted, labels):.3f} on {len(labels)} held-out penguins")
    assert accuracy(predicted, labels) > 0.9
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    assert [hop["container"] for hop in hops] == ["preprocessor", "model"]


def test_xgboost_behind_the_charset_preprocessor_fails_as_on_sagemaker(client, holdout):
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="penguins-xgboost-charset", ContentType="text/csv",
                               Body=holdout[0][0].encode())
    error = caught.value.response
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"] == REFUSAL
    assert error["Error"]["Message"].startswith(f'Received client error (415) from model with message "{REFUSAL}".')


def test_the_trace_shows_the_charset_travelling_to_xgboost(frameworks, holdout):
    with pytest.raises(InvocationFailed) as caught:
        frameworks["penguins-xgboost-charset"].invoke(holdout[0][0], content_type="text/csv")
    preprocessor, model = caught.value.hops
    assert (preprocessor.status, model.status) == (200, 415)
    assert model.content_type_in == "text/csv; charset=utf-8"
    assert "charset=utf-8" in model.warning


def test_the_fix_makes_the_preprocessor_answer_the_bare_type(frameworks, holdout):
    result = frameworks["penguins-xgboost"].invoke(holdout[0][0], content_type="text/csv")
    assert [hop.content_type_in for hop in result.hops] == ["text/csv", "text/csv"]
    assert not any(hop.warning for hop in result.hops)


def test_xgboost_reads_libsvm_and_answers_json(client, featurized):
    rows, labels = featurized
    libsvm = "".join("0 " + " ".join(f"{index}:{value}" for index, value in enumerate(row, 1)) + "\n" for row in rows)
    body, content_type = invoke(client, "xgboost", libsvm, "text/libsvm", accept="application/json")
    assert content_type.startswith("application/json")
    species = sorted(set(labels))
    predicted = [species[int(prediction["score"])] for prediction in json.loads(body)["predictions"]]
    assert accuracy(predicted, labels) > 0.9


def test_xgboost_answers_csv_one_prediction_a_line_by_default(client, featurized):
    rows, _ = featurized
    body, content_type = invoke(client, "xgboost", "".join(",".join(row) + "\n" for row in rows), "text/csv")
    assert content_type.startswith("text/csv")
    assert len(body.splitlines()) == len(rows)
    assert {float(line) for line in body.splitlines()} <= {0.0, 1.0, 2.0}


@pytest.mark.parametrize(("body", "content_type", "accept", "status", "words"), [
    ("0.5", "text/csv; charset=utf-8", None, 415, "Content-type text/csv; charset=utf-8 not supported"),
    ("0.5", "application/json", None, 415, "Content-type application/json not supported"),
    ("0.5,x", "text/csv", None, 415, "Loading csv data failed"),
    ("0.5,0.5", "text/csv", None, 400, "Feature size of csv inference data 2 is not consistent"),
    (",".join(["0.5"] * 9), "text/csv", "application/x-npy", 406, "Accept type application/x-npy is not supported"),
])
def test_xgboost_refuses_as_the_built_in_algorithm_does(client, body, content_type, accept, status, words):
    with pytest.raises(client.exceptions.ModelError) as caught:
        invoke(client, "xgboost", body, content_type, accept)
    error = caught.value.response
    assert error["OriginalStatusCode"] == status
    assert words in error["OriginalMessage"]
    assert "from primary" in error["Error"]["Message"]


def test_pytorch_answers_species_and_probabilities_as_json(client, holdout):
    rows = holdout[0][:5]
    body, _ = invoke(client, "penguins-pytorch", "\n".join(rows), "text/csv", accept="application/json")
    as_csv, _ = invoke(client, "penguins-pytorch", "\n".join(rows), "text/csv", accept="text/csv")
    predictions = json.loads(body)["predictions"]
    assert [prediction["species"] for prediction in predictions] == as_csv.split()
    for prediction in predictions:
        probabilities = prediction["probabilities"]
        assert set(probabilities) == SPECIES
        assert max(probabilities, key=probabilities.get) == prediction["species"]
        assert sum(probabilities.values()) == pytest.approx(1, abs=1e-5)


def test_tensorflow_answers_species_and_probabilities_from_json_instances(client, holdout):
    rows = holdout[0][:5]
    answer = client.invoke_endpoint(EndpointName="penguins-tensorflow", ContentType="text/csv",
                                    Accept="application/json", Body="\n".join(rows).encode())
    assert answer["ContentType"] == "application/json"
    for prediction in json.loads(answer["Body"].read())["predictions"]:
        probabilities = prediction["probabilities"]  # in the species' sorted order
        assert sorted(SPECIES)[probabilities.index(max(probabilities))] == prediction["species"]
        assert sum(probabilities) == pytest.approx(1, abs=1e-5)
    hops = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])
    assert [hop["content_type_in"] for hop in hops] == ["text/csv", "application/json"]


def test_tensorflow_behind_the_csv_preprocessor_fails_as_on_sagemaker(client, frameworks, holdout):
    with pytest.raises(client.exceptions.ModelError) as caught:
        client.invoke_endpoint(EndpointName="penguins-tensorflow-csv", ContentType="text/csv",
                               Body=holdout[0][0].encode())
    error = caught.value.response
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"] == TENSORFLOW_REFUSAL
    assert error["Error"]["Message"].startswith(
        f'Received client error (415) from model with message "{TENSORFLOW_REFUSAL}".')
    with pytest.raises(InvocationFailed) as caught:
        frameworks["penguins-tensorflow-csv"].invoke(holdout[0][0], content_type="text/csv")
    assert [(hop.status, hop.content_type_in) for hop in caught.value.hops] == [
        (200, "text/csv"), (415, "text/csv; charset=utf-8")]


def test_tensorflow_reads_the_bare_csv_type_json_lines_and_named_instances_alike(client, featurized):
    rows = [[float(value) for value in row] for row in featurized[0][:5]]
    answers = [invoke(client, "tensorflow", body, content_type, accept) for body, content_type, accept in [
        ("".join(",".join(map(str, row)) + "\n" for row in rows), "text/csv", None),
        ("\n".join(json.dumps(row) for row in rows), "application/jsonlines", "application/jsonlines"),
        (json.dumps({"instances": [{"features": row} for row in rows]}), "application/json", None)]]
    assert [content_type for _, content_type in answers] == ["application/json", "application/jsonlines",
                                                              "application/json"]
    as_csv, as_lines, as_instances = (json.loads(body) for body, _ in answers)
    assert as_csv == as_lines == as_instances
    assert len(as_csv["predictions"]) == len(rows)
    columns, _ = invoke(client, "tensorflow", json.dumps({"inputs": {"features": rows}}), "application/json")
    assert json.loads(columns)["outputs"]["species"] == [p["species"] for p in as_csv["predictions"]]


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
def test_tensorflow_refuses_as_tensorflow_serving_does(client, body, content_type, status, words):
    with pytest.raises(client.exceptions.ModelError) as caught:
        invoke(client, "tensorflow", body, content_type)
    error = caught.value.response
    assert error["OriginalStatusCode"] == status
    assert words in json.loads(error["OriginalMessage"])["error"]
    assert "from primary" in error["Error"]["Message"]


# --- the contract suite and the parity check, as `sagemaker-emulator check` runs them


@pytest.fixture(scope="module")
def checks(featurized, tmp_path_factory) -> dict[str, Report]:
    folder = tmp_path_factory.mktemp("frameworks-check")
    features = folder / "features.csv"
    features.write_text("".join(",".join(row) + "\n" for row in featurized[0]))
    runs = {
        "charset": ["--definition", str(EXAMPLES / CHARSET_PIPELINE), "--sample", str(HOLDOUT), "-k", "chain"],
        "tensorflow-csv": ["--definition", str(EXAMPLES / TENSORFLOW_CSV_PIPELINE), "--sample", str(HOLDOUT),
                           "-k", "chain"],
        **{framework: ["--definition", str(EXAMPLES / PIPELINES[f"penguins-{framework}"]), "--sample", str(HOLDOUT)]
           for framework in ("xgboost", "pytorch", "tensorflow")},
        "parity": [XGBOOST, PYTORCH, TENSORFLOW,
                   *(argument for framework in ("xgboost", "pytorch", "tensorflow") for argument in
                     ("--model-data", str(EXAMPLES / f"artifacts/model-{framework}/model.tar.gz"))),
                   "--parity-data", str(features), "-k", "parity"],
        # The TensorFlow pipeline's preprocessor as it runs there: its Environment (JSON instances), no Accept.
        "tensorflow-parity": ["--definition", str(EXAMPLES / PIPELINES["penguins-tensorflow"]),
                              "--parity-data", str(HOLDOUT), "-k", "parity"],
    }
    return run_checks(runs, folder)


@pytest.mark.slow
def test_check_fails_the_charset_pitfall_at_the_strict_xgboost_container(checks):
    report = checks["charset"]
    outcome = report.of("penguins-xgboost-charset")["test_chain_passes_content_types"]
    assert outcome.status == "failed", report.output
    assert report.returncode != 0
    assert "charset pitfall" in outcome.message and "'text/csv; charset=utf-8'" in outcome.message
    assert "Fix: make preprocessor answer the bare type" in outcome.message


@pytest.mark.slow
def test_check_fails_the_tensorflow_csv_variant_at_the_model(checks):
    report = checks["tensorflow-csv"]
    outcome = report.of("penguins-tensorflow-csv")["test_chain_passes_content_types"]
    assert outcome.status == "failed", report.output
    assert report.returncode != 0
    assert "'text/csv; charset=utf-8'" in outcome.message


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["xgboost", "pytorch", "tensorflow"])
def test_check_passes_the_framework_pipeline_and_each_container(checks, framework):
    report = checks[framework]
    assert report.returncode == 0, report.output
    endpoint = f"penguins-{framework}"
    assert report.of(endpoint)["test_chain_passes_content_types"].status == "passed"
    # The model was checked with what the preprocessor handed it.
    assert report.of(f"{endpoint}/model")["test_answers_samples"].status == "passed"


@pytest.mark.slow
@pytest.mark.parametrize("image", [XGBOOST, PYTORCH, TENSORFLOW])
def test_each_model_answers_a_row_alone_as_in_a_batch_transform(checks, image):
    """TensorFlow Serving answers a mini-batch with one {"predictions": [...]} line (as AWS's container does,
    aws/sagemaker-tensorflow-serving-container#154): the check pairs each item with its record."""
    outcome = checks["parity"].of(image)["test_realtime_equals_batch_transform"]
    assert outcome.status == "passed", checks["parity"].output


@pytest.mark.slow
def test_parity_holds_for_the_tensorflow_pipelines_preprocessor_as_it_runs_there(checks):
    report = checks["tensorflow-parity"]
    parity = {container: report.of(f"penguins-tensorflow/{container}")["test_realtime_equals_batch_transform"].status
              for container in ("preprocessor", "model")}
    assert (report.returncode, parity) == (0, {"preprocessor": "passed", "model": "skipped"}), report.output


@pytest.mark.slow
def test_parity_holds_through_the_whole_tensorflow_pipeline(example_images):
    [pipeline] = load_file(EXAMPLES / PIPELINES["penguins-tensorflow"])
    report = check_parity(pipeline, HOLDOUT)
    assert report.ok, report.explain()
    assert report.records == len(HOLDOUT.read_text().splitlines())


@pytest.mark.slow
def test_every_container_the_checks_started_is_removed(checks, docker_engine):
    for name, report in checks.items():
        left = docker_engine.containers.list(all=True, filters={"label": f"{labels.SESSION}={report.session}"})
        assert not left, f"the {name} run left {[c.name for c in left]}"
