"""The serving table: which containers answer each endpoint's invocations, variant by variant.

The owner process writes each endpoint's typed spec into the state database whenever the endpoint starts,
switches configuration, changes weights or goes away. Each front worker keeps its own parsed copy and
re-reads it only when SQLite's `PRAGMA data_version` says another connection changed the database: a
few microseconds per request.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from emulator.invocation.chain import Chain, ModelSource, Route
from emulator.invocation.outcomes import InvalidRequest
from emulator.seam.capture import CaptureSpec
from emulator.waiting import wait_until

STARTING_POLL = 0.05  # seconds between looks at the table while an endpoint comes back
SCHEMA = "CREATE TABLE IF NOT EXISTS serving (endpoint TEXT PRIMARY KEY, spec TEXT NOT NULL);"


@dataclass(frozen=True)
class VariantSpec:
    name: str
    weight: float
    mode: str  # Serial or Direct
    timeout: float  # seconds per container call
    routes: tuple[tuple[str, str], ...]  # (container hostname, URL), in chain order
    multi_model: bool = False  # its one container is a multi-model container (invocations name a TargetModel)

    def key(self) -> str:
        """Equal for equal specs: a worker keeps a variant's Chain (and its open connections) while this holds."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    variants: tuple[VariantSpec, ...]
    asynchronous: bool = False  # its config has AsyncInferenceConfig: it answers InvokeEndpointAsync only
    # Coming back after a restart: no variants yet; an invocation waits up to `startup_timeout` for them.
    starting: bool = False
    startup_timeout: float = 0.0
    capture: CaptureSpec | None = None  # its DataCaptureConfig, when it captures
    shadows: tuple[VariantSpec, ...] = ()  # ShadowProductionVariants: sent copies of requests, never routed to

    @classmethod
    def coming_back(cls, name: str, startup_timeout: float) -> "EndpointSpec":
        return cls(name, (), starting=True, startup_timeout=startup_timeout)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "EndpointSpec":
        data = json.loads(text)
        return cls(data["name"], _variants(data["variants"]), data.get("asynchronous", False), data.get("starting", False),
                   data.get("startup_timeout", 0.0), CaptureSpec.from_dict(data.get("capture")),
                   _variants(data.get("shadows", [])))


def _variants(data: list[dict]) -> tuple[VariantSpec, ...]:
    return tuple(VariantSpec(**{**v, "routes": tuple(tuple(r) for r in v["routes"])}) for v in data)


def variant_spec(name: str, weight: float, mode: str, routes: list[Route], timeout: float,
                 multi_model: bool = False) -> VariantSpec:
    return VariantSpec(name, weight, mode, timeout, tuple((route.hostname, route.url) for route in routes), multi_model)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=30)
    connection.execute("PRAGMA busy_timeout = 30000")
    return connection


def write_serving(connection: sqlite3.Connection, key: str, spec: EndpointSpec | None) -> None:
    """What the front routes `key`'s invocations to; None: nothing (not found)."""
    if spec is None:
        connection.execute("DELETE FROM serving WHERE endpoint = ?", (key,))
    else:
        connection.execute("INSERT OR REPLACE INTO serving VALUES (?, ?)", (key, spec.to_json()))


def read_serving(connection: sqlite3.Connection) -> dict[str, EndpointSpec]:
    return {key: EndpointSpec.from_json(spec) for key, spec in connection.execute("SELECT endpoint, spec FROM serving")}


@dataclass(frozen=True)
class ServedVariant:
    name: str
    weight: float
    chain: Chain


class ServedEndpoint:
    """An endpoint as the front routes to it: its variants, each with the chain through its containers."""

    def __init__(self, name: str, variants: list[ServedVariant], asynchronous: bool = False, starting: bool = False,
                 startup_timeout: float = 0.0, capture: CaptureSpec | None = None, shadows: list[ServedVariant] = ()):
        self.name, self.variants, self.asynchronous = name, variants, asynchronous
        self.starting, self.startup_timeout = starting, startup_timeout
        self.capture, self.shadows = capture, list(shadows)
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


ModelSources = Callable[[], ModelSource]  # a new loader for a multi-model variant's chain


def build(spec: EndpointSpec, models: ModelSources | None = None, known: dict[str, Chain] | None = None,
          kept: dict[str, Chain] | None = None) -> ServedEndpoint:
    """An endpoint from its serving spec. `models` makes what loads a multi-model variant's models (None: such a
    variant cannot load any). A variant whose spec is in `known` keeps its Chain (and so its open connections);
    every chain used is put in `kept`."""
    def served(variant: VariantSpec) -> ServedVariant:
        cache_key = variant.key()
        chain = (known or {}).get(cache_key) or Chain(
            spec.name, [Route(h, u) for h, u in variant.routes], variant.mode, timeout=variant.timeout,
            models=models() if variant.multi_model and models else None)
        if kept is not None:
            kept[cache_key] = chain
        return ServedVariant(variant.name, variant.weight, chain)
    return ServedEndpoint(spec.name, [served(v) for v in spec.variants], spec.asynchronous, spec.starting,
                          spec.startup_timeout, spec.capture, [served(v) for v in spec.shadows])


class ServingTable:
    """A worker's view of the table, refreshed when the database changes. One connection per worker
    process, behind a lock: the check is microseconds, and it works alike under threads and greenlets."""

    def __init__(self, database: Path | str, models: ModelSources | None = None):
        self.database, self.models = Path(database), models
        self._connection: sqlite3.Connection | None = None
        self._version: int | None = None
        self._endpoints: dict[str, ServedEndpoint] = {}
        self._chains: dict[str, Chain] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> ServedEndpoint | None:
        return self._current().get(name.lower())

    def started(self, name: str) -> ServedEndpoint | None:
        """The endpoint, once it serves: one coming back after a restart is waited for, up to its startup timeout
        (None: it did not come back, or it is unknown)."""
        endpoint = self.get(name)
        if endpoint is None or not endpoint.starting:
            return endpoint
        wait_until(lambda: not (self.get(name) or endpoint).starting, timeout=endpoint.startup_timeout,
                   interval=STARTING_POLL)
        endpoint = self.get(name)
        return None if endpoint is None or endpoint.starting else endpoint

    def all(self) -> dict[str, ServedEndpoint]:
        return dict(self._current())

    def _current(self) -> dict[str, ServedEndpoint]:
        with self._lock:
            if self._connection is None:  # opened in the worker process, after gunicorn's fork
                self._connection = connect(self.database, readonly=True)
            version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                kept: dict[str, Chain] = {}
                self._endpoints = {key: build(spec, self.models, self._chains, kept)
                                   for key, spec in read_serving(self._connection).items()}
                self._chains, self._version = kept, version  # the chains of variants that are gone are dropped
            return self._endpoints

