"""SageMaker instance types as Kubernetes resource requests: vCPUs and memory, where known.

From the instance tables of SageMaker's pricing page. A type not listed exports without requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceSize:
    vcpus: int
    memory_gib: int
    gpus: int = 0


SIZES = {
    "ml.t2.medium": InstanceSize(2, 4), "ml.t2.large": InstanceSize(2, 8), "ml.t2.xlarge": InstanceSize(4, 16),
    "ml.m5.large": InstanceSize(2, 8), "ml.m5.xlarge": InstanceSize(4, 16), "ml.m5.2xlarge": InstanceSize(8, 32),
    "ml.m5.4xlarge": InstanceSize(16, 64), "ml.m5.12xlarge": InstanceSize(48, 192),
    "ml.c5.large": InstanceSize(2, 4), "ml.c5.xlarge": InstanceSize(4, 8), "ml.c5.2xlarge": InstanceSize(8, 16),
    "ml.c5.4xlarge": InstanceSize(16, 32), "ml.c5.9xlarge": InstanceSize(36, 72),
    "ml.r5.large": InstanceSize(2, 16), "ml.r5.xlarge": InstanceSize(4, 32), "ml.r5.2xlarge": InstanceSize(8, 64),
    "ml.g4dn.xlarge": InstanceSize(4, 16, 1), "ml.g4dn.2xlarge": InstanceSize(8, 32, 1),
    "ml.g5.xlarge": InstanceSize(4, 16, 1), "ml.g5.2xlarge": InstanceSize(8, 32, 1),
    "ml.p3.2xlarge": InstanceSize(8, 61, 1),
}


def requests_per_container(instance_type: str, containers: int) -> list[dict[str, str]] | None:
    """The instance's vCPUs and memory shared evenly by the model's containers (None: type unknown).

    SageMaker gives the containers of one instance no limits of their own; Kubernetes schedules a pod
    on the sum of its containers' requests, so the pod as a whole asks for the instance.
    """
    size = SIZES.get(instance_type)
    if size is None:
        return None
    cpu_millis = size.vcpus * 1000 // containers
    memory_mib = size.memory_gib * 1024 // containers
    return [{"cpu": f"{cpu_millis}m", "memory": f"{memory_mib}Mi"} for _ in range(containers)]
