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
from typing import Callable, TypeVar

from emulator.invocation.chain import Chain, ModelSource, Route
from emulator.invocation.outcomes import ContainerUnreachable, InvalidRequest
from emulator.seam import sessions
from emulator.seam.capture import CaptureSpec
from emulator.waiting import wait_until

STARTING_POLL = 0.05  # seconds between looks at the table while an endpoint comes back
SCHEMA = "CREATE TABLE IF NOT EXISTS serving (endpoint TEXT PRIMARY KEY, spec TEXT NOT NULL);"
Routes = tuple[tuple[str, str], ...]  # (container hostname, URL), in chain order
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class CopySpec:
    """One copy of a variant (an instance) or of an inference component: the whole chain on its own ports."""
    name: str  # i-2, copy-2
    routes: Routes


@dataclass(frozen=True)
class VariantSpec:
    name: str
    weight: float
    mode: str  # Serial or Direct
    timeout: float  # seconds per container call
    routes: Routes  # its first copy's
    multi_model: bool = False  # its one container is a multi-model container (invocations name a TargetModel)
    # Every healthy copy (an instance, or an inference component's copy); empty: `routes` is its one copy.
    copies: tuple[CopySpec, ...] = ()
    # Set: this is the inference component of that name, hosted on the variant `name`.
    component: str = ""
    max_concurrency: int = 0  # a serverless variant's MaxConcurrency (0: not serverless)
    cold: bool = False  # a serverless variant stopped for idleness: an invocation asks the owner to start it first

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
    # Its variants host inference components (no model of their own): an invocation must name one of these.
    hosts_components: bool = False
    components: tuple[VariantSpec, ...] = ()
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
        return cls(data["name"], _variants(data["variants"]), data.get("asynchronous", False),
                   data.get("starting", False), data.get("startup_timeout", 0.0), data.get("hosts_components", False),
                   _variants(data.get("components", [])), CaptureSpec.from_dict(data.get("capture")),
                   _variants(data.get("shadows", [])))


def _routes(routes: list) -> Routes:
    return tuple(tuple(route) for route in routes)


def _variants(variants: list[dict]) -> tuple[VariantSpec, ...]:
    return tuple(VariantSpec(**{**v, "routes": _routes(v["routes"]),
                                "copies": tuple(CopySpec(c["name"], _routes(c["routes"])) for c in v.get("copies", []))})
                 for v in variants)


def variant_spec(name: str, weight: float, mode: str, copies: list[tuple[str, list[Route]]], timeout: float,
                 multi_model: bool = False, component: str = "", max_concurrency: int = 0,
                 cold: bool = False) -> VariantSpec:
    """`copies`: (name, routes) of each healthy copy; the name of a variant's only copy is not shown."""
    specs = tuple(CopySpec(copy, tuple((route.hostname, route.url) for route in routes)) for copy, routes in copies)
    return VariantSpec(name, weight, mode, timeout, specs[0].routes if specs else (), multi_model,
                       specs if len(specs) > 1 or component else (), component, max_concurrency, cold)


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
class ServedCopy:
    name: str | None  # None: a variant's only copy
    chain: Chain


@dataclass(frozen=True)
class ServedVariant:
    """A variant, or an inference component (`component`), as the front routes to it: its healthy copies."""
    name: str
    weight: float
    chain: Chain  # its first copy's
    copies: tuple[ServedCopy, ...] = ()
    component: str = ""
    max_concurrency: int = 0  # serverless (see VariantSpec)
    cold: bool = False

    @property
    def serverless(self) -> bool:
        return self.max_concurrency > 0

    def pick(self, avoid: ServedCopy | None = None) -> ServedCopy:
        """A copy drawn at random, as SageMaker's default routing (RoutingStrategy RANDOM) spreads requests."""
        if not self.copies:
            return ServedCopy(None, self.chain)
        others = [copy for copy in self.copies if copy is not avoid] or list(self.copies)
        return random.choice(others)

    def copy(self, name: str) -> ServedCopy | None:
        return next((copy for copy in self.copies if copy.name == name), None)

    def through(self, call: Callable[[Chain], Answer], copy: ServedCopy | None = None) -> tuple[ServedCopy, Answer]:
        """`call` on `copy`, or on a copy picked at random. When that copy answered nothing at all (it refused the
        connection or closed it without answering: it died, and its replacement is not up yet) and another copy
        serves, the call goes to that one once; a copy that answered, or timed out, is never asked twice."""
        first = copy or self.pick()
        try:
            return first, call(first.chain)
        except ContainerUnreachable:
            if copy is not None or len(self.copies) < 2:
                raise
        second = self.pick(avoid=first)
        return second, call(second.chain)


class ServedEndpoint:
    """An endpoint as the front routes to it: its variants, each with the chain through its containers."""

    def __init__(self, name: str, variants: list[ServedVariant], asynchronous: bool = False, starting: bool = False,
                 startup_timeout: float = 0.0, hosts_components: bool = False,
                 components: list[ServedVariant] | None = None, capture: CaptureSpec | None = None,
                 shadows: list[ServedVariant] | None = None):
        self.name, self.variants, self.asynchronous = name, variants, asynchronous
        self.starting, self.startup_timeout = starting, startup_timeout
        self.hosts_components, self.components = hosts_components, components or []
        self.capture, self.shadows = capture, shadows or []
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

    def target(self, target_variant: str | None, component: str | None) -> ServedVariant:
        """What an invocation goes to: the inference component it names, else its variant (see `choose`)."""
        return self.component(component) or self.choose(target_variant)

    def component(self, name: str | None) -> ServedVariant | None:
        """The inference component an invocation names (None: it names none, and the endpoint hosts none).
        InvalidRequest, in SageMaker's words, when the endpoint hosts components and the call names none, or
        names one the endpoint does not host, or names one on an endpoint of models."""
        if not self.hosts_components:
            if name:
                # SageMaker refuses this too; its exact text is UNCONFIRMED.
                raise InvalidRequest(f"Endpoint {self.name} hosts models, not inference components: remove "
                                     f"InferenceComponentName ({name[:63]}) from the call.")
            return None
        if not name:
            raise InvalidRequest("Inference Component Name header is required for endpoints to which you plan to "
                                 "deploy inference components. Please include Inference Component Name header or "
                                 "consider using SageMaker models.")
        for component in self.components:
            if component.component == name:
                return component
        known = ", ".join(c.component for c in self.components) or "none yet"
        raise InvalidRequest(f"Inference component {name[:63]} is not in service on endpoint {self.name}; its "
                             f"components in service: {known}.")


ModelSources = Callable[[], ModelSource]  # a new loader for a multi-model variant's chain


def build(spec: EndpointSpec, models: ModelSources | None = None, known: dict[str, Chain] | None = None,
          kept: dict[str, Chain] | None = None) -> ServedEndpoint:
    """An endpoint from its serving spec. `models` makes what loads a multi-model variant's models (None: such a
    variant cannot load any). A variant whose spec is in `known` keeps its Chain (and so its open connections);
    every chain used is put in `kept`."""
    def chain(variant: VariantSpec, copy: CopySpec) -> Chain:
        cache_key = json.dumps([variant.key(), copy.name])
        made = (known or {}).get(cache_key) or Chain(
            spec.name, [Route(h, u) for h, u in copy.routes], variant.mode, timeout=variant.timeout,
            models=models() if variant.multi_model and models else None, instance=copy.name or None)
        if kept is not None:
            kept[cache_key] = made
        return made

    def served(variant: VariantSpec) -> ServedVariant:
        if not variant.copies:
            return ServedVariant(variant.name, variant.weight, chain(variant, CopySpec("", variant.routes)),
                                 component=variant.component, max_concurrency=variant.max_concurrency,
                                 cold=variant.cold)
        copies = tuple(ServedCopy(copy.name, chain(variant, copy)) for copy in variant.copies)
        return ServedVariant(variant.name, variant.weight, copies[0].chain, copies, variant.component,
                             variant.max_concurrency, variant.cold)

    return ServedEndpoint(spec.name, [served(variant) for variant in spec.variants], spec.asynchronous, spec.starting,
                          spec.startup_timeout, spec.hosts_components, [served(c) for c in spec.components],
                          spec.capture, [served(v) for v in spec.shadows])


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

    def session(self, endpoint: str, session_id: str) -> sessions.Session | None:
        """The open session of that id on the endpoint, as the owner recorded it (emulator.seam.sessions)."""
        self._current()
        with self._lock:
            return sessions.read(self._connection, endpoint.lower(), session_id)

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

