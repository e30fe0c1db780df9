"""Run Amazon SageMaker real-time endpoints, inference pipelines and batch transform locally.

Importing this package is cheap and contacts nothing (its pytest plugin is imported by every
pytest run): the names below load on first use, and Docker is reached only when an endpoint starts.
"""

from importlib import import_module
from typing import Any

_PUBLIC = {"Emulator": "emulator.api", "EmulatedEndpoint": "emulator.hosting.emulated_endpoint", "EmulatorError": "emulator.errors"}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'emulator' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)
