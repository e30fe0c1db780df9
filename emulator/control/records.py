"""The records of what changes state in the control plane, typed: each endpoint (its status, what it deployed
and what an update is bringing in) and each transform job (its status through its run).

The store keeps every kind of resource as one JSON document, `{"Describe": ..., "Tags": [...], ...}` (see
`control/resources.py`); an endpoint's document adds `Deployed` and `Pending`. This module is the only one that
reads or writes an endpoint's or a job's document: everything else works on the records. The layout stays the
one earlier versions wrote, so a state folder carries over. Models and endpoint configs never change once
created: they stay their Describe answer, in the shape botocore's model gives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Generic, Protocol, TypeVar

from emulator.control.errors import not_found
from emulator.control.plane import ENDPOINT, arn, key
from emulator.control.store import Store
from emulator.settings import DEFAULT_MAX_INSTANCES

# SystemUpdating: coming back after a restart of the emulator (SageMaker's status for maintenance).
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating")
TRANSFORM_JOB = "transform-job"  # the ARN's resource type, the store's kind
JOB_RUNNING = ("InProgress", "Stopping")


@dataclass(frozen=True)
class DeployedVariant:
    """A production variant as an endpoint runs it: a copy of its model, so that deleting the model or the
    config later changes nothing the endpoint runs."""
    name: str
    weight: float
    instance_count: int
    model: dict[str, Any] | None  # the model's Describe (CreateModel's members); None: it hosts inference components
    startup_timeout: float | None = None  # ContainerStartupHealthCheckTimeoutInSeconds
    instance_type: str | None = None
    source: str | None = None  # the definition file a preloaded model came from
    shadow: bool = False  # one of ShadowProductionVariants: gets copies of requests, never routed to
    serverless: dict[str, Any] | None = None  # ServerlessConfig: sized by memory, not instances (control.serverless)

    def to_json(self) -> dict[str, Any]:
        return {"VariantName": self.name, "Weight": self.weight, "InstanceCount": self.instance_count,
                "StartupTimeout": self.startup_timeout, "InstanceType": self.instance_type,
                "Model": self.model, "Source": self.source, "Shadow": self.shadow, "ServerlessConfig": self.serverless}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DeployedVariant":
        return cls(data["VariantName"], data["Weight"], data.get("InstanceCount", 1), data["Model"],
                   data.get("StartupTimeout"), data.get("InstanceType"), data.get("Source"), data.get("Shadow", False),
                   data.get("ServerlessConfig"))

    def summary(self, since: float, max_instances: int) -> dict[str, Any]:
        """Its member of DescribeEndpoint's ProductionVariants: CurrentInstanceCount is the copies that run (at
        most `max_instances`), DesiredInstanceCount those asked for."""
        model = self.model
        containers = [] if model is None else model.get("Containers") or [model["PrimaryContainer"]]
        summary = {"VariantName": self.name,
                   "DeployedImages": [{"SpecifiedImage": c["Image"], "ResolvedImage": c["Image"], "ResolutionTime": since}
                                      for c in containers],
                   "CurrentWeight": self.weight, "DesiredWeight": self.weight}
        if self.serverless:  # sized by its memory, not by instances
            return {**summary, "CurrentServerlessConfig": self.serverless, "DesiredServerlessConfig": self.serverless}
        return {**summary, "CurrentInstanceCount": min(self.instance_count, max_instances),
                "DesiredInstanceCount": self.instance_count}


@dataclass(frozen=True)
class Deployment:
    """What an endpoint runs for one endpoint config."""
    config_name: str
    variants: tuple[DeployedVariant, ...]
    async_config: dict[str, Any] | None = None  # AsyncInferenceConfig: the endpoint answers InvokeEndpointAsync
    capture_config: dict[str, Any] | None = None  # DataCaptureConfig

    def to_json(self) -> dict[str, Any]:
        return {"EndpointConfigName": self.config_name, "Variants": [v.to_json() for v in self.variants],
                "AsyncInferenceConfig": self.async_config, "DataCaptureConfig": self.capture_config}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Deployment":
        return cls(data["EndpointConfigName"], tuple(DeployedVariant.from_json(v) for v in data["Variants"]),
                   data.get("AsyncInferenceConfig"), data.get("DataCaptureConfig"))

    def capture_summary(self) -> dict[str, Any] | None:
        """DescribeEndpoint's DataCaptureConfig (a DataCaptureConfigSummary)."""
        config = self.capture_config
        if not config:
            return None
        enabled = config.get("EnableCapture", True)
        return {"EnableCapture": enabled, "CaptureStatus": "Started" if enabled else "Stopped",
                "CurrentSamplingPercentage": config["InitialSamplingPercentage"],
                "DestinationS3Uri": config["DestinationS3Uri"],
                **({"KmsKeyId": config["KmsKeyId"]} if "KmsKeyId" in config else {})}

    def variant(self, name: str) -> DeployedVariant | None:
        return next((variant for variant in self.variants if variant.name == name), None)

    @property
    def hosts_components(self) -> bool:
        """Its variants have no model of their own: inference components run on them."""
        return any(variant.model is None for variant in self.variants)


@dataclass(frozen=True)
class EndpointRecord:
    name: str
    arn: str
    config_name: str
    status: str
    created: float
    modified: float
    deployed: Deployment
    pending: Deployment | None = None  # an update's deployment, while its containers start
    failure_reason: str | None = None
    tags: tuple[dict[str, str], ...] = field(default_factory=tuple)
    # The last CreateEndpoint's or UpdateEndpoint's DeploymentConfig: how the pending update is rolled out
    # (emulator.control.deployment), and DescribeEndpoint's LastDeploymentConfig.
    deployment_config: dict[str, Any] | None = None

    @classmethod
    def new(cls, name: str, deployed: Deployment, created: float, tags: list[dict[str, str]],
            deployment_config: dict[str, Any] | None = None) -> "EndpointRecord":
        return cls(name, arn(ENDPOINT, name), deployed.config_name, "Creating", created, created, deployed,
                   tags=tuple(tags), deployment_config=deployment_config)

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    def with_status(self, status: str, reason: str | None, modified: float, **changes: Any) -> "EndpointRecord":
        """The record in `status`; `reason` None clears FailureReason."""
        return replace(self, status=status, failure_reason=reason, modified=modified, **changes)

    def describe(self, max_instances: int = DEFAULT_MAX_INSTANCES) -> dict[str, Any]:
        """DescribeEndpoint's answer (`max_instances`: the copies a variant runs at most)."""
        answer: dict[str, Any] = {"EndpointName": self.name, "EndpointArn": self.arn,
                                  "EndpointConfigName": self.config_name, "EndpointStatus": self.status,
                                  "CreationTime": self.created, "LastModifiedTime": self.modified}
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        if self.deployed.async_config:
            answer["AsyncInferenceConfig"] = self.deployed.async_config
        if self.deployed.capture_config:
            answer["DataCaptureConfig"] = self.deployed.capture_summary()
        if self.deployment_config:
            answer["LastDeploymentConfig"] = self.deployment_config
        if self.status not in ("Creating", "Failed"):
            answer["ProductionVariants"] = [variant.summary(self.modified, max_instances)
                                            for variant in self.deployed.variants if not variant.shadow]
            shadows = [variant.summary(self.modified, max_instances) for variant in self.deployed.variants if variant.shadow]
            if shadows:
                answer["ShadowProductionVariants"] = shadows
        return answer

    def to_document(self) -> dict[str, Any]:
        """The stored form (the layout every resource kind shares; `Describe` holds what List* and tags read)."""
        describe = {"EndpointName": self.name, "EndpointArn": self.arn, "EndpointConfigName": self.config_name,
                    "EndpointStatus": self.status, "CreationTime": self.created, "LastModifiedTime": self.modified}
        if self.failure_reason is not None:
            describe["FailureReason"] = self.failure_reason
        return {"Describe": describe, "Tags": list(self.tags), "Deployed": self.deployed.to_json(),
                "Pending": self.pending.to_json() if self.pending else None, "DeploymentConfig": self.deployment_config}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "EndpointRecord":
        describe = document["Describe"]
        return cls(describe["EndpointName"], describe["EndpointArn"], describe["EndpointConfigName"],
                   describe["EndpointStatus"], describe["CreationTime"], describe["LastModifiedTime"],
                   Deployment.from_json(document["Deployed"]),
                   Deployment.from_json(document["Pending"]) if document.get("Pending") else None,
                   describe.get("FailureReason"), tuple(document.get("Tags") or ()), document.get("DeploymentConfig"))


class Stored(Protocol):
    name: str

    def to_document(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Stored)


class Records(Generic[R]):
    """One kind's records in the store, by name (case-insensitive, as SageMaker's names are)."""

    def __init__(self, store: Store, kind: str, read: Callable[[dict[str, Any]], R]):
        self._store, self._kind, self._read = store, kind, read

    def get(self, name: str) -> R | None:
        document = self._store.get(self._kind, key(name))
        return self._read(document) if document else None

    def insert(self, record: R) -> bool:
        """False when a record of that name exists already."""
        return self._store.insert(self._kind, key(record.name), record.to_document())

    def put(self, record: R) -> None:
        self._store.put(self._kind, key(record.name), record.to_document())

    def delete(self, name: str) -> None:
        self._store.delete(self._kind, key(name))

    def all(self) -> list[R]:
        return [self._read(document) for document in self._store.all(self._kind)]


class EndpointRecords(Records[EndpointRecord]):
    def __init__(self, store: Store):
        super().__init__(store, ENDPOINT, EndpointRecord.from_document)

    def find(self, name: str) -> EndpointRecord:
        """The record, or SageMaker's ValidationException 'Could not find endpoint "arn..."'."""
        record = self.get(name)
        if record is None:
            raise not_found("endpoint", arn(ENDPOINT, name))
        return record


def read_all(documents: list[dict[str, Any]]) -> list[EndpointRecord]:
    """Records from the stored documents a reader of the database got itself (`sagemaker-emulator ls`)."""
    return [EndpointRecord.from_document(document) for document in documents]


@dataclass(frozen=True)
class TransformJobRecord:
    name: str
    request: dict[str, Any]  # CreateTransformJob's members but Tags: DescribeTransformJob answers them
    arn: str
    status: str
    created: float
    modified: float
    failure_reason: str | None = None
    ended: float | None = None  # TransformEndTime
    tags: tuple[dict[str, str], ...] = field(default_factory=tuple)

    @classmethod
    def new(cls, request: dict[str, Any], created: float) -> "TransformJobRecord":
        name = request["TransformJobName"]
        return cls(name, {member: value for member, value in request.items() if member != "Tags"},
                   arn(TRANSFORM_JOB, name), "InProgress", created, created, tags=tuple(request.get("Tags") or ()))

    @property
    def running(self) -> bool:
        return self.status in JOB_RUNNING

    def moved_to(self, status: str, reason: str | None, at: float) -> "TransformJobRecord":
        """The job in `status`; a job asked to stop ends Stopped, whatever ended it."""
        if self.status == "Stopping" and status not in JOB_RUNNING:
            status, reason = "Stopped", None
        return replace(self, status=status, modified=at, ended=None if status in JOB_RUNNING else at,
                       failure_reason=reason or self.failure_reason)

    def describe(self) -> dict[str, Any]:
        answer = {**self.request, "TransformJobArn": self.arn, "TransformJobStatus": self.status,
                  "CreationTime": self.created, "LastModifiedTime": self.modified, "TransformStartTime": self.created}
        if self.ended is not None:
            answer["TransformEndTime"] = self.ended
        if self.failure_reason:
            answer["FailureReason"] = self.failure_reason
        return answer

    def to_document(self) -> dict[str, Any]:
        return {"Describe": self.describe(), "Tags": list(self.tags)}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "TransformJobRecord":
        describe = dict(document["Describe"])
        fields_ = [describe.pop(member, None) for member in ("TransformJobArn", "TransformJobStatus", "CreationTime",
                                                               "LastModifiedTime", "FailureReason", "TransformEndTime")]
        describe.pop("TransformStartTime", None)
        job_arn, status, created, modified, reason, ended = fields_
        return cls(describe["TransformJobName"], describe, job_arn, status, created, modified, reason, ended,
                   tuple(document.get("Tags") or ()))


def transform_jobs(store: Store) -> Records[TransformJobRecord]:
    return Records(store, TRANSFORM_JOB, TransformJobRecord.from_document)
