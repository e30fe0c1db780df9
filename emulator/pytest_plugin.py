"""pytest plugin: fixtures that start emulated SageMaker endpoints for a user's own tests.

Registered under the `pytest11` entry point, so every pytest run of anyone who
installs the package imports it: it imports nothing heavy and touches no Docker
until a fixture is used.

    def test_prediction(sagemaker_endpoints):
        emulator = sagemaker_endpoints("pipeline.yaml")
        client = emulator.boto3_client()
        answer = client.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Body=row)
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

if TYPE_CHECKING:
    from emulator.api import Emulator
    from emulator.hosting.resident import ResidentEmulator


def pytest_addoption(parser: pytest.Parser) -> None:
    # The contract suite's options (--sagemaker-image, ..., --sagemaker-startup-timeout) are its own plugin's.
    group = parser.getgroup("sagemaker-emulator", "SageMaker endpoint emulator")
    group.addoption("--sagemaker-pipeline", metavar="FILE",
                    help="pipeline definition started by the `sagemaker_pipeline` fixture")
    group.addoption("--sagemaker-docker-host", metavar="URL", help="Docker engine to use (default: DOCKER_HOST or the local socket)")
    group.addoption("--sagemaker-reuse", action="store_true", default=None,
                    help="keep the endpoints' containers after the run and adopt them in the next one when nothing "
                         "changed (`sagemaker-emulator prune` removes them)")
    parser.addini("sagemaker_pipeline", "pipeline definition started by the `sagemaker_pipeline` fixture")
    parser.addini("sagemaker_reuse", "true: as --sagemaker-reuse", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist workers are processes of their own: each gets its own session label, and every
    # endpoint start gets unique container names, so workers never collide.
    config.addinivalue_line("markers", "sagemaker_pipeline(path): the pipeline definition the `sagemaker_pipeline` fixture starts")


@pytest.fixture(scope="session")
def sagemaker_startup_timeout(pytestconfig: pytest.Config) -> float | None:
    """Seconds to wait for a container's /ping; override this fixture or pass --sagemaker-startup-timeout
    (registered by the contract suite's plugin, installed with this one)."""
    return pytestconfig.getoption("sagemaker_startup_timeout", None)


@pytest.fixture(scope="session")
def sagemaker_docker_host(pytestconfig: pytest.Config) -> str | None:
    """The Docker engine; override this fixture or pass --sagemaker-docker-host."""
    return pytestconfig.getoption("sagemaker_docker_host", None)


@pytest.fixture(scope="session")
def sagemaker_reuse(pytestconfig: pytest.Config) -> bool:
    """Keep and adopt containers across runs; override this fixture, pass --sagemaker-reuse or set sagemaker_reuse."""
    option = pytestconfig.getoption("sagemaker_reuse", None)
    return bool(option) if option is not None else bool(pytestconfig.getini("sagemaker_reuse"))


@pytest.fixture(scope="session")
def sagemaker_endpoints(sagemaker_startup_timeout: float | None, sagemaker_docker_host: str | None,
                        sagemaker_reuse: bool) -> Iterator[Callable[..., "Emulator"]]:
    """Factory: start the endpoints of a definition (file path or dict; None: none), served on a free port.

    Each call starts its own containers; all are removed at the end of the session,
    also when a test fails or the run is interrupted. With reuse, a definition file's endpoints are
    served by a resident emulator that stays for the next run instead (emulator.hosting.resident).
    """
    started: list[Emulator | ResidentEmulator] = []
    _interrupt_on_sigterm()

    def start(source: Any = None, **options: Any) -> Emulator | ResidentEmulator:
        options.setdefault("startup_timeout", sagemaker_startup_timeout)
        options.setdefault("docker_host", sagemaker_docker_host)
        reuse = options.pop("reuse", sagemaker_reuse)
        if reuse and isinstance(source, (str, Path)):
            resident = _resident(source, options)
            if resident is not None:
                started.append(resident)
                return resident
            # Another live run holds the resident: this one starts its own, keeping containers as reuse does.
        from emulator.api import Emulator  # noqa: PLC0415 - Docker only when the fixture is used

        emulator = Emulator(source, reuse=reuse, **options)
        started.append(emulator)  # before start(): a start failing half-way is still cleaned up
        emulator.listen()  # so the front boots while the containers do
        emulator.start()
        emulator.serve()
        return emulator

    try:
        yield start
    finally:
        for emulator in started:
            emulator.stop()


@pytest.fixture(scope="session")
def sagemaker_emulator(sagemaker_endpoints: Callable[..., "Emulator"]) -> "Emulator":
    """An emulator with no endpoint at start, served, shared by the session: tests deploy through the
    sagemaker API (boto3, the SageMaker SDK) as their scripts do."""
    return sagemaker_endpoints(None)


@pytest.fixture
def sagemaker_environment(sagemaker_emulator: "Emulator") -> Iterator[dict[str, str]]:
    """AWS_ENDPOINT_URL and dummy credentials set for the test (variables that would win over them unset),
    so code under test that builds its own boto3 clients or SDK sessions calls the emulator."""
    with sagemaker_emulator.redirected() as variables:
        yield variables


@pytest.fixture(scope="session")
def _sagemaker_pipeline_session() -> dict[str, "Emulator"]:
    return {}


@pytest.fixture
def sagemaker_pipeline(request: pytest.FixtureRequest, sagemaker_endpoints: Callable[..., "Emulator"],
                       _sagemaker_pipeline_session: dict[str, "Emulator"]) -> "Emulator":
    """The endpoints of the definition named by the `sagemaker_pipeline` marker, --sagemaker-pipeline or the
    `sagemaker_pipeline` ini value; started once per session per definition."""
    path = _pipeline_path(request)
    key = str(path.resolve())
    if key not in _sagemaker_pipeline_session:
        _sagemaker_pipeline_session[key] = sagemaker_endpoints(path)
    return _sagemaker_pipeline_session[key]


def _resident(source: str | Path, options: dict[str, Any]) -> "ResidentEmulator | None":
    """With reuse, a definition file is served by a resident emulator that outlives the run, so the next
    run's first answer comes in milliseconds (emulator.hosting.resident); None when another live run holds it."""
    from emulator.hosting import resident  # noqa: PLC0415

    return resident.attach(source, options) if resident.serializable(options) else None


def _interrupt_on_sigterm() -> None:
    """A CI runner cancels with SIGTERM, which would kill pytest before any cleanup: make it an interrupt,
    so fixtures and the emulator's exit handler remove the containers."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _pipeline_path(request: pytest.FixtureRequest) -> Path:
    marker = request.node.get_closest_marker("sagemaker_pipeline")
    config = request.config
    if marker and marker.args:
        return Path(request.node.path).parent / marker.args[0]
    value = config.getoption("sagemaker_pipeline") or config.getini("sagemaker_pipeline")
    if not value:
        pytest.fail("the sagemaker_pipeline fixture needs a definition: mark the test with "
                    "@pytest.mark.sagemaker_pipeline('pipeline.yaml'), or pass --sagemaker-pipeline FILE, "
                    "or set sagemaker_pipeline in the pytest ini file.", pytrace=False)
    return Path(config.rootpath) / value if not Path(value).is_absolute() else Path(value)
