"""What other parts of the owner read of the endpoints the control plane keeps: each one's status, the
AsyncInferenceConfig it deployed, and what the front routes its invocations to (asynchronous inference reads
them through this, not through the plane's documents)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.control.plane import key
from emulator.control.records import EndpointRecords
from emulator.control.store import Store
from emulator.seam.serving import EndpointSpec


class EndpointStates:
    def __init__(self, store: Store):
        self._store = store
        self._records = EndpointRecords(store)

    @property
    def database(self) -> Path:
        """The state database: other tables of the owner's (the asynchronous queue) live beside the records."""
        return self._store.path

    def status(self, name: str) -> str | None:
        """EndpointStatus, or None for an endpoint that does not exist."""
        record = self._records.get(name)
        return record.status if record else None

    def async_config(self, name: str) -> dict[str, Any] | None:
        """The AsyncInferenceConfig the endpoint deployed, or None (a real-time endpoint, or none)."""
        record = self._records.get(name)
        return record.deployed.async_config if record else None

    def serving(self, name: str) -> EndpointSpec | None:
        return self._store.serving().get(key(name))
