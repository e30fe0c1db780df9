"""Fixtures of the contract suite. Each check is parametrized over the containers of the plan; the
containers of one target are started once, in parallel, and removed before the next target's start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from contract_tests import calls, under_test
from contract_tests.options import SuiteOptions
from contract_tests.pipeline_runs import PipelineRuns
from contract_tests.plan import Plan, Target, make_plan
from contract_tests.samples import Sample
from contract_tests.verdicts import NEEDS_SAMPLE, NO_PIPELINE, NO_TARGET, NOT_SERVING, SAMPLES_REFUSED
from emulator.containers.docker_backend import DockerBackend
from emulator.errors import DockerUnavailable, EmulatorError
from emulator.containers.leftovers import remove_dead_runs

PLAN = pytest.StashKey[Plan]()
USAGE_ERROR = pytest.StashKey[pytest.UsageError]()


def pytest_configure(config: pytest.Config) -> None:
    options = SuiteOptions.of(config)
    try:
        config.stash[PLAN] = make_plan(options)
    except pytest.UsageError as exc:
        config.stash[PLAN] = Plan([], [], [], None, options.startup_timeout)
        config.stash[USAGE_ERROR] = exc


def pytest_collection_modifyitems(config: pytest.Config) -> None:
    # Raised only now: this conftest loads while collecting, where pytest shows errors as tracebacks.
    if USAGE_ERROR in config.stash:
        raise config.stash[USAGE_ERROR]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    plan = metafunc.config.stash[PLAN]
    # Session scope groups the tests by target, so each target's containers run only during its own checks.
    if "target" in metafunc.fixturenames:
        params = [pytest.param(target, id=target.id) for target in plan.targets]
        metafunc.parametrize("target", params or [_skipped(NO_TARGET)], scope="session")
    if "pipeline" in metafunc.fixturenames:
        params = [pytest.param(endpoint, id=endpoint.name) for endpoint in plan.pipelines]
        metafunc.parametrize("pipeline", params or [_skipped(NO_PIPELINE)], scope="session")


def _skipped(reason: str) -> object:
    return pytest.param(None, id="none", marks=pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def plan(pytestconfig: pytest.Config) -> Plan:
    return pytestconfig.stash[PLAN]


@pytest.fixture(scope="session")
def docker_host(pytestconfig: pytest.Config) -> str | None:
    """--sagemaker-docker-host, registered by the emulator's plugin (None when it is not loaded)."""
    return pytestconfig.getoption("sagemaker_docker_host", None)


@pytest.fixture(scope="session")
def backend(docker_host: str | None) -> DockerBackend:
    backend = DockerBackend(docker_host)
    try:
        remove_dead_runs(backend)  # containers of earlier runs that were killed before they could clean up
    except DockerUnavailable as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    return backend


@pytest.fixture(scope="session")
def pipeline_runs(plan: Plan, docker_host: str | None) -> PipelineRuns:
    return PipelineRuns(plan.samples, plan.startup_timeout, docker_host)


@pytest.fixture(scope="session")
def containers(target: Target, backend: DockerBackend, plan: Plan,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[under_test.UnderTest]:
    try:
        started = under_test.start(backend, target, timeout=plan.startup_timeout,
                                   scratch=tmp_path_factory.mktemp("contract"))
    except EmulatorError as exc:  # an unusable model artifact: the user's input, not the container, is wrong
        pytest.fail(str(exc), pytrace=False)
    try:
        yield started
    finally:
        started.remove(backend)


@pytest.fixture
def url(containers: under_test.UnderTest) -> str:
    """The serving container's URL; the check is skipped when it does not serve."""
    if not containers.serving.serving:
        pytest.skip(NOT_SERVING)
    return containers.serving.url


@pytest.fixture
def invocable_url(url: str, plan: Plan, request: pytest.FixtureRequest) -> str:
    """The serving URL for checks that need no sample; skipped when the samples given are refused."""
    if plan.samples:
        request.getfixturevalue("answered_sample")
    return url


@pytest.fixture(scope="session")
def samples(target: Target, plan: Plan, pipeline_runs: PipelineRuns) -> list[Sample]:
    """The user's samples; for a later container of a serial pipeline, what the chain handed it."""
    if not plan.samples:
        pytest.skip(NEEDS_SAMPLE)
    if not target.fed_by_chain:
        return plan.samples
    run = pipeline_runs.of(target.endpoint)
    carried = run.samples_for(target.position)
    if not carried:
        pytest.skip(f"no sample reached {target.id} through pipeline {target.endpoint.name}; "
                    "test_chain_passes_content_types says why")
    return carried


@pytest.fixture(scope="session")
def sample_answers(samples: list[Sample], containers: under_test.UnderTest) -> list[tuple[Sample, calls.Answer]]:
    """Each sample sent once to the serving container."""
    if not containers.serving.serving:
        pytest.skip(NOT_SERVING)
    return [(sample, calls.invoke(containers.serving.url, sample.body, sample.content_type)) for sample in samples]


@pytest.fixture
def answered_sample(sample_answers: list[tuple[Sample, calls.Answer]]) -> Sample:
    """A sample the container answers: checks of error handling and load mean little before that works."""
    if not all(answer.ok for _, answer in sample_answers):
        pytest.skip(SAMPLES_REFUSED)
    return sample_answers[0][0]
