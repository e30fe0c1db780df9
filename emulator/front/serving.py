"""The serving table: which containers answer each endpoint's invocations, variant by variant.

The owner process writes it into the state database (emulator.control) whenever an endpoint starts,
switches configuration, changes weights or goes away. Each front worker keeps its own parsed copy and
re-reads it only when SQLite's `PRAGMA data_version` says another connection changed the database: a
few microseconds per request.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.invocation.chain import Chain, Route
from emulator.control.store import connect, read_serving
from emulator.multimodel.loader import ModelLoader
from emulator.invocation.outcomes import InvalidRequest

STATE_DATABASE_ENV = "SAGEMAKER_EMULATOR_STATE_DATABASE"


def variant_spec(name: str, weight: float, mode: str, routes: list[Route], timeout: float,
                 multi_model: bool = False) -> dict[str, Any]:
    """`multi_model`: its one container is a multi-model container (invocations name a TargetModel)."""
    return {"name": name, "weight": weight, "mode": mode, "timeout": timeout, "multi_model": multi_model,
            "routes": [[route.hostname, route.url] for route in routes]}


@dataclass(frozen=True)
class ServedVariant:
    name: str
    weight: float
    chain: Chain


class ServedEndpoint:
    def __init__(self, name: str, variants: list[ServedVariant], asynchronous: bool = False):
        """`asynchronous`: its config has AsyncInferenceConfig, so it answers InvokeEndpointAsync only."""
        self.name, self.variants, self.asynchronous = name, variants, asynchronous
        self._weights = [variant.weight for variant in variants]
        if not any(self._weights):  # every weight 0: nothing is preferred
            self._weights = [1.0] * len(variants)

    def choose(self, target_variant: str | None = None) -> ServedVariant:
        """The variant named by TargetVariant, or one drawn by CurrentWeight; InvalidRequest for a name that
        is not a variant (the front answers it as a ValidationError)."""
        if target_variant:
            for variant in self.variants:
                if variant.name == target_variant:
                    return variant
            known = ", ".join(variant.name for variant in self.variants)
            raise InvalidRequest(f"Endpoint {self.name} has no production variant named {target_variant[:63]} "
                                  f"(TargetVariant); its variants are: {known}.")
        if len(self.variants) == 1:
            return self.variants[0]
        return random.choices(self.variants, weights=self._weights)[0]


def build(spec: dict[str, Any], known: dict[str, Chain] | None = None, kept: dict[str, Chain] | None = None) -> ServedEndpoint:
    """An endpoint from its serving spec. A variant whose spec is in `known` keeps its Chain (and so its
    open connections); every chain used is put in `kept`."""
    variants = []
    for variant in spec["variants"]:
        cache_key = json.dumps(variant, sort_keys=True)
        chain = (known or {}).get(cache_key) or Chain(
            spec["name"], [Route(h, u) for h, u in variant["routes"]], variant["mode"], timeout=variant["timeout"],
            models=ModelLoader() if variant.get("multi_model") else None)
        if kept is not None:
            kept[cache_key] = chain
        variants.append(ServedVariant(variant["name"], variant["weight"], chain))
    return ServedEndpoint(spec["name"], variants, spec.get("asynchronous", False))


class ServingTable:
    """A worker's view of the table, refreshed when the database changes. One connection per worker
    process, behind a lock: the check is microseconds, and it works alike under threads and greenlets."""

    def __init__(self, database: Path | str):
        self.database = Path(database)
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None
        self._endpoints: dict[str, ServedEndpoint] = {}
        self._chains: dict[str, Chain] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> ServedEndpoint | None:
        return self._current().get(name.lower())

    def all(self) -> dict[str, ServedEndpoint]:
        return dict(self._current())

    def _current(self) -> dict[str, ServedEndpoint]:
        with self._lock:
            if self._connection is None:  # opened in the worker process, after gunicorn's fork
                self._connection = connect(self.database, readonly=True)
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                kept: dict[str, Chain] = {}
                self._endpoints = {key: build(spec, self._chains, kept)
                                   for key, spec in read_serving(self._connection).items()}
                self._chains, self._version = kept, version  # the chains of variants that are gone are dropped
            return self._endpoints
