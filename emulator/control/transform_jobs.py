"""CreateTransformJob, DescribeTransformJob, StopTransformJob, ListTransformJobs: batch transform through
the API, as SageMaker runs it.

CreateTransformJob checks the request and that the input exists, then returns; a background thread of the
owner starts the model's containers with the batch environment, copies the inputs from S3, runs the
transform engine (emulator.transform) through them, uploads each `<name>.out` under S3OutputPath, removes
the containers, and only then sets the job Completed, or Failed with the reason. StopTransformJob sets
Stopping, removes the containers at once and ends at Stopped, uploading nothing. The containers' output goes
to CloudWatch Logs (`/aws/sagemaker/TransformJobs`, stream `<job>/<instance>`, and the job's failures to
`<job>/<instance>/data-log`), where the SDK's `Transformer.transform(logs=True)` reads it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from emulator.observe.log_shipping import TRANSFORM_JOBS_GROUP, Destination, LogShipper, instance_id, transform_stream
from emulator.aws.s3 import S3Error
from emulator.aws.s3_transform import JobStopped, input_objects, run_s3_transform
from emulator.invocation.chain_target import ChainTarget
from emulator.invocation.chain import Chain
from emulator.control import resources
from emulator.control.errors import ResourceInUse, ResourceNotFound, ValidationException
from emulator.control.models import runnable
from emulator.control.operations import operation
from emulator.control.plane import MODEL, ControlPlane, arn, key, now
from emulator.control.records import TRANSFORM_JOB, TransformJobRecord, transform_jobs
from emulator.definition import EndpointDefinition
from emulator.containers.docker_backend import DockerBackend
from emulator.containers.group import ContainerGroup
from emulator.errors import DefinitionError, EmulatorError
from emulator.transform import (JobConfigError, TransformFailed, TransformJob, TransformTarget, from_request,
                               with_batch_environment)

FAILURE_REASON_LIMIT = 1024  # the model's FailureReason
SUMMARY = ("TransformJobName", "TransformJobArn", "CreationTime", "TransformEndTime", "LastModifiedTime",
           "TransformJobStatus", "FailureReason")

_log = logging.getLogger(__name__)


@operation("CreateTransformJob")
def create_transform_job(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["TransformJobName"]
    job_arn = arn(TRANSFORM_JOB, name)
    records = transform_jobs(plane.store)
    if records.get(name) is not None:
        raise ResourceInUse("Job name must be unique within an AWS account and region, and a job with this name "
                            f"already exists ({job_arn})")
    model = resources.find(plane, MODEL, request["ModelName"])["Describe"]
    try:
        job = from_request(request)
        definition = runnable(model, name)
    except JobConfigError as error:
        raise ValidationException(str(error)) from None
    except DefinitionError as error:
        raise ValidationException(f"ModelName {request['ModelName']}: {error.problem} Fix: {error.fix}") from None
    try:
        input_objects(job)
    except S3Error as error:  # SageMaker, too, refuses a job whose input it cannot list
        raise ValidationException(f"No S3 objects found under S3 URL \"{job.input_uri}\" given in input data source: "
                                  f"{error}") from None
    record = TransformJobRecord.new(request, now())
    resources.check_tag_keys([tag.get("Key", "") for tag in record.tags])
    records.insert(record)  # the name was free above: operations run under the plane's lock
    jobs(plane).start(name, job, definition)
    return {"TransformJobArn": job_arn}


@operation("DescribeTransformJob")
def describe_transform_job(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    return _find(plane, request["TransformJobName"]).describe()


@operation("StopTransformJob")
def stop_transform_job(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    name = request["TransformJobName"]
    status = _find(plane, name, error=ResourceNotFound).status
    if status == "InProgress":
        jobs(plane).record(name, "Stopping")
        jobs(plane).stop(name)
    elif status != "Stopping":
        raise ValidationException(f"Transform job {name} is {status}; only an InProgress job can be stopped.")
    return {}


@operation("ListTransformJobs")
def list_transform_jobs(plane: ControlPlane, request: dict[str, Any]) -> dict[str, Any]:
    page, token = resources.listing(plane, TRANSFORM_JOB, request, name_field="TransformJobName", members=SUMMARY,
                                    status_field="TransformJobStatus")
    return {"TransformJobSummaries": page, **({"NextToken": token} if token else {})}


def _find(plane: ControlPlane, name: str, error: type = ValidationException) -> TransformJobRecord:
    record = transform_jobs(plane.store).get(name)
    if record is None:
        raise error(f"Could not find requested job with name {name}")
    return record


def jobs(plane: ControlPlane) -> TransformJobs:
    """The owner's job runner (emulator.hosting.emulator starts one with the plane)."""
    runner = plane.transform_jobs
    if not isinstance(runner, TransformJobs):
        raise EmulatorError("this control plane runs no transform jobs (no TransformJobs was attached to it).")
    return runner


class TransformJobs:
    """The jobs running in the owner process, each on its own thread; their containers are theirs alone."""

    def __init__(self, plane: ControlPlane, backend: DockerBackend, logs: LogShipper, *,
                 startup_timeout: float | None = None, instance_limits: bool = True):
        """`instance_limits`: a job's containers share its TransformResources.InstanceType's vCPUs and memory
        (False: the machine's)."""
        self.plane, self.backend, self.logs, self.startup_timeout = plane, backend, logs, startup_timeout
        self.instance_limits = instance_limits
        self.records = transform_jobs(plane.store)
        self._running: dict[str, tuple[threading.Event, ContainerGroup | None]] = {}
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._fail_orphans()

    def start(self, name: str, job: TransformJob, definition: EndpointDefinition) -> None:
        stopped = threading.Event()
        with self._lock:
            self._running[key(name)] = (stopped, None)
        thread = threading.Thread(target=self._run, args=(name, job, definition, stopped), daemon=True,
                                  name=f"transform-{name}")
        self._threads.add(thread)
        thread.start()

    def stop(self, name: str) -> None:
        """Ends the job soon: its containers are removed now (in the background), its thread ends at Stopped."""
        with self._lock:
            stopped, endpoint = self._running.get(key(name), (None, None))
        if stopped is None:
            return
        stopped.set()
        if endpoint is not None:
            threading.Thread(target=endpoint.stop, kwargs={"timeout": 0}, daemon=True).start()

    def close(self) -> None:
        """The owner stops: every job ends as Stopped, its containers removed."""
        for name in list(self._running):
            self.stop(name)
        for thread in list(self._threads):
            thread.join(timeout=30)

    def record(self, name: str, status: str, reason: str | None = None) -> None:
        with self.plane.lock:
            record = self.records.get(name)
            if record is not None:
                self.records.put(record.moved_to(status, reason[:FAILURE_REASON_LIMIT] if reason else None, now()))

    # -- one job, on its thread ---------------------------------------------------------------------------------
    def _run(self, name: str, job: TransformJob, definition: EndpointDefinition, stopped: threading.Event) -> None:
        endpoint = ContainerGroup(with_batch_environment(definition, job), self.backend,
                                  startup_timeout=self.startup_timeout, instance_limits=self.instance_limits)
        instance = instance_id()
        status, reason = "Completed", None
        try:
            with self._lock:
                self._running[key(name)] = (stopped, endpoint)
            if stopped.is_set():
                raise JobStopped()
            endpoint.start()
            self._ship_logs(name, instance, endpoint)
            target = _Stoppable(ChainTarget(Chain(name, endpoint.routes, endpoint.definition.mode)), stopped)
            with tempfile.TemporaryDirectory(prefix="sagemaker-emulator-transform-") as workdir:
                run_s3_transform(job, target, Path(workdir), stopped=stopped.is_set)
        except TransformFailed as failed:
            status, reason = "Failed", _failure(failed)
            self.logs.write(Destination(TRANSFORM_JOBS_GROUP, transform_stream(name, instance, "data-log")),
                            [str(error) for error in failed.errors])
        except (JobStopped, EmulatorError) as error:
            status, reason = ("Stopped", None) if stopped.is_set() else ("Failed", str(error).strip())
        except Exception as error:  # a bug of ours: the job fails with a reason, the owner keeps running
            _log.exception("transform job %s", name)
            status, reason = "Failed", f"The emulator failed running the job: {type(error).__name__}: {error}"
        finally:
            endpoint.stop()
            self.logs.drain([container.id for container in endpoint.containers if container.id])
            with self._lock:
                self._running.pop(key(name), None)
                self._threads.discard(threading.current_thread())
        self.record(name, "Stopped" if stopped.is_set() else status, reason)

    def _ship_logs(self, name: str, instance: str, endpoint: ContainerGroup) -> None:
        for container in endpoint.containers:
            hostname = container.hostname if endpoint.definition.is_pipeline else None
            self.logs.follow(container.id, Destination(TRANSFORM_JOBS_GROUP, transform_stream(name, instance, hostname)))

    def _fail_orphans(self) -> None:
        """Jobs a previous owner process left running end as Failed: their containers went with it."""
        with self.plane.lock:
            for record in self.records.all():
                if record.running:
                    self.record(record.name, "Failed", "The emulator stopped while the job ran. Fix: create the job again.")


class _Stoppable:
    """The job's target, refusing every call once the job is stopped, so the engine ends at once."""

    def __init__(self, target: TransformTarget, stopped: threading.Event):
        self.target, self.stopped = target, stopped

    def execution_parameters(self) -> dict[str, Any] | None:
        if self.stopped.is_set():
            raise JobStopped()
        return self.target.execution_parameters()

    def invoke(self, body: bytes, *, content_type: str | None, accept: str | None,
               timeout: float) -> tuple[str | None, bytes]:
        if self.stopped.is_set():
            raise JobStopped()
        try:
            return self.target.invoke(body, content_type=content_type, accept=accept, timeout=timeout)
        except Exception:
            if self.stopped.is_set():  # the container was removed under the request: that is the stop
                raise JobStopped() from None
            raise


def _failure(failed: TransformFailed) -> str:
    """SageMaker's reason names the first failure and points at the data log."""
    first = failed.errors[0]
    more = f" (and {len(failed.errors) - 1} more input files)" if len(failed.errors) > 1 else ""
    return f"{first}{more}. See the data log in CloudWatch Logs, group {TRANSFORM_JOBS_GROUP}, for every failure."
