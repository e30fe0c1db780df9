"""The table of control-plane operations. A module registers each of its operations with the decorator:

    @operation("CreateModel")
    def create_model(plane: ControlPlane, request: dict) -> dict: ...

`load()` imports every module of this package, so a new module (transform jobs, say) adds its
operations without touching the others. A handler gets the request already validated against
botocore's model and returns the response members; it raises the errors of emulator.control.errors.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Callable

# (the plane, emulator.control.plane.ControlPlane; the request) -> the response. The plane is not imported
# here: it loads this table.
Handler = Callable[[Any, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in OPERATIONS and OPERATIONS[name] is not handler:
            raise RuntimeError(f"operation {name} is registered twice ({OPERATIONS[name].__module__}, {handler.__module__})")
        OPERATIONS[name] = handler
        return handler
    return register


def load() -> dict[str, Handler]:
    """Every operation of every module of emulator.control."""
    import emulator.control as package  # noqa: PLC0415

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return OPERATIONS
