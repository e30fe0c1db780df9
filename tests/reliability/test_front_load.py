"""The front under heavy and hostile connection load, on loopback, bounded in time and count.

A client whose request is still arriving (silent after part of its headers or body, or uploading
slowly) costs a connection, not a worker: the others are answered at once, and it is dropped after a
bounded time. Requests in flight are bounded by a setting, not by threads: 256 requests to a container
that serves them all at once finish together. Latency limits are the issue's (1 s, 3 s), or a ratio
to a baseline measured in the same run where a loaded machine could stretch them.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import pytest
import urllib3

from emulator import Emulator
from emulator.front.server import FrontServer
from tests.reliability.support import client, echo

pytestmark = [pytest.mark.docker, pytest.mark.serial]
HALF_OPEN = 200
SLOW_UPLOADS = 64  # twice the threads of the front this replaced, so a thread per upload would starve it
UPLOAD_RATE = 100 * 1024  # bytes per second
IN_FLIGHT = 256
DELAY_SECONDS = 1.0


@pytest.fixture(scope="module")
def emulator(example_images):
    with Emulator({"Endpoints": {"load": {"PrimaryContainer": echo(ECHO_MODE="echo")}}}) as running:
        running.serve()
        yield running


@pytest.fixture(scope="module")
def runtime(emulator):
    return client(emulator.url, read_timeout=10)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def timed_invoke(runtime, body: bytes = b"hello") -> float:
    started = time.monotonic()
    answer = runtime.invoke_endpoint(EndpointName="load", Body=body, ContentType="application/octet-stream")
    assert answer["Body"].read() == body
    return time.monotonic() - started


HEADERS_SO_FAR = b"POST /endpoints/load/invocations HTTP/1.1\r\nHost: front\r\nContent-Type: text/plain\r\n"
BODY_SO_FAR = (b"POST /endpoints/load/invocations HTTP/1.1\r\nHost: front\r\nContent-Type: text/plain\r\n"
               b"Content-Length: 1000\r\n\r\n" + b"x" * 100)


@contextmanager
def half_open(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that sent part of a request and then fall silent: half stop inside the
    headers, half inside the body."""
    with ExitStack() as stack:
        connections = []
        for index in range(count):
            connection = stack.enter_context(socket.create_connection(address(url), timeout=10))
            connection.sendall(HEADERS_SO_FAR if index % 2 else BODY_SO_FAR)
            connections.append(connection)
        yield connections


def test_silent_half_open_connections_hold_back_no_request(emulator, runtime):
    timed_invoke(runtime)  # the client's own first-call costs, out of the figure
    before = min(timed_invoke(runtime) for _ in range(3))
    with half_open(emulator.url, HALF_OPEN):
        time.sleep(1.0)  # let the front take them all in
        during = [timed_invoke(runtime) for _ in range(3)]
    print(f"\n{HALF_OPEN} half-open connections: a request took {max(during) * 1000:.1f} ms "
          f"(alone: {before * 1000:.1f} ms)")
    assert max(during) < 1.0


def test_a_silent_client_is_dropped_after_a_bounded_time(emulator):
    """Silent inside its headers: closed after --keep-alive; silent inside its body: after the client timeout."""
    front = FrontServer(keep_alive=1, client_timeout=1.0).start(emulator.store.path)
    try:
        with half_open(front.url, 2) as connections:
            started = time.monotonic()
            for connection in connections:
                while connection.recv(65536):  # a body cut short may still get an answer before the close
                    pass
            waited = time.monotonic() - started
        assert waited < 5, f"the front kept silent connections for {waited:.1f} s"
        assert urllib3.request("POST", front.url + "/endpoints/load/invocations", body=b"still here",
                               timeout=5).data == b"still here"
    finally:
        front.stop()


def slow_body(size: int, stop: threading.Event) -> Iterator[bytes]:
    """`size` bytes at UPLOAD_RATE, in tenths of a second; ends early (the request unfinished) on `stop`."""
    piece = b"s" * (UPLOAD_RATE // 10)
    sent = 0
    while sent < size and not stop.is_set():
        chunk = piece[:size - sent]
        yield chunk
        sent += len(chunk)
        time.sleep(0.1)


def slow_upload(url: str, size: int, stop: threading.Event) -> bytes | None:
    """POST `size` bytes at UPLOAD_RATE; returns the answer, or None when stopped before the end."""
    connection = http.client.HTTPConnection(*address(url), timeout=30)
    try:
        connection.request("POST", "/endpoints/load/invocations", body=slow_body(size, stop),
                           headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        if stop.is_set():
            return None
        response = connection.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        connection.close()


def test_slow_uploads_delay_no_other_request(emulator, runtime):
    """SLOW_UPLOADS clients each send a 6 MB body at 100 KB/s; meanwhile one 300 KB upload at that rate
    completes, and other requests are answered as fast as without them."""
    timed_invoke(runtime)
    before = sorted(timed_invoke(runtime) for _ in range(10))
    stop = threading.Event()
    whole = 3 * UPLOAD_RATE
    with ThreadPoolExecutor(SLOW_UPLOADS + 1) as pool:
        uploads = [pool.submit(slow_upload, emulator.url, 6 * 1024 * 1024, stop) for _ in range(SLOW_UPLOADS)]
        finished = pool.submit(slow_upload, emulator.url, whole, threading.Event())
        try:
            time.sleep(0.5)  # all of them under way
            during = sorted(timed_invoke(runtime) for _ in range(10))
            assert finished.result(timeout=20) == b"s" * whole
        finally:
            stop.set()
        for upload in uploads:
            upload.result(timeout=10)
    print(f"\n{SLOW_UPLOADS} slow uploads: requests took {during[5] * 1000:.1f} ms p50, {during[-1] * 1000:.1f} ms "
          f"max (alone: {before[5] * 1000:.1f} ms p50, {before[-1] * 1000:.1f} ms max)")
    assert during[-1] < 1.0
    assert during[5] < 5 * before[5] + 0.05


def all_at_once(url: str, count: int) -> float:
    """`count` POSTs started together (a barrier), each on its own connection; seconds until the last answer."""
    start_line = threading.Barrier(count + 1)

    def one(pool: urllib3.PoolManager, index: int) -> None:
        body = f"request {index}".encode()
        start_line.wait()
        response = pool.request("POST", url, body=body, headers={"Content-Type": "text/plain"}, timeout=30)
        assert (response.status, response.data) == (200, body)

    with urllib3.PoolManager(maxsize=count, retries=False) as pool, ThreadPoolExecutor(count) as threads:
        done = [threads.submit(one, pool, index) for index in range(count)]
        start_line.wait()
        started = time.monotonic()
        for future in done:
            future.result(timeout=60)
        return time.monotonic() - started


@pytest.mark.slow
def test_requests_in_flight_are_bounded_by_the_container_not_the_front(example_images):
    """256 requests to a container that answers each after 1 s and serves 256 at once: through the
    front, as directly, they all finish in about a second. The container: 64 gunicorn workers of
    4 threads, each taking at most 4 connections (so none queues requests behind its threads),
    forked from one loaded app (so they start in a moment)."""
    container = echo(ECHO_MODE="echo", ECHO_DELAY_SECONDS=str(DELAY_SECONDS), SAGEMAKER_MODEL_SERVER_WORKERS="64",
                     GUNICORN_CMD_ARGS="--preload --worker-connections 4")
    with Emulator({"Endpoints": {"slow": {"PrimaryContainer": container}}}) as emulator:
        subjects = {"front": emulator.serve() + "/endpoints/slow/invocations",
                    "direct": emulator["slow"].chain.routes[0].url + "/invocations"}
        all_at_once(subjects["direct"], IN_FLIGHT)  # every worker up
        seconds = {name: [] for name in subjects}
        for order in (["direct", "front"], ["front", "direct"]):
            for name in order:
                seconds[name].append(all_at_once(subjects[name], IN_FLIGHT))
    through_front, alone = min(seconds["front"]), min(seconds["direct"])
    print(f"\n{IN_FLIGHT} requests of {DELAY_SECONDS:g} s at once: {through_front:.2f} s through the front, "
          f"{alone:.2f} s directly")
    assert through_front < max(3.0, 2 * alone)  # 32 at a time, the old front's threads, would take 8 s
