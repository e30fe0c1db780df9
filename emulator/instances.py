"""SageMaker's ML instance types: vCPUs, memory, GPUs and processor architecture, in one table (from the instance
tables of SageMaker's pricing page), used to check what would fail on the instance (the image's architecture)
and by the Kubernetes export (resource requests)."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.errors import EmulatorError

X86_64, ARM64 = "x86_64", "arm64"
# What a definition without InstanceType is checked against: SageMaker's most common small type.
ASSUMED = "ml.m5.large"


@dataclass(frozen=True)
class Instance:
    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    architecture: str = X86_64

    def describe(self) -> str:
        gpus = f", {self.gpus} GPU{'s' if self.gpus > 1 else ''}" if self.gpus else ""
        return f"{self.name} ({self.architecture}, {self.vcpus} vCPUs, {self.memory_gib:g} GiB{gpus})"


def _family(prefix: str, sizes: dict[str, tuple[int, float] | tuple[int, float, int]], architecture: str = X86_64) -> dict[str, Instance]:
    return {f"ml.{prefix}.{size}": Instance(f"ml.{prefix}.{size}", *spec, architecture=architecture)
            for size, spec in sizes.items()}


_GENERAL = {"large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32), "4xlarge": (16, 64), "12xlarge": (48, 192),
            "24xlarge": (96, 384)}
_COMPUTE = {"large": (2, 4), "xlarge": (4, 8), "2xlarge": (8, 16), "4xlarge": (16, 32)}
_MEMORY = {"large": (2, 16), "xlarge": (4, 32), "2xlarge": (8, 64), "4xlarge": (16, 128), "12xlarge": (48, 384)}
TYPES: dict[str, Instance] = {
    **_family("t2", {"medium": (2, 4), "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32)}),
    **_family("t3", {"medium": (2, 4), "large": (2, 8), "xlarge": (4, 16), "2xlarge": (8, 32)}),
    # The previous generation, still offered for batch transform (its API's TransformInstanceType lists them).
    **_family("m4", {"xlarge": (4, 16), "2xlarge": (8, 32), "4xlarge": (16, 64), "10xlarge": (40, 160),
                     "16xlarge": (64, 256)}),
    **_family("c4", {"xlarge": (4, 7.5), "2xlarge": (8, 15), "4xlarge": (16, 30), "8xlarge": (36, 60)}),
    **_family("p2", {"xlarge": (4, 61, 1), "8xlarge": (32, 488, 8), "16xlarge": (64, 732, 16)}),
    **_family("m5", _GENERAL), **_family("m6i", {**_GENERAL, "8xlarge": (32, 128), "16xlarge": (64, 256)}),
    **_family("c5", {**_COMPUTE, "9xlarge": (36, 72), "18xlarge": (72, 144)}),
    **_family("c6i", {**_COMPUTE, "8xlarge": (32, 64), "16xlarge": (64, 128)}),
    **_family("r5", _MEMORY),
    **_family("g4dn", {"xlarge": (4, 16, 1), "2xlarge": (8, 32, 1), "4xlarge": (16, 64, 1), "12xlarge": (48, 192, 4)}),
    **_family("g5", {"xlarge": (4, 16, 1), "2xlarge": (8, 32, 1), "4xlarge": (16, 64, 1), "12xlarge": (48, 192, 4)}),
    **_family("p3", {"2xlarge": (8, 61, 1), "8xlarge": (32, 244, 4), "16xlarge": (64, 488, 8)}),
    **_family("inf2", {"xlarge": (4, 16), "8xlarge": (32, 128), "24xlarge": (96, 384), "48xlarge": (192, 768)}),
    # AWS Graviton: arm64.
    **_family("m6g", _GENERAL, ARM64), **_family("c6g", _COMPUTE, ARM64), **_family("c7g", _COMPUTE, ARM64),
    **_family("r6g", _MEMORY, ARM64),
}


# SageMaker does not say how many vCPUs a serverless variant gets; assumed: Lambda's share, one per 1,769 MB.
MB_PER_SERVERLESS_VCPU = 1769


def serverless(memory_mb: int) -> Instance:
    """What a serverless variant of MemorySizeInMB runs on: that much memory, an x86_64 processor."""
    return Instance(f"serverless {memory_mb} MB", max(1, round(memory_mb / MB_PER_SERVERLESS_VCPU)), memory_mb / 1024)


def instance(name: str) -> Instance:
    """The instance type `name`; an EmulatorError listing the known ones for any other."""
    found = TYPES.get(name)
    if found is None:
        families = sorted({known.rsplit(".", 1)[0] for known in TYPES})
        raise EmulatorError(f"{name!r} is not an instance type the emulator knows. Fix: use one of the families "
                            f"{', '.join(families)} (e.g. {ASSUMED}, or ml.c7g.large for Graviton).")
    return found


def architecture_of(docker_architecture: str) -> str:
    """Docker's name for an image's architecture (amd64, arm64, aarch64) as an instance's."""
    return {"amd64": X86_64, "x86_64": X86_64, "arm64": ARM64, "aarch64": ARM64}.get(docker_architecture,
                                                                                    docker_architecture)
