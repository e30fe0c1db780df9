"""SageMaker instance types as Kubernetes resource requests: the instance's vCPUs and memory (emulator.instances).
A type not in that table exports without requests."""

from __future__ import annotations

from emulator.instances import TYPES


def requests_per_container(instance_type: str, containers: int) -> list[dict[str, str]] | None:
    """The instance's vCPUs and memory shared evenly by the model's containers (None: type unknown).

    SageMaker gives the containers of one instance no limits of their own; Kubernetes schedules a pod
    on the sum of its containers' requests, so the pod as a whole asks for the instance.
    """
    size = TYPES.get(instance_type)
    if size is None:
        return None
    cpu_millis = size.vcpus * 1000 // containers
    memory_mib = int(size.memory_gib * 1024) // containers
    return [{"cpu": f"{cpu_millis}m", "memory": f"{memory_mib}Mi"} for _ in range(containers)]
