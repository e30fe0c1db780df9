"""The endpoint's record, typed: what the control plane keeps of each endpoint, what it deployed and what an
update is bringing in.

The store keeps every kind of resource as one JSON document, `{"Describe": ..., "Tags": [...], ...}` (see
`control/resources.py`); an endpoint's document adds `Deployed` and `Pending`. This module is the only one that
reads or writes those members of an endpoint's document: everything else works on `EndpointRecord`.
The layout stays the one earlier versions wrote, so a state folder carries over.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from emulator.control.errors import not_found
from emulator.control.plane import ENDPOINT, arn, key
from emulator.control.store import Store

# SystemUpdating: coming back after a restart of the emulator (SageMaker's status for maintenance).
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating")


@dataclass(frozen=True)
class DeployedVariant:
    """A production variant as an endpoint runs it: a copy of its model, so that deleting the model or the
    config later changes nothing the endpoint runs."""
    name: str
    weight: float
    instance_count: int
    model: dict[str, Any]  # the model's Describe (CreateModel's members)
    startup_timeout: float | None = None  # ContainerStartupHealthCheckTimeoutInSeconds
    instance_type: str | None = None
    source: str | None = None  # the definition file a preloaded model came from

    def to_json(self) -> dict[str, Any]:
        return {"VariantName": self.name, "Weight": self.weight, "InstanceCount": self.instance_count,
                "StartupTimeout": self.startup_timeout, "InstanceType": self.instance_type,
                "Model": self.model, "Source": self.source}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DeployedVariant":
        return cls(data["VariantName"], data["Weight"], data.get("InstanceCount", 1), data["Model"],
                   data.get("StartupTimeout"), data.get("InstanceType"), data.get("Source"))

    def summary(self, since: float) -> dict[str, Any]:
        """Its member of DescribeEndpoint's ProductionVariants."""
        containers = self.model.get("Containers") or [self.model["PrimaryContainer"]]
        return {"VariantName": self.name,
                "DeployedImages": [{"SpecifiedImage": c["Image"], "ResolvedImage": c["Image"], "ResolutionTime": since}
                                   for c in containers],
                "CurrentWeight": self.weight, "DesiredWeight": self.weight,
                "CurrentInstanceCount": self.instance_count, "DesiredInstanceCount": self.instance_count}


@dataclass(frozen=True)
class Deployment:
    """What an endpoint runs for one endpoint config."""
    config_name: str
    variants: tuple[DeployedVariant, ...]
    async_config: dict[str, Any] | None = None  # AsyncInferenceConfig: the endpoint answers InvokeEndpointAsync

    def to_json(self) -> dict[str, Any]:
        return {"EndpointConfigName": self.config_name, "Variants": [v.to_json() for v in self.variants],
                "AsyncInferenceConfig": self.async_config}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Deployment":
        return cls(data["EndpointConfigName"], tuple(DeployedVariant.from_json(v) for v in data["Variants"]),
                   data.get("AsyncInferenceConfig"))

    def variant(self, name: str) -> DeployedVariant | None:
        return next((variant for variant in self.variants if variant.name == name), None)


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

    @classmethod
    def new(cls, name: str, deployed: Deployment, created: float, tags: list[dict[str, str]]) -> "EndpointRecord":
        return cls(name, arn(ENDPOINT, name), deployed.config_name, "Creating", created, created, deployed,
                   tags=tuple(tags))

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    def with_status(self, status: str, reason: str | None, modified: float, **changes: Any) -> "EndpointRecord":
        """The record in `status`; `reason` None clears FailureReason."""
        return replace(self, status=status, failure_reason=reason, modified=modified, **changes)

    def describe(self) -> dict[str, Any]:
        """DescribeEndpoint's answer."""
        answer: dict[str, Any] = {"EndpointName": self.name, "EndpointArn": self.arn,
                                  "EndpointConfigName": self.config_name, "EndpointStatus": self.status,
                                  "CreationTime": self.created, "LastModifiedTime": self.modified}
        if self.failure_reason is not None:
            answer["FailureReason"] = self.failure_reason
        if self.deployed.async_config:
            answer["AsyncInferenceConfig"] = self.deployed.async_config
        if self.status not in ("Creating", "Failed"):
            answer["ProductionVariants"] = [variant.summary(self.modified) for variant in self.deployed.variants]
        return answer

    def to_document(self) -> dict[str, Any]:
        """The stored form (the layout every resource kind shares; `Describe` holds what List* and tags read)."""
        describe = {"EndpointName": self.name, "EndpointArn": self.arn, "EndpointConfigName": self.config_name,
                    "EndpointStatus": self.status, "CreationTime": self.created, "LastModifiedTime": self.modified}
        if self.failure_reason is not None:
            describe["FailureReason"] = self.failure_reason
        return {"Describe": describe, "Tags": list(self.tags), "Deployed": self.deployed.to_json(),
                "Pending": self.pending.to_json() if self.pending else None}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "EndpointRecord":
        describe = document["Describe"]
        return cls(describe["EndpointName"], describe["EndpointArn"], describe["EndpointConfigName"],
                   describe["EndpointStatus"], describe["CreationTime"], describe["LastModifiedTime"],
                   Deployment.from_json(document["Deployed"]),
                   Deployment.from_json(document["Pending"]) if document.get("Pending") else None,
                   describe.get("FailureReason"), tuple(document.get("Tags") or ()))


class EndpointRecords:
    """The endpoints' records in the store, by name (case-insensitive, as SageMaker's names are)."""

    def __init__(self, store: Store):
        self._store = store

    def get(self, name: str) -> EndpointRecord | None:
        document = self._store.get(ENDPOINT, key(name))
        return EndpointRecord.from_document(document) if document else None

    def find(self, name: str) -> EndpointRecord:
        """The record, or SageMaker's ValidationException 'Could not find endpoint "arn..."'."""
        record = self.get(name)
        if record is None:
            raise not_found("endpoint", arn(ENDPOINT, name))
        return record

    def insert(self, record: EndpointRecord) -> bool:
        """False when an endpoint of that name exists already."""
        return self._store.insert(ENDPOINT, key(record.name), record.to_document())

    def put(self, record: EndpointRecord) -> None:
        self._store.put(ENDPOINT, key(record.name), record.to_document())

    def delete(self, name: str) -> None:
        self._store.delete(ENDPOINT, key(name))

    def all(self) -> list[EndpointRecord]:
        return [EndpointRecord.from_document(document) for document in self._store.all(ENDPOINT)]


def read_all(documents: list[dict[str, Any]]) -> list[EndpointRecord]:
    """Records from the stored documents a reader of the database got itself (`sagemaker-emulator ls`)."""
    return [EndpointRecord.from_document(document) for document in documents]
