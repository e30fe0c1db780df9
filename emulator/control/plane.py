"""The control plane as one object: the store, botocore's model of the API, the operation table and the
endpoints' lifecycle. `call` is the one way in, for HTTP requests and for definitions preloaded from a file.
"""

from __future__ import annotations

import functools
import threading
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from emulator.aws import validation
from emulator.control import operations
from emulator.control.errors import UnknownOperationException, ValidationException
from emulator.control.store import Store
from emulator.arns import ACCOUNT, REGION

if TYPE_CHECKING:
    from emulator.containers.group import ContainerGroup


# ARN resource types and the words SageMaker's messages use for them.
MODEL, ENDPOINT_CONFIG, ENDPOINT = "model", "endpoint-config", "endpoint"
INFERENCE_COMPONENT = "inference-component"
SPOKEN = {MODEL: "model", ENDPOINT_CONFIG: "endpoint configuration", ENDPOINT: "endpoint",
          INFERENCE_COMPONENT: "inference component"}
# The region of the call being answered (its SigV4 scope's): the ARNs it makes carry it, as AWS's do.
_REGION: ContextVar[str] = ContextVar("region", default=REGION)


def arn(kind: str, name: str) -> str:
    """SageMaker's ARNs carry the name in lower case."""
    return f"arn:aws:sagemaker:{_REGION.get()}:{ACCOUNT}:{kind}/{name.lower()}"


def key(name: str) -> str:
    """Names are unique regardless of case, as their ARNs are."""
    return name.lower()


def now() -> float:
    """Timestamps as botocore's JSON 1.1 parser reads them: seconds since the epoch."""
    return round(time.time(), 3)


# The plane's parts take the plane when they are built, so the owner hands them to it afterwards; the plane
# knows them by what the operations ask of them.
class EndpointRunner(Protocol):
    """Runs the endpoints' containers (emulator.control.lifecycle.Lifecycle)."""

    def create(self, name: str) -> None: ...
    def update(self, name: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def reweigh(self, name: str) -> None: ...


class JobRunner(Protocol):
    """Runs transform jobs (emulator.control.transform_jobs.TransformJobs; its operations reach it by `jobs()`)."""

    def close(self) -> None: ...


class EndpointLogs(Protocol):
    """Where an endpoint's container output goes (CloudWatch Logs, embedded or not)."""

    def ship_endpoint_logs(self, endpoint_name: str, variant: str, endpoint: ContainerGroup) -> None: ...


class ControlPlane:
    def __init__(self, store: Store, *, describe_wait: float = 0.0):
        self.store = store
        self.describe_wait = describe_wait  # see emulator.control.endpoints.describe_endpoint
        self.operations = operations.load()
        # One lock over the state: operations are short; a waiting DescribeEndpoint releases it
        # through `changed`, which the lifecycle notifies on every status change.
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        # Set once by the owner's composition root (emulator.hosting.emulator), right after the plane is built.
        self.lifecycle: EndpointRunner | None = None
        self.aws: EndpointLogs | None = None
        self.transform_jobs: JobRunner | None = None

    @functools.cached_property
    def model(self) -> Any:
        """botocore's model of the sagemaker API: read on the first HTTP request (it takes a while), never
        for an emulator that only runs definitions."""
        from botocore.session import get_session  # noqa: PLC0415

        return get_session().get_service_model("sagemaker")

    def call(self, name: str, request: dict[str, Any], *, validate: bool = True,
             region: str | None = None) -> dict[str, Any]:
        """`region`: the one the caller signed for (the default region when None)."""
        handler = self.operations.get(name)
        if handler is None:
            raise self._unknown(name)
        if validate:
            try:
                validation.validate(self.model.operation_model(name).input_shape, request)
            except validation.ModelViolation as violation:
                raise ValidationException(str(violation)) from None
        in_region = _REGION.set(region or REGION)
        try:
            with self.lock:
                return handler(self, request)
        finally:
            _REGION.reset(in_region)

    def notify(self) -> None:
        with self.lock:
            self.changed.notify_all()

    def _unknown(self, name: str) -> UnknownOperationException:
        if name in self.model.operation_names:
            return UnknownOperationException(
                f"The emulator does not implement SageMaker.{name}. It answers: {', '.join(sorted(self.operations))}.")
        return UnknownOperationException(f"SageMaker has no operation {name[:100]!r}.")
