"""The contract suite (contract_tests), run as users run it: `sagemaker-emulator check` in subprocesses, judged by
their JUnit reports, and `pytest --pyargs contract_tests` in a pytester sandbox.

The `check` runs (the example and broken images; the example pipeline; charset pipelines of two echo containers;
parity) start at once (tests/check_runs.py).
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from contract_tests.chain_check import check_run
from contract_tests.payloads import near_limit
from contract_tests.pipeline_runs import SampleRun
from contract_tests.samples import Sample, SampleError, load
from contract_tests.verdicts import ContractWarning
from emulator.containers import labels
from emulator.invocation.outcomes import Hop
from emulator.definition import parse
from tests.check_runs import CHECK, Report, run_checks
from tests.conftest import ECHO_IMAGE, EXAMPLES, PIPELINE, load_image

pytest_plugins = ["pytester"]

FEATURES = EXAMPLES / "artifacts" / "data" / "penguins-features.csv"
PREPROCESSOR_MODEL = EXAMPLES / "artifacts" / "preprocessor" / "model.tar.gz"
PREPROCESSOR = "sagemaker-emulator/example-preprocessor:1"
MULTI_MODEL = "sagemaker-emulator/example-multimodel:1"
ISLAND_MODEL = EXAMPLES / "artifacts" / "multimodel" / "Biscoe.tar.gz"
MULTI_MODEL_CHECKS = {"test_multi_model_container_starts", "test_loads_and_lists_a_model",
                      "test_a_second_load_of_a_loaded_model_answers_409", "test_invokes_a_loaded_model",
                      "test_unloads_a_model", "test_a_model_not_loaded_answers_404"}
# Each broken image: the one check it must fail, and what that failure must say.
FLAWS = {
    "no-bind-label": ("test_has_bind_to_port_label", "lacks the Docker label"),
    "ignores-bind-port": ("test_listens_on_sagemaker_bind_to_port", "answered /ping on port 8080, never on port 9123"),
    "crash-at-start": ("test_starts_and_passes_ping", "exited with code 3"),
    "500-on-invoke": ("test_answers_samples", "got 500"),
}
CHARSET_PIPELINE = {"Endpoints": {"charset": {"Containers": [
    {"ContainerHostname": "first", "Image": ECHO_IMAGE,
     "Environment": {"ECHO_RESPONSE_CONTENT_TYPE": "text/csv; charset=utf-8"}},
    {"ContainerHostname": "second", "Image": ECHO_IMAGE, "Environment": {"ECHO_ACCEPT_CONTENT_TYPES": "text/csv"}},
]}}}
# The same chain, but the second container compares the whole header, as XGBoost's does.
STRICT_PIPELINE = {"Endpoints": {"strict": {"Containers": [
    CHARSET_PIPELINE["Endpoints"]["charset"]["Containers"][0],
    {"ContainerHostname": "second", "Image": ECHO_IMAGE,
     "Environment": {"ECHO_ACCEPT_CONTENT_TYPES": "text/csv", "ECHO_STRICT_CONTENT_TYPE": "true"}},
]}}}
ROWS = Sample("rows.csv", b"1,2\n", "text/csv")


def broken(flaw: str) -> str:
    return f"sagemaker-emulator/broken-{flaw}:1"


@pytest.fixture(scope="module")
def reports(example_images, tmp_path_factory) -> dict[str, Report]:
    folder = tmp_path_factory.mktemp("contract-suite")
    charset_definition = folder / "charset.yaml"
    charset_definition.write_text(yaml.safe_dump(CHARSET_PIPELINE))
    strict_definition = folder / "strict.yaml"
    strict_definition.write_text(yaml.safe_dump(STRICT_PIPELINE))
    penguin_rows = folder / "rows.csv"  # bill length, bill depth, flipper length, body mass
    penguin_rows.write_text("39.1,18.7,181,3750\n49.1,14.5,212,4625\n")
    runs = {
        "images": [PREPROCESSOR, *map(broken, FLAWS), "--model-data", str(PREPROCESSOR_MODEL),
                   "--sample", str(FEATURES)],
        "pipeline": ["--definition", str(PIPELINE), "--sample", str(FEATURES)],
        "charset": ["--definition", str(charset_definition), "--sample", str(FEATURES), "-k", "chain"],
        "strict": ["--definition", str(strict_definition), "--sample", str(FEATURES), "-k", "chain"],
        "parity": [PREPROCESSOR, broken("batch-dependent-preprocessor"), "--model-data", str(PREPROCESSOR_MODEL),
                   "--parity-data", str(FEATURES), "-k", "parity"],
        "multimodel": [MULTI_MODEL, "--model-data", str(ISLAND_MODEL), "--sample", str(penguin_rows)],
    }
    return run_checks(runs, folder)


@pytest.mark.docker
def test_the_example_preprocessor_passes_every_check(reports):
    outcomes = reports["images"].of(PREPROCESSOR)
    assert outcomes, reports["images"].output
    not_passed = {name: o.status for name, o in outcomes.items() if o.status != "passed"}
    # no --parity-data in this run; no multi-models label on the image
    assert not_passed == {"test_realtime_equals_batch_transform": "skipped", **dict.fromkeys(MULTI_MODEL_CHECKS, "skipped")}
    assert reports["parity"].of(PREPROCESSOR)["test_realtime_equals_batch_transform"].status == "passed"


@pytest.mark.docker
def test_the_example_multi_model_image_passes_the_multi_model_checks(reports):
    outcomes = reports["multimodel"].of(MULTI_MODEL)
    failed = {name: outcome for name, outcome in outcomes.items() if outcome.status not in ("passed", "skipped")}
    assert not failed and MULTI_MODEL_CHECKS <= {name for name, o in outcomes.items() if o.status == "passed"}, \
        (failed, reports["multimodel"].output)


@pytest.mark.docker
def test_a_preprocessor_that_scales_by_the_batch_fails_parity(reports):
    outcome = reports["parity"].of(broken("batch-dependent-preprocessor"))["test_realtime_equals_batch_transform"]
    assert outcome.status == "failed"
    assert "parity FAILS" in outcome.message and "Fix:" in outcome.message


@pytest.mark.docker
@pytest.mark.parametrize("flaw", FLAWS)
def test_each_broken_image_fails_exactly_the_check_of_its_flaw(reports, flaw):
    check, words = FLAWS[flaw]
    outcomes = reports["images"].of(broken(flaw))
    failed = [name for name, outcome in outcomes.items() if outcome.status in ("failed", "error")]
    assert failed == [check], reports["images"].output
    message = outcomes[check].message
    assert words in message
    assert "SageMaker would" in message and "Fix: " in message


@pytest.mark.docker
def test_the_example_pipeline_passes_every_check_and_the_chain(reports):
    report = reports["pipeline"]
    assert report.returncode == 0, report.output
    assert report.of("penguins")["test_chain_passes_content_types"].status == "passed"
    # The later container was checked with what the chain handed it, not skipped for want of a sample.
    assert report.of("penguins/model")["test_answers_samples"].status == "passed"


@pytest.mark.docker
def test_a_charset_added_upstream_is_a_warning_when_the_next_container_accepts_it(reports):
    # The echo image compares media types without parameters, so the second container accepts the charset.
    report = reports["charset"]
    assert report.of("charset")["test_chain_passes_content_types"].status == "passed", report.output
    assert "ContractWarning" in report.output and "'text/csv; charset=utf-8'" in report.output
    assert "Fix: answer a bare media type" in report.output


@pytest.mark.docker
def test_a_charset_the_next_container_refuses_fails_the_chain_on_real_containers(reports):
    report = reports["strict"]
    outcome = report.of("strict")["test_chain_passes_content_types"]
    assert outcome.status == "failed", report.output
    assert "charset pitfall" in outcome.message and "Fix: make first answer the bare type" in outcome.message


@pytest.mark.docker
def test_every_container_the_checks_started_is_removed(reports, docker_engine):
    for name, report in reports.items():
        left = docker_engine.containers.list(all=True, filters={"label": f"{labels.SESSION}={report.session}"})
        assert not left, f"the {name} run left {[c.name for c in left]}"


@pytest.mark.docker
def test_pytest_pyargs_runs_the_same_checks(pytester, example_images):
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", broken("no-bind-label"),
                                "-k", "test_has_bind_to_port_label", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*lacks the Docker label*", "*SageMaker would fail CreateEndpoint*", "Fix: *"])


@pytest.mark.docker
def test_an_image_built_for_another_architecture_is_reported(pytester, arm64_image):
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", arm64_image,
                                "-k", "test_is_built_for_the_instance_architecture", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{arm64_image} is built for arm64; the instance ml.m5.large (x86_64*",
                                 "*exec format error*", "Fix: build it for linux/amd64*"])


@pytest.mark.docker
def test_an_image_with_a_volume_under_opt_ml_is_reported(pytester, docker_engine):
    image = load_image(docker_engine, "sagemaker-emulator/test-volume:1", volumes=("/opt/ml/model",))
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", image,
                                "-k", "test_declares_no_volume_under_opt_ml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{image} declares VOLUME /opt/ml/model.*", "*SageMaker mounts the model*",
                                 "Fix: remove the VOLUME line*"])


def test_an_environment_over_sagemakers_limits_is_reported_naming_the_variable(pytester):
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", "any:1",
                                "--sagemaker-env", f"SCHEMA={'x' * 1025}", "--sagemaker-env", "OK=1",
                                "-k", "test_environment_is_within_sagemakers_limits", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*any:1: Environment.SCHEMA is 1025 characters; SageMaker allows 1024*",
                                 "*SageMaker would refuse the model*", "Fix: shorten it*"])


def test_a_definition_over_sagemakers_limits_stops_the_run_naming_the_field(pytester):
    definition = pytester.path / "long.yaml"
    definition.write_text(yaml.safe_dump({"PrimaryContainer": {"Image": "any:1", "Environment": {"K": "x" * 1025}}}))
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-definition", str(definition),
                                "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *long.yaml: PrimaryContainer.Environment.K: is 1025 characters; SageMaker "
                                 "allows 1024*Fix: shorten it*"])


def test_without_an_image_every_check_is_skipped_with_the_option_to_pass(pytester):
    result = pytester.runpytest("--pyargs", "contract_tests", "-rs", "-p", "no:cacheprovider")
    assert set(result.parseoutcomes()) == {"skipped"}
    result.stdout.fnmatch_lines(["*pass --sagemaker-image IMAGE or --sagemaker-definition FILE*"])


def test_an_option_mistake_stops_the_run_with_the_fix(pytester):
    result = pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", "any:1",
                                "--sagemaker-sample", "missing.csv", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --sagemaker-sample missing.csv: no such file. Fix: *"])


def test_a_charset_the_next_container_refuses_fails_the_chain_with_the_explanation():
    [endpoint] = parse(CHARSET_PIPELINE)
    answered = Hop("first", "text/csv", None, 4, status=200, content_type_out="text/csv; charset=utf-8")
    refused = Hop("second", "text/csv; charset=utf-8", None, 4, status=415, request_body=b"1,2\n")
    run = SampleRun(ROWS, [answered, refused], error="Received client error (415) from second ...",
                    accepts_bare_type=True)
    with pytest.raises(pytest.fail.Exception) as failed:
        check_run(endpoint, run)
    assert "charset pitfall" in str(failed.value) and "ModelError (424)" in str(failed.value)
    assert "Fix: make first answer the bare type" in str(failed.value)


def test_a_hop_warning_becomes_a_contract_warning():
    [endpoint] = parse(CHARSET_PIPELINE)
    accepted = Hop("second", "text/csv; charset=utf-8", None, 4, status=200, warning="first answered ...")
    with pytest.warns(ContractWarning, match="first answered"):
        check_run(endpoint, SampleRun(ROWS, [Hop("first", "text/csv", None, 4, status=200), accepted]))


def test_a_large_payload_repeats_the_sample_rows_up_to_the_limit():
    csv = near_limit(Sample("rows.csv", b"a,1\nb,2\n", "text/csv"), limit=20)
    assert csv == b"a,1\nb,2\na,1\nb,2\na,1\n"
    wrapped = near_limit(Sample("rows.json", b'{"instances": [[1], [2]], "k": 1}', "application/json"), limit=40)
    assert wrapped == b'{"instances":[[1],[2],[1],[2]],"k":1}'
    assert near_limit(Sample("one.json", b'{"a": 1}', "application/json")) is None


def test_a_sample_content_type_comes_from_the_extension_or_the_suffix(tmp_path):
    (tmp_path / "rows.csv").write_text("1,2\n")
    (tmp_path / "rows.bin").write_bytes(b"\x00")
    assert load(str(tmp_path / "rows.csv")).content_type == "text/csv"
    assert load(f"{tmp_path / 'rows.bin'}:application/x-npy").content_type == "application/x-npy"
    with pytest.raises(SampleError, match="Fix: append it"):
        load(str(tmp_path / "rows.bin"))


@pytest.mark.docker
def test_pings_that_answer_but_too_slowly_fail_fast_with_the_times(example_images):
    """Not after the 240 s startup limit: after three answers over SageMaker's 2 s, each one measured."""
    result = subprocess.run([*CHECK, ECHO_IMAGE, "--env", "ECHO_PING_DELAY_SECONDS=2.5", "-k", "test_starts_and_passes_ping"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert re.search(r"answered GET /ping with 200, but slower than SageMaker's 2 s per ping \((\d+\.\d s(, )?){3}\)",
                     result.stdout), result.stdout
