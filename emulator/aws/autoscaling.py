"""The embedded Application Auto Scaling beyond what moto does: moto stores scalable targets and scaling
policies; the emulator's scaler (emulator.control.autoscaling) acts on SageMaker's and records what it did here,
and DescribeScalingActivities, which moto lacks, answers from that record.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from emulator.seam.wire_errors import REQUEST_ID, new_request_id

SERVICE = "application-autoscaling"
TARGET_PREFIX = "AnyScaleFrontendService."
SAGEMAKER_NAMESPACE = "sagemaker"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
MOTO_MODELS = "moto.applicationautoscaling.models"  # loaded by the first Application Auto Scaling call
MAX_ACTIVITIES = 1000  # kept per process, newest last

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_activities: list[tuple[int, dict[str, Any]]] = []  # (its number, the activity)
_lock = threading.Lock()
_numbers = itertools.count()


@dataclass(frozen=True)
class Target:
    """A registered SageMaker variant (endpoint/<name>/variant/<variant>) and its target-tracking configurations."""
    endpoint: str
    variant: str
    min_capacity: int
    max_capacity: int
    scale_in_suspended: bool  # SuspendedState's DynamicScalingInSuspended
    scale_out_suspended: bool  # ... and DynamicScalingOutSuspended
    policies: tuple[dict[str, Any], ...]  # each policy's TargetTrackingScalingPolicyConfiguration

    @property
    def resource_id(self) -> str:
        return f"endpoint/{self.endpoint}/variant/{self.variant}"


def sagemaker_targets() -> Iterator[Target]:
    """Every variant registered as a scalable target (in any account and region), with its target-tracking
    policies; nothing before the first Application Auto Scaling call."""
    if MOTO_MODELS not in sys.modules:
        return
    from moto.applicationautoscaling.models import applicationautoscaling_backends  # noqa: PLC0415

    for regions in list(applicationautoscaling_backends.values()):
        for backend in list(regions.values()):
            policies = list(backend.policies.values())
            # Copies of moto's dicts: a call may register a target while they are read.
            for target in list(backend.targets.get(VARIANT_DIMENSION, {}).values()):
                parts = target.resource_id.split("/")
                if target.service_namespace != SAGEMAKER_NAMESPACE or len(parts) != 4 or parts[0] != "endpoint" \
                        or parts[2] != "variant":
                    continue
                configs = tuple(p.target_tracking_scaling_policy_configuration for p in policies
                                if p.resource_id == target.resource_id and p.scalable_dimension == VARIANT_DIMENSION
                                and p.target_tracking_scaling_policy_configuration)
                suspended = target.suspended_state or {}
                yield Target(parts[1], parts[3], int(target.min_capacity or 1), int(target.max_capacity or 1),
                             bool(suspended.get("DynamicScalingInSuspended")),
                             bool(suspended.get("DynamicScalingOutSuspended")), configs)


def record_activity(target: Target, old: int, new: int, cause: str, at: float, status: str = "Successful",
                    message: str = "") -> dict[str, Any]:
    """A scaling activity as DescribeScalingActivities answers it."""
    activity = {"ActivityId": str(uuid.uuid4()), "ServiceNamespace": SAGEMAKER_NAMESPACE,
                "ResourceId": target.resource_id, "ScalableDimension": VARIANT_DIMENSION,
                "Description": f"Setting desired instance count to {new}.", "Cause": cause,
                "StartTime": at, "EndTime": at, "StatusCode": status,
                "StatusMessage": message or f"Successfully set desired instance count to {new}. Change successfully "
                                            f"fulfilled by sagemaker (from {old})."}
    with _lock:
        _activities.append((next(_numbers), activity))
        del _activities[:-MAX_ACTIVITIES]
    return activity


def activities(request: dict[str, Any]) -> dict[str, Any]:
    """DescribeScalingActivities: newest first, filtered as the request says, paged by MaxResults and a NextToken
    that names the last activity answered (so activities recorded meanwhile neither repeat nor skip one)."""
    token = str(request.get("NextToken") or "")
    before = int(token) if token.isascii() and token.isdigit() else None
    with _lock:
        found = [(number, a) for number, a in reversed(_activities) if (before is None or number < before)
                 and a["ServiceNamespace"] == request.get("ServiceNamespace")
                 and request.get("ResourceId") in (None, a["ResourceId"])
                 and request.get("ScalableDimension") in (None, a["ScalableDimension"])]
    page = found[:int(request.get("MaxResults") or 50)]
    more = len(page) < len(found)
    return {"ScalingActivities": [a for _, a in page], **({"NextToken": str(page[-1][0])} if more else {})}


def answering_activities(moto: WsgiApp) -> WsgiApp:
    """`moto` with DescribeScalingActivities answered here (the request is checked against botocore's model
    before, by emulator.aws.embedded.guarded)."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != f"{TARGET_PREFIX}DescribeScalingActivities":
            return moto(environ, start_response)
        request = json.loads(environ["wsgi.input"].read() or b"{}")
        body = json.dumps(activities(request)).encode()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body))),
                                  (REQUEST_ID, new_request_id())])
        return [body]

    return app
