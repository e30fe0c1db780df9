"""Any main model behind the same preprocessor: scikit-learn, XGBoost and PyTorch pipelines on real containers.

One emulator serves the three pipelines and the XGBoost one with the charset pitfall, for the whole module;
the contract suite runs as users run it (`sagemaker-emulator check`, in parallel subprocesses).
"""

from __future__ import annotations

import json

import pytest

from emulator.containers import labels
from emulator.invocation.chain import InvocationFailed
from emulator.definition import load_file, parse
from tests.conftest import EXAMPLES
# The contract suite's own tests run `check` this way; these runs are judged the same.
from tests.check_runs import Report, run_checks

pytestmark = pytest.mark.docker

DATA = EXAMPLES / "artifacts" / "data"
HOLDOUT = DATA / "holdout-features.csv"
# Endpoint name -> its definition file; every one has the same preprocessor in front.
PIPELINES = {"penguins": "pipeline.yaml", "penguins-xgboost": "pipeline-xgboost.yaml",
             "penguins-pytorch": "pipeline-pytorch.yaml"}
CHARSET_PIPELINE = "pipeline-xgboost-charset.yaml"
XGBOOST = "sagemaker-emulator/example-model-xgboost:1"
PYTORCH = "sagemaker-emulator/example-model-pytorch:1"
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
REFUSAL = "Content-type text/csv; charset=utf-8 not supported. Supported content-type is text/csv, text/libsvm"


@pytest.fixture(scope="module")
def frameworks(example_images, sagemaker_endpoints):
    """The three pipelines, the charset one, and the XGBoost model alone (to call it with other types)."""
    definitions = [endpoint for name in (*PIPELINES.values(), CHARSET_PIPELINE)
                   for endpoint in load_file(EXAMPLES / name)]
    definitions += parse({"Endpoints": {"xgboost": {"PrimaryContainer": {
        "Image": XGBOOST, "ModelDataUrl": str(EXAMPLES / "artifacts/model-xgboost/model.tar.gz")}}}})
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


def species_named(endpoint: str, answer: str, species: list[str]) -> str:
    """XGBoost answers a class index, as SageMaker's built-in algorithm does (species in sorted order)."""
    return species[int(float(answer))] if "xgboost" in endpoint else answer


def accuracy(predicted: list[str], labels: list[str]) -> float:
    assert len(predicted) == len(labels)
    return sum(map(str.__eq__, predicted, labels)) / len(labels)


@pytest.mark.parametrize("endpoint", PIPELINES)
def test_each_pipeline_classifies_held_out_penguins_through_boto3(endpoint, client, holdout):
    rows, labels = holdout
    answer = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv",
                                    Body="\n".join(rows).encode())
    species = sorted(set(labels))
    predicted = [species_named(endpoint, line, species) for line in answer["Body"].read().decode().split()]
    assert len(labels) > 60
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


# --- the contract suite and the parity check, as `sagemaker-emulator check` runs them


@pytest.fixture(scope="module")
def checks(featurized, tmp_path_factory) -> dict[str, Report]:
    folder = tmp_path_factory.mktemp("frameworks-check")
    features = folder / "features.csv"
    features.write_text("".join(",".join(row) + "\n" for row in featurized[0]))
    runs = {
        "charset": ["--definition", str(EXAMPLES / CHARSET_PIPELINE), "--sample", str(HOLDOUT), "-k", "chain"],
        "xgboost": ["--definition", str(EXAMPLES / PIPELINES["penguins-xgboost"]), "--sample", str(HOLDOUT)],
        "pytorch": ["--definition", str(EXAMPLES / PIPELINES["penguins-pytorch"]), "--sample", str(HOLDOUT)],
        "parity": [XGBOOST, PYTORCH, "--model-data", str(EXAMPLES / "artifacts/model-xgboost/model.tar.gz"),
                   "--model-data", str(EXAMPLES / "artifacts/model-pytorch/model.tar.gz"),
                   "--parity-data", str(features), "-k", "parity"],
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
@pytest.mark.parametrize("framework", ["xgboost", "pytorch"])
def test_check_passes_the_framework_pipeline_and_each_container(checks, framework):
    report = checks[framework]
    assert report.returncode == 0, report.output
    endpoint = f"penguins-{framework}"
    assert report.of(endpoint)["test_chain_passes_content_types"].status == "passed"
    # The model was checked with what the preprocessor handed it.
    assert report.of(f"{endpoint}/model")["test_answers_samples"].status == "passed"


@pytest.mark.slow
@pytest.mark.parametrize("image", [XGBOOST, PYTORCH])
def test_each_model_answers_a_row_alone_as_in_a_batch_transform(checks, image):
    outcome = checks["parity"].of(image)["test_realtime_equals_batch_transform"]
    assert outcome.status == "passed", checks["parity"].output


@pytest.mark.slow
def test_every_container_the_checks_started_is_removed(checks, docker_engine):
    for name, report in checks.items():
        left = docker_engine.containers.list(all=True, filters={"label": f"{labels.SESSION}={report.session}"})
        assert not left, f"the {name} run left {[c.name for c in left]}"
