"""The serving contract, checked on the running container: start, ping, port, invocations, model folder.

The model-folder check comes last, so the invocations of the other checks have happened before it looks.
"""

from __future__ import annotations

import json

import pytest

from contract_tests import calls, model_tree, payloads
from contract_tests.launch import last_logs
from contract_tests.plan import Plan, Target
from contract_tests.samples import Sample
from contract_tests.under_test import BIND_TO_PORT, UnderTest
from contract_tests.verdicts import caution, violation
from emulator.invocation.container_http import PING_TIMEOUT
from emulator.containers.docker_backend import DockerBackend
from emulator.parallel import map_in_threads
from emulator.transform.errors import ExecutionParametersError
from emulator.transform.job import TransformJob
from emulator.transform.params import resolve_params

PINGS_TIMED = 5
CONCURRENT_REQUESTS = 8
UNKNOWN_HEADERS = {"X-Unknown-Header": "contract-test"}
TEST_BODY = b"contract test"

ON_UNHEALTHY = ("SageMaker would mark the instance unhealthy and replace it, failing every request in flight: "
                "one such request can take an endpoint down.")


def test_starts_and_passes_ping(target: Target, containers: UnderTest, plan: Plan) -> None:
    if not containers.serving.serving:
        violation(
            f"`docker run {target.image} serve` {containers.serving.problem}",
            "SageMaker would fail CreateEndpoint: each container must pass /ping within the startup health check "
            f"timeout (ContainerStartupHealthCheckTimeoutInSeconds, 4 minutes by default; {plan.startup_timeout:g} s "
            "here).",
            "`serve` must start a web server on port 8080 that answers GET /ping with 200 once the model is loaded; "
            f"run `docker run --rm -p 8080:8080 {target.image} serve` and read its output.")


def test_ping_answers_within_2_s(url: str) -> None:
    answers = [calls.ping(url) for _ in range(PINGS_TIMED)]
    bad = [answer for answer in answers if answer.status != 200]
    if bad:
        violation(
            f"{len(bad)} of {PINGS_TIMED} pings of a healthy, idle container failed; the first: {bad[0]}.",
            f"SageMaker gives each ping {PING_TIMEOUT:g} s; an instance whose pings fail is taken out of service and "
            "replaced (and CreateEndpoint fails when it happens at start).",
            "answer /ping from a cheap handler that does not touch the model, and keep a thread free for it.")


def test_listens_on_sagemaker_bind_to_port(target: Target, containers: UnderTest) -> None:
    if not target.needs_bind_to_port:
        pytest.skip("a single-container endpoint is not given SAGEMAKER_BIND_TO_PORT")
    if not containers.serving.serving:
        pytest.skip("the container does not start even without SAGEMAKER_BIND_TO_PORT; test_starts_and_passes_ping "
                    "says why")
    launched = containers.bind_to_port
    if not launched.serving:
        violation(
            f"Started with SAGEMAKER_BIND_TO_PORT={BIND_TO_PORT} (it serves without it), {target.image} "
            f"{launched.problem}",
            "SageMaker would fail CreateEndpoint for a multi-container model (an inference pipeline): it pings each "
            "container on the port it gave it in SAGEMAKER_BIND_TO_PORT, and the containers of one instance cannot "
            "all listen on 8080.",
            "read the port when the server starts, e.g. `gunicorn --bind 0.0.0.0:${SAGEMAKER_BIND_TO_PORT:-8080}` "
            "(for nginx, write it into the `listen` directive).")


def test_answers_samples(target: Target, sample_answers: list[tuple[Sample, calls.Answer]]) -> None:
    for sample, answer in sample_answers:
        if not answer.ok:
            kind = "server" if answer.status >= 500 or not answer.status else "client"
            violation(
                f"{sample} got {answer}.",
                f"SageMaker would return ModelError (424) to the caller: \"Received {kind} error ({answer.status}) "
                f"from {target.name_in_errors} ...\".",
                "make /invocations answer what callers send; the answer above says what the container disliked, "
                "`docker logs` says more.")
        if not answer.content_type:
            violation(
                f"{sample} got {answer.status} without a Content-Type.",
                "SageMaker returns the container's Content-Type to the caller and, in a pipeline, hands it to the "
                "next container as its Content-Type: the next container cannot tell how to read the body.",
                "set Content-Type on every /invocations response (the type chosen from Accept, or "
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT).")


def test_refuses_unsupported_content_type_with_4xx(target: Target, invocable_url: str, containers: UnderTest,
                                                    backend: DockerBackend) -> None:
    answer = calls.invoke(invocable_url, TEST_BODY, payloads.UNSUPPORTED_CONTENT_TYPE)
    _expect_refusal(target, answer, f"a request with Content-Type {payloads.UNSUPPORTED_CONTENT_TYPE}", containers,
                    backend, "check the Content-Type before reading the body, and answer 415 for types the container "
                    "does not read.")


def test_refuses_malformed_body_with_4xx(target: Target, url: str, answered_sample: Sample, containers: UnderTest,
                                         backend: DockerBackend) -> None:
    answer = calls.invoke(url, payloads.MALFORMED_BODY, answered_sample.content_type)
    _expect_refusal(target, answer, f"a malformed body ({payloads.MALFORMED_BODY!r}) sent as "
                    f"{answered_sample.content_type}", containers, backend,
                    "catch decoding errors and answer 400 with a message saying what is wrong.")


def test_ignores_unknown_headers(url: str, answered_sample: Sample) -> None:
    sample = answered_sample
    plain = calls.invoke(url, sample.body, sample.content_type)
    extra = calls.invoke(url, sample.body, sample.content_type, UNKNOWN_HEADERS)
    differs = (extra.status, extra.content_type) != (plain.status, plain.content_type)
    if not differs and extra.body != plain.body:
        # A model whose answers vary from call to call would differ anyway: blame the header only if they do not.
        differs = calls.invoke(url, sample.body, sample.content_type).body == plain.body
    if differs:
        violation(
            f"With {', '.join(UNKNOWN_HEADERS)} added, {sample} got {extra}; without it: {plain}.",
            "SageMaker strips headers it does not support and adds its own, so the container would answer "
            "differently there than in your tests.",
            "read only the headers the container needs (Content-Type, Accept, X-Amzn-SageMaker-Custom-Attributes) "
            "and ignore the rest.")


def test_survives_payload_near_6_mb(target: Target, url: str, answered_sample: Sample, containers: UnderTest,
                                    backend: DockerBackend) -> None:
    body = payloads.near_limit(answered_sample)
    if body is None:
        pytest.skip("needs a sample with rows to repeat (CSV, JSON Lines, or a JSON list): pass one with "
                    "--sagemaker-sample PATH[:CONTENT_TYPE]")
    answer = calls.invoke(url, body, answered_sample.content_type)
    what = f"a {len(body):,}-byte request ({answered_sample.name}'s rows repeated)"
    fix = ("read large bodies without copying them many times, answer 413 when a body is too big for the model, "
           "and give the server a timeout above 60 s (SAGEMAKER_MODEL_SERVER_TIMEOUT).")
    _expect_still_serving(what, containers, backend, fix)
    _expect_no_server_error(target, answer, what, fix)


def test_serves_concurrent_requests(url: str, answered_sample: Sample) -> None:
    sample = answered_sample
    answers = map_in_threads(lambda _: calls.invoke(url, sample.body, sample.content_type), range(CONCURRENT_REQUESTS))
    failed = [answer for answer in answers if not answer.ok]
    if failed:
        violation(
            f"Of {CONCURRENT_REQUESTS} requests sent at once with {sample}, {len(failed)} failed; the first got "
            f"{failed[0]}.",
            "SageMaker sends requests concurrently (many callers; batch transform's MaxConcurrentTransforms): "
            "these would fail with ModelError.",
            "serve with several workers or threads (gunicorn --workers/--threads, SAGEMAKER_MODEL_SERVER_WORKERS) "
            "and keep prediction thread-safe, or load one model per worker.")


def test_execution_parameters_are_valid(url: str) -> None:
    answer = calls.request("GET", url + "/execution-parameters")
    if answer.status != 200:
        return  # optional: batch transform then uses the job's settings, or its defaults
    problem = _execution_parameters_problem(answer)
    if problem:
        violation(
            f"GET /execution-parameters answered 200, but {problem}",
            "SageMaker batch transform takes these values when the job sets none, and would refuse them (the "
            "limits of CreateTransformJob), failing the job.",
            'answer e.g. {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}: '
            "MaxConcurrentTransforms a whole number >= 1, MaxPayloadInMB 0-100 (0: unbounded), their product at "
            "most 100; or answer 404 to leave the choice to the job.")


def test_does_not_write_model_folder(url: str, containers: UnderTest, plan: Plan,
                                     request: pytest.FixtureRequest) -> None:
    if containers.model_copy is None or containers.model_before is None:
        pytest.skip("no model to mount: pass --sagemaker-model-data PATH (in a definition: ModelDataUrl)")
    if plan.samples:
        request.getfixturevalue("sample_answers")  # the samples have been sent before we look
    calls.invoke(url, payloads.MALFORMED_BODY, None)
    calls.invoke(url, TEST_BODY, payloads.UNSUPPORTED_CONTENT_TYPE)
    changes = model_tree.changes(containers.model_before, model_tree.fingerprint(containers.model_copy))
    if changes:
        violation(
            f"The container wrote to its model folder (a writable copy here): {', '.join(changes[:10])}"
            f"{' ...' if len(changes) > 10 else ''}.",
            "SageMaker mounts /opt/ml/model read-only: the same write fails there with 'Read-only file system', "
            "failing CreateEndpoint when it happens at start, or the requests that make it.",
            "write caches and temporary files under /tmp (or another writable folder), never under /opt/ml/model.")


def _expect_refusal(target: Target, answer: calls.Answer, what: str, containers: UnderTest, backend: DockerBackend,
                    fix: str) -> None:
    """A request the container cannot read deserves a 4xx; a 2xx is only worth a warning."""
    _expect_still_serving(what, containers, backend, fix)
    _expect_no_server_error(target, answer, what, fix)
    if answer.ok:
        caution(f"The answer to {what} was a success: {answer}.",
                "SageMaker would pass it on as a success: fine if the container really reads it, but a caller's "
                "mistake then goes unnoticed.", f"if the container cannot read it: {fix}")


def _expect_still_serving(after: str, containers: UnderTest, backend: DockerBackend, fix: str) -> None:
    if calls.still_serving(containers.serving.url):
        return
    state = backend.state(containers.serving.container_id)
    gone = f"exited with code {state.exit_code}" if state.exit_code is not None else "stopped answering /ping"
    violation(f"After {after}, the container {gone}{last_logs(backend, containers.serving.container_id)}",
              ON_UNHEALTHY, fix)


def _expect_no_server_error(target: Target, answer: calls.Answer, what: str, fix: str) -> None:
    if answer.status >= 500 or not answer.status:
        violation(f"The answer to {what}: {answer}.",
                  f"SageMaker would report a server error to the caller (ModelError 424, \"Received server error "
                  f"({answer.status}) from {target.name_in_errors} ...\") and count it in Invocation5XXErrors: it "
                  "reads as a fault of the container, not of the request.", fix)


def _execution_parameters_problem(answer: calls.Answer) -> str | None:
    try:
        # A job that sets nothing takes every value from the container: the emulator's batch rules judge them.
        resolve_params(TransformJob(), json.loads(answer.body))
    except ValueError:
        return f"its body is not JSON: {answer}"
    except ExecutionParametersError as exc:
        return str(exc)
    return None
