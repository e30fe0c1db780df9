"""Container output into CloudWatch Logs, under the names SageMaker gives it.

One reader thread per container follows `docker logs` (with Docker's timestamps); one sender thread
puts what they read into the embedded CloudWatch Logs every FLUSH_INTERVAL, one PutLogEvents per
stream. A container that the supervisor starts again is followed again from where it stopped.
"""

from __future__ import annotations

import calendar
import logging
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from emulator.aws import clients
from emulator.containers.docker_backend import DockerBackend

TRANSFORM_JOBS_GROUP = "/aws/sagemaker/TransformJobs"
FLUSH_INTERVAL = 0.25
RESTART_POLL = 0.5
MAX_EVENTS_PER_PUT = 10_000  # CloudWatch Logs' limits on one PutLogEvents call
MAX_BYTES_PER_PUT = 1_000_000
MAX_EVENT_BYTES = 256 * 1024 - 26

_log = logging.getLogger(__name__)


def endpoint_group(endpoint: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint}"


def endpoint_stream(variant: str, instance: str, container: str | None = None) -> str:
    """`AllTraffic/i-0abc...`; a pipeline's containers each have their own: `AllTraffic/i-0abc.../model`."""
    return "/".join(part for part in (variant, instance, container) if part)


def transform_stream(job: str, instance: str, container: str | None = None) -> str:
    return "/".join(part for part in (job, instance, container) if part)


def instance_id() -> str:
    """An EC2-style instance id, as SageMaker's stream names carry."""
    return "i-" + secrets.token_hex(9)[:17]


@dataclass(frozen=True)
class Destination:
    group: str
    stream: str
    region: str = clients.EMBEDDED_REGION


class LogShipper:
    def __init__(self, backend: DockerBackend, logs_client: Callable[[str], Any] = clients.logs):
        self.backend, self._client_for = backend, logs_client
        self._pending: dict[Destination, list[dict[str, Any]]] = defaultdict(list)
        self._created: set[Destination] = set()
        self._readers: dict[str, _Reader] = {}
        self._lock = threading.Lock()
        self._sending = threading.Lock()  # one sender at a time keeps each stream's events in order
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._sender = threading.Thread(target=self._send_loop, name="sagemaker-emulator-logs", daemon=True)
        self._sender.start()

    def follow(self, container_id: str, destination: Destination) -> None:
        """Ship the container's output, from its start, until it is removed or `forget` is called."""
        if self._client_for(destination.region) is None:
            return  # no embedded CloudWatch Logs in this process: nowhere to ship
        reader = _Reader(self, container_id, destination)
        with self._lock:
            self._readers[container_id] = reader
        reader.thread.start()

    def forget(self, container_ids: Iterable[str]) -> None:
        """Stop following these containers (before removing them); what they printed is still sent."""
        with self._lock:
            readers = [self._readers.pop(cid) for cid in container_ids if cid in self._readers]
        for reader in readers:
            reader.stopped.set()

    def drain(self, container_ids: Iterable[str], timeout: float = 2.0) -> None:
        """After the containers were removed: wait until their last lines are read, and send everything now,
        so that a status change that follows (Completed, Stopped) finds the logs complete."""
        with self._lock:
            readers = [self._readers.pop(cid) for cid in container_ids if cid in self._readers]
        deadline = time.monotonic() + timeout
        for reader in readers:
            reader.stopped.set()
            reader.thread.join(max(0.0, deadline - time.monotonic()))
        self.flush()

    def write(self, destination: Destination, messages: Iterable[str]) -> None:
        """The emulator's own lines (a transform job's data log), stamped now."""
        stamp = int(time.time() * 1000)
        self._add(destination, [{"timestamp": stamp, "message": message} for message in messages])

    def flush(self) -> None:
        """Send what was read so far, now."""
        self._send_pending()

    def close(self) -> None:
        self.forget(list(self._readers))
        self._closed.set()
        self._wake.set()
        self._sender.join(timeout=5)
        self._send_pending()

    # -- reading ---------------------------------------------------------------------------------------------
    def _add(self, destination: Destination, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending[destination].extend(events)

    # -- sending ---------------------------------------------------------------------------------------------
    def _send_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(FLUSH_INTERVAL)
            self._send_pending()

    def _send_pending(self) -> None:
        with self._sending:
            with self._lock:
                pending, self._pending = self._pending, defaultdict(list)
            self._send(pending)

    def _send(self, pending: dict[Destination, list[dict[str, Any]]]) -> None:
        for destination, events in pending.items():
            try:
                self._put(destination, sorted(events, key=lambda event: event["timestamp"]))
            except Exception as exc:  # the logs service going away must not end the endpoint's life
                _log.warning("could not ship %d log lines to %s %s: %s", len(events), destination.group,
                             destination.stream, exc)

    def _put(self, destination: Destination, events: list[dict[str, Any]]) -> None:
        client = self._client_for(destination.region)
        if client is None:
            return
        if destination not in self._created:
            _create(client, destination)
            self._created.add(destination)
        for batch in _batches(events):
            client.put_log_events(logGroupName=destination.group, logStreamName=destination.stream, logEvents=batch)


class _Reader:
    """Follows one container's output; starts again after the supervisor restarts the container."""

    def __init__(self, shipper: LogShipper, container_id: str, destination: Destination):
        self.shipper, self.container_id, self.destination = shipper, container_id, destination
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"logs-{container_id[:12]}", daemon=True)
        self._last_ns = 0

    def _run(self) -> None:
        backend = self.shipper.backend
        try:
            while not self.stopped.is_set():
                since = self._last_ns / 1e9 if self._last_ns else None
                self._read(backend.logs(self.container_id, follow=True, since=since, timestamps=True))
                if not self._wait_for_restart(backend):
                    return
        except Exception as exc:  # Docker going away ends the shipping, never the owner process
            _log.warning("stopped shipping the logs of container %s: %s", self.container_id[:12], exc)

    def _read(self, chunks: Iterable[bytes]) -> None:
        partial = b""
        for chunk in chunks:
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            self._ship(lines)
        if partial:
            self._ship([partial])

    def _ship(self, lines: list[bytes]) -> None:
        events = []
        for line in lines:
            stamp_ns, message = parse_line(line)
            if stamp_ns is None or stamp_ns <= self._last_ns:
                continue  # already shipped before a restart, or not a Docker-stamped line
            self._last_ns = stamp_ns
            events.append({"timestamp": stamp_ns // 1_000_000, "message": message or " "})
        if events:
            self.shipper._add(self.destination, events)

    def _wait_for_restart(self, backend: DockerBackend) -> bool:
        """After the output ends: True once the container runs again, False when it is gone or forgotten."""
        while not self.stopped.wait(RESTART_POLL):
            status = backend.state(self.container_id).status
            if status == "running":
                return True
            if status in ("removed", "dead"):
                return False
        return False


def parse_line(line: bytes) -> tuple[int | None, str]:
    """(nanoseconds since the epoch, message) of a `docker logs --timestamps` line; (None, line) if unstamped."""
    text = line.decode("utf-8", "replace").rstrip("\r")
    stamp, _, message = text.partition(" ")
    try:
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
        nanos = int((fraction + "000000000")[:9]) if fraction else 0
    except ValueError:
        return None, text
    return seconds * 1_000_000_000 + nanos, message[:MAX_EVENT_BYTES // 4]  # up to 4 bytes a character


def _create(client: Any, destination: Destination) -> None:
    for call, arguments in ((client.create_log_group, {"logGroupName": destination.group}),
                            (client.create_log_stream, {"logGroupName": destination.group,
                                                        "logStreamName": destination.stream})):
        try:
            call(**arguments)
        except client.exceptions.ResourceAlreadyExistsException:
            pass


def _batches(events: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + 26  # the service's accounting per event
        if batch and (len(batch) == MAX_EVENTS_PER_PUT or size + cost > MAX_BYTES_PER_PUT):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch
