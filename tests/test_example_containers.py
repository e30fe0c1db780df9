"""The example images, started with `serve` and called over HTTP by hand (not through the emulator).

Runs example_containers/build once (cheap when all is built). Containers many tests share are
started once per module; every container a test starts is removed when its fixture ends.
"""
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import docker
import pytest
import requests
import yaml

pytestmark = pytest.mark.docker

EXAMPLES = Path(__file__).resolve().parents[1] / "example_containers"
ARTIFACTS = EXAMPLES / "artifacts"
PREPROCESSOR = "sagemaker-emulator/example-preprocessor:1"
MODEL = "sagemaker-emulator/example-model:1"
ECHO = "sagemaker-emulator/echo:1"
BIND_LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"
TEST_LABELS = {"io.github.sagemaker-emulator.test": "test_example_containers"}
STARTUP_TIMEOUT_SECONDS = 60
FEATURES_PER_ROW = 9  # 4 scaled numbers, 3 islands, 2 sexes
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


def broken(flaw: str) -> str:
    return f"sagemaker-emulator/broken-{flaw}:1"


class Containers:
    """Starts example containers and, on exit, removes every one it started."""

    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.started = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for container in self.started:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                pass

    def start(self, image: str, model_dir: Path | None = None, environment: dict | None = None,
              ports: tuple[int, ...] = (8080,)):
        """`IMAGE serve`, the model mounted read-only, each port published to a free 127.0.0.1 port."""
        volumes = {str(model_dir): {"bind": "/opt/ml/model", "mode": "ro"}} if model_dir else {}
        container = self.client.containers.run(
            image, ["serve"], detach=True, labels=TEST_LABELS, environment=environment or {}, volumes=volumes,
            ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports})
        self.started.append(container)
        container.reload()
        return container

    def serve(self, image: str, model_dir: Path | None = None, environment: dict | None = None,
              port: int = 8080) -> str:
        """The URL of a new container that passes /ping."""
        container = self.start(image, model_dir, environment, (port,))
        url = published_url(container, port)
        assert first_ping(container, url).status_code == 200
        return url


def published_url(container, port: int) -> str:
    host_port = container.ports[f"{port}/tcp"][0]["HostPort"]
    return f"http://127.0.0.1:{host_port}"


def first_ping(container, url: str) -> requests.Response:
    """The first answer to /ping, polled quickly; fails at once, with the logs, if the container exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            return requests.get(f"{url}/ping", timeout=2)
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its worker still loading
            container.reload()
            if container.status == "exited":
                pytest.fail(f"{container.image.tags} exited: {container.logs(tail=20).decode()}")
            time.sleep(0.1)
    pytest.fail(f"{container.image.tags} did not answer /ping in {STARTUP_TIMEOUT_SECONDS} s")


def invoke(url: str, body, content_type: str | None = "text/csv", accept: str | None = "text/csv",
           **headers) -> requests.Response:
    """POST /invocations; a None header is not sent at all."""
    return requests.post(f"{url}/invocations", data=body, timeout=30,
                         headers={"Content-Type": content_type, "Accept": accept, **headers})


def csv_body(rows: list[str]) -> str:
    return "".join(row + "\n" for row in rows)


# --- fixtures


@pytest.fixture(scope="session")
def examples_built() -> None:
    subprocess.run([str(EXAMPLES / "build")], env={**os.environ, "PYTHON": sys.executable}, check=True)


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="session")
def model_dirs(examples_built, tmp_path_factory) -> dict[str, Path]:
    """Each model.tar.gz unpacked, as SageMaker unpacks it into /opt/ml/model."""
    unpacked = {}
    for name in ("preprocessor", "model"):
        unpacked[name] = tmp_path_factory.mktemp(name)
        with tarfile.open(ARTIFACTS / name / "model.tar.gz") as archive:
            archive.extractall(unpacked[name], filter="data")
    return unpacked


@pytest.fixture(scope="session")
def penguins(examples_built) -> tuple[list[str], list[str]]:
    """The raw feature rows (headerless CSV lines) and their species."""
    data = ARTIFACTS / "data"
    return ((data / "penguins-features.csv").read_text().splitlines(),
            (data / "penguins-labels.csv").read_text().splitlines())


@pytest.fixture(scope="module")
def shared_containers(docker_client, examples_built):
    """For the containers many tests reuse, removed when the module ends."""
    with Containers(docker_client) as containers:
        yield containers


@pytest.fixture
def containers(docker_client, examples_built):
    """For a test's own containers, removed when the test ends."""
    with Containers(docker_client) as containers:
        yield containers


@pytest.fixture(scope="module")
def preprocessor(shared_containers, model_dirs) -> str:
    return shared_containers.serve(PREPROCESSOR, model_dirs["preprocessor"])


@pytest.fixture(scope="module")
def model(shared_containers, model_dirs) -> str:
    return shared_containers.serve(MODEL, model_dirs["model"])


@pytest.fixture(scope="module")
def preprocessor_in_pipeline(shared_containers, model_dirs) -> str:
    """Set up as pipeline.yaml and the platform set it up in a pipeline: its own port, CSV by default."""
    environment = {"SAGEMAKER_BIND_TO_PORT": "9090", "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}
    return shared_containers.serve(PREPROCESSOR, model_dirs["preprocessor"], environment, port=9090)


# --- the penguins pipeline, called by hand


def test_pipeline_yaml_names_the_built_images_and_artifacts(docker_client, examples_built):
    pipeline = yaml.safe_load((EXAMPLES / "pipeline.yaml").read_text())
    for container in pipeline["Endpoints"]["penguins"]["Containers"]:
        docker_client.images.get(container["Image"])
        assert (EXAMPLES / container["ModelDataUrl"]).is_file()


def test_pipeline_by_hand_names_the_species_of_most_penguins(preprocessor, model, penguins):
    features, labels = penguins
    featurized = invoke(preprocessor, csv_body(features))
    assert featurized.status_code == 200, featurized.text
    # Passed on verbatim, charset and all, as a serial pipeline does.
    assert featurized.headers["Content-Type"] == "text/csv; charset=utf-8"
    predicted = invoke(model, featurized.content, content_type=featurized.headers["Content-Type"])
    assert predicted.status_code == 200, predicted.text
    species = predicted.text.splitlines()
    assert len(species) == len(labels) == 344
    assert sum(map(str.__eq__, species, labels)) / len(labels) > 0.9


def test_preprocessor_json_forms_give_the_csv_features(preprocessor, penguins):
    rows = penguins[0][:4]  # the fourth row has every value missing
    as_csv = [[float(value) for value in line.split(",")]
              for line in invoke(preprocessor, csv_body(rows)).text.splitlines()]
    as_lists = [[None if value == "NA" else value for value in row.split(",")] for row in rows]
    columns = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"]
    for body in ({"instances": as_lists}, as_lists, [dict(zip(columns, row)) for row in as_lists]):
        response = invoke(preprocessor, json.dumps(body), "application/json", accept="application/json")
        assert response.status_code == 200, response.text
        assert response.json() == {"instances": [{"features": features} for features in as_csv]}
    assert all(len(features) == FEATURES_PER_ROW for features in as_csv)


def test_preprocessor_output_of_a_row_does_not_depend_on_its_batch(preprocessor, penguins):
    rows = penguins[0][:30]
    in_one_batch = invoke(preprocessor, csv_body(rows)).text.splitlines()
    one_by_one = [invoke(preprocessor, row).text.strip() for row in rows]
    assert one_by_one == in_one_batch


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_accept_falls_back_to_the_default_invocations_accept(preprocessor, preprocessor_in_pipeline, penguins,
                                                             accept):
    row = penguins[0][0]
    assert invoke(preprocessor, row, accept=accept).headers["Content-Type"] == "application/json"
    assert invoke(preprocessor_in_pipeline, row, accept=accept).headers["Content-Type"] == "text/csv; charset=utf-8"


def test_preprocessor_honours_sagemaker_bind_to_port(preprocessor_in_pipeline):
    assert requests.get(f"{preprocessor_in_pipeline}/ping", timeout=2).status_code == 200


def test_model_reads_the_preprocessor_json_and_answers_json(preprocessor, model, penguins):
    featurized = invoke(preprocessor, csv_body(penguins[0][:3]), accept="application/json")
    predicted = invoke(model, featurized.content, content_type="application/json", accept="application/json")
    assert predicted.status_code == 200, predicted.text
    predictions = predicted.json()["predictions"]
    assert [prediction["species"] for prediction in predictions] == penguins[1][:3]
    for prediction in predictions:
        assert set(prediction["probabilities"]) == SPECIES
        assert sum(prediction["probabilities"].values()) == pytest.approx(1)


@pytest.mark.parametrize("server", ["preprocessor", "model"])
def test_execution_parameters_ask_for_multi_record_batches(server, request):
    response = requests.get(f"{request.getfixturevalue(server)}/execution-parameters", timeout=2)
    assert response.json() == {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


ONE_MODEL_ROW = ",".join(["0.5"] * FEATURES_PER_ROW)


@pytest.mark.parametrize(("server", "body", "content_type", "accept", "status"), [
    ("preprocessor", "Dream,40,18,190,3700,male", "application/x-npy", "text/csv", 415),
    ("preprocessor", "Dream,40,18,190,3700,male", "text/csv", "application/x-npy", 406),
    ("preprocessor", "Dream,40,18,190,3700", "text/csv", "text/csv", 400),
    ("preprocessor", "Dream,forty,18,190,3700,male", "text/csv", "text/csv", 400),
    ("preprocessor", '{"instances": [["Dream"', "application/json", "text/csv", 400),
    ("preprocessor", "", "text/csv", "text/csv", 400),
    ("model", ONE_MODEL_ROW, None, "text/csv", 415),
    ("model", ONE_MODEL_ROW, "text/csv", "text/html", 406),
    ("model", "0.5,0.5", "text/csv", "text/csv", 400),
    ("model", ONE_MODEL_ROW.replace("0.5", "x", 1), "text/csv", "text/csv", 400),
    ("model", '{"instances": [{"features": "0.5"}]}', "application/json", "text/csv", 400),
])
def test_refused_invocations_answer_a_json_error(server, body, content_type, accept, status, request):
    response = invoke(request.getfixturevalue(server), body, content_type=content_type, accept=accept)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]


def test_serve_stops_cleanly_on_sigterm(containers):
    container = containers.start(ECHO)
    assert first_ping(container, published_url(container, 8080)).status_code == 200
    started = time.monotonic()
    container.stop(timeout=20)
    assert container.wait()["StatusCode"] == 0
    assert time.monotonic() - started < 10


# --- the broken images: each misbehaves exactly as its name says


@pytest.mark.parametrize("flaw", [
    "ignores-bind-port", "crash-at-start", "500-on-invoke", "batch-dependent-preprocessor"])
def test_broken_images_other_than_no_bind_label_carry_the_label(flaw, docker_client, examples_built):
    assert docker_client.images.get(broken(flaw)).labels.get(BIND_LABEL) == "true"


def test_broken_no_bind_label_lacks_the_label_but_serves(containers, docker_client, model_dirs, preprocessor,
                                                         penguins):
    assert BIND_LABEL not in docker_client.images.get(broken("no-bind-label")).labels
    url = containers.serve(broken("no-bind-label"), model_dirs["preprocessor"])
    rows = csv_body(penguins[0][:5])
    assert invoke(url, rows).text == invoke(preprocessor, rows).text


def test_broken_ignores_bind_port_listens_on_8080(containers, model_dirs):
    container = containers.start(broken("ignores-bind-port"), model_dirs["preprocessor"],
                                 {"SAGEMAKER_BIND_TO_PORT": "9090"}, ports=(9090, 8080))
    assert first_ping(container, published_url(container, 8080)).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{published_url(container, 9090)}/ping", timeout=2)


def test_broken_crash_at_start_exits_3_with_an_error(containers, model_dirs):
    container = containers.start(broken("crash-at-start"), model_dirs["preprocessor"])
    assert container.wait(timeout=30)["StatusCode"] == 3
    assert b"crash-at-start" in container.logs(stdout=False, stderr=True)


def test_broken_500_on_invoke_is_healthy_but_fails_invocations(containers, model_dirs, penguins):
    url = containers.serve(broken("500-on-invoke"), model_dirs["preprocessor"])
    response = invoke(url, penguins[0][0])
    assert response.status_code == 500
    assert response.json()["error"]


def test_broken_batch_dependent_preprocessor_changes_a_row_with_its_batch(containers, model_dirs, penguins):
    url = containers.serve(broken("batch-dependent-preprocessor"), model_dirs["preprocessor"])
    rows = penguins[0][:10]
    in_one_batch = invoke(url, csv_body(rows)).text.splitlines()
    alone = invoke(url, rows[0]).text.splitlines()
    assert len(in_one_batch) == len(rows)
    assert len(alone[0].split(",")) == FEATURES_PER_ROW
    assert alone[0] != in_one_batch[0]


# --- the echo test image and its knobs


@pytest.fixture(scope="module")
def echo(shared_containers) -> str:
    return shared_containers.serve(ECHO)


def test_echo_answers_the_body_with_its_content_type_and_custom_attributes(echo):
    response = invoke(echo, b"\x00any bytes\n", content_type="application/x-thing; v=2",
                      **{"X-Amzn-SageMaker-Custom-Attributes": "trace=1"})
    assert response.status_code == 200
    assert response.content == b"\x00any bytes\n"
    assert response.headers["Content-Type"] == "application/x-thing; v=2"
    assert response.headers["X-Amzn-SageMaker-Custom-Attributes"] == "trace=1"
    assert "X-Amzn-SageMaker-Custom-Attributes" not in invoke(echo, b"x").headers


def test_echo_has_no_execution_parameters_by_default(echo):
    assert requests.get(f"{echo}/execution-parameters", timeout=2).status_code == 404


@pytest.fixture(scope="module")
def appending_echo(shared_containers) -> str:
    return shared_containers.serve(ECHO, environment={
        "ECHO_MODE": "append", "ECHO_NAME": "hop-1", "ECHO_RESPONSE_CONTENT_TYPE": "text/csv; charset=utf-8",
        "ECHO_ACCEPT_CONTENT_TYPES": "text/csv,application/json",
        "ECHO_EXECUTION_PARAMETERS": '{"MaxConcurrentTransforms": 3}'})


def test_echo_append_adds_what_this_hop_received(appending_echo):
    response = invoke(appending_echo, "1,2\n", content_type="text/csv", accept=None,
                      **{"X-Amzn-SageMaker-Custom-Attributes": "a=b"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    body, hop = response.text.splitlines(keepends=True)
    assert body == "1,2\n"
    assert hop.endswith("\n")
    assert json.loads(hop) == {
        "host": "hop-1", "content_type": "text/csv", "accept": None, "custom_attributes": "a=b"}


def test_echo_refuses_content_types_it_was_not_told_to_accept(appending_echo):
    assert invoke(appending_echo, "{}", content_type="application/json; charset=utf-8").status_code == 200
    refused = invoke(appending_echo, "x", content_type="application/x-npy")
    assert refused.status_code == 415
    assert refused.json()["error"]


def test_echo_returns_the_execution_parameters_it_was_given(appending_echo):
    response = requests.get(f"{appending_echo}/execution-parameters", timeout=2)
    assert response.json() == {"MaxConcurrentTransforms": 3}


def test_echo_status_delay_and_ping_knobs(containers):
    container = containers.start(ECHO, environment={
        "ECHO_STATUS": "503", "ECHO_DELAY_SECONDS": "0.5", "ECHO_PING_STATUS": "500"})
    url = published_url(container, 8080)
    assert first_ping(container, url).status_code == 500
    started = time.monotonic()
    response = invoke(url, "x")
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 503
    assert response.json()["error"]


def test_the_build_runs_with_the_interpreter_that_calls_it_not_python3_on_path(examples_built, tmp_path):
    """A benchmark run from a virtual environment calls the build; the system python3 may lack what it needs."""
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 'not this python3' >&2\nexit 1\n")
    fake.chmod(0o755)
    environment = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(EXAMPLES / "build")], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "not this python3" not in result.stderr
