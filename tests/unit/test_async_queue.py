"""The asynchronous request queue and its pieces, on fakes: the durable queue's states across a restart,
where answers go, the pool's per-endpoint limit, and one request's run (expiry, a second start, a stop)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.asynchronous import invocation
from emulator.asynchronous.queue import Claimed, DurableQueue
from emulator.asynchronous.requests import AsyncRequest, NotAccepted, input_url, locations
from emulator.asynchronous.invoker import AsyncInvoker
from emulator.asynchronous.slots import Slots
from emulator.asynchronous.workers import Workers
from emulator.front.headers import INVOKE_ASYNC, check_headers
from emulator.seam.wire_errors import ValidationError
from emulator.invocation.chain import CallPolicy
from emulator.invocation.outcomes import InvocationResult
from emulator.invocation.request import InvocationRequest
from emulator.observe.recording import Recorder


def request(number: int = 0, endpoint: str = "ep", **changes) -> AsyncRequest:
    members = dict(endpoint=endpoint, inference_id=f"id-{number}", input="s3://bkt/in", output=f"s3://bkt/out/id-{number}.out",
                   failure=f"s3://bkt/failed/id-{number}-error.out", accepted=time.time())
    return AsyncRequest(**{**members, **changes})


def test_a_row_survives_a_restart_and_one_left_running_is_queued_again(tmp_path):
    database = tmp_path / "state.sqlite3"
    queue = DurableQueue(database)
    for number in range(3):
        queue.put(request(number))
    first, second = queue.claim("ep", 2)
    queue.finish(first.seq)
    queue.close()  # the owner stops (or dies) with `second` running

    again = DurableQueue(database)
    assert again.counts() == {"queued": 1, "running": 1}
    assert again.requeue() == 1
    claimed = again.claim("ep", 10)
    assert [(c.request.inference_id, c.attempts) for c in claimed] == [("id-1", 1), ("id-2", 0)]
    assert second.request == claimed[0].request


def test_claims_are_per_endpoint_oldest_first(tmp_path):
    queue = DurableQueue(tmp_path / "state.sqlite3")
    queue.put(request(1, "a"))
    queue.put(request(2, "b"))
    queue.put(request(3, "a"))
    assert sorted(queue.waiting_endpoints()) == ["a", "b"]
    assert [c.request.inference_id for c in queue.claim("a", 5)] == ["id-1", "id-3"]
    assert queue.waiting_endpoints() == ["b"]


def test_locations_follow_the_output_config():
    config = {"S3OutputPath": "s3://bucket/out/", "S3FailurePath": "s3://bucket/failed"}
    assert locations(config, "x") == ("s3://bucket/out/x.out", "s3://bucket/failed/x-error.out")
    assert locations(config, "x", filename="f.json", extension="/day/1/") == (
        "s3://bucket/out/day/1/f.json", "s3://bucket/failed/x-error.out")
    assert locations({"S3OutputPath": "s3://bucket"}, "x") == ("s3://bucket/x.out", "s3://bucket/x-error.out")
    with pytest.raises(NotAccepted, match="s3:// input locations only"):
        input_url("https://bucket.s3.amazonaws.com/key")


def test_the_pool_runs_at_most_the_limit_of_each_endpoint_at_once(tmp_path):
    queue = DurableQueue(tmp_path / "state.sqlite3")
    running, most, lock, release = {"a": 0, "b": 0}, {"a": 0, "b": 0}, threading.Lock(), threading.Event()

    def run(claimed: Claimed) -> None:
        endpoint = claimed.request.endpoint
        with lock:
            running[endpoint] += 1
            most[endpoint] = max(most[endpoint], running[endpoint])
        release.wait(5)
        with lock:
            running[endpoint] -= 1
        queue.finish(claimed.seq)

    workers = Workers(queue, run, {"a": 2, "b": 3}.get)
    for number in range(12):
        queue.put(request(number, "ab"[number % 2]))
    workers.start()
    deadline = time.monotonic() + 5
    while sum(running.values()) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    while queue.counts() and time.monotonic() < deadline + 5:
        time.sleep(0.01)
    workers.stop()
    assert most == {"a": 2, "b": 3} and queue.counts() == {}


def test_at_most_the_limit_of_container_calls_at_once_whatever_runs_around_them():
    slots = Slots()
    assert slots.of("ep", 2) is slots.of("ep", 2) and slots.of("ep", 3) is not slots.of("ep", 2)
    calls, most, lock = [0], [0], threading.Lock()

    class SlowChain:
        endpoint = "ep"

        def invoke(self, request, **_):
            with lock:
                calls[0] += 1
                most[0] = max(most[0], calls[0])
            time.sleep(0.05)
            with lock:
                calls[0] -= 1
            return InvocationResult(request.body, None, None, [])

    records = []
    invoker = AsyncInvoker(SlowChain(), CallPolicy(), slots.of("ep", 2), "AllTraffic", Recorder(records.append, "async"))
    threads = [threading.Thread(target=invoker.invoke, args=(InvocationRequest(b"x"),)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == [2]
    assert [(r.endpoint, r.variant, r.status, r.source) for r in records] == [("ep", "AllTraffic", 200, "async")] * 6


class FakeS3:
    def __init__(self, objects: dict[str, bytes] | None = None):
        self.objects = dict(objects or {})

    def read(self, url, limit):
        return self.objects[str(url)]

    def write(self, url, body, content_type=None):
        self.objects[str(url)] = body

    def exists(self, url):
        return str(url) in self.objects


class EchoChain:
    calls = 0

    def invoke(self, request):
        self.calls += 1
        return InvocationResult(request.body, "text/plain", None, [])


@pytest.fixture
def fake_s3(monkeypatch):
    fake = FakeS3({"s3://bkt/in": b"payload"})
    monkeypatch.setattr(invocation, "s3", fake)
    return fake


def test_a_request_runs_once_and_writes_one_object(fake_s3):
    chain = EchoChain()
    assert invocation.run(Claimed(1, 0, request()), lambda _: chain) == "s3://bkt/out/id-0.out"
    assert fake_s3.objects["s3://bkt/out/id-0.out"] == b"payload" and chain.calls == 1
    # Started again after a crash that came after the write: the object is found, nothing runs twice.
    assert invocation.run(Claimed(1, 1, request()), lambda _: chain) == "s3://bkt/out/id-0.out"
    assert chain.calls == 1


def test_an_expired_request_is_not_run(fake_s3):
    chain, late = EchoChain(), request(accepted=1000.0, ttl=60)
    assert invocation.run(Claimed(1, 0, late), lambda _: chain, clock=lambda: 1061.0) == late.failure
    assert b"RequestTTLSeconds (60 s)" in fake_s3.objects[late.failure] and chain.calls == 0


def test_a_request_cut_short_by_a_stop_writes_nothing(fake_s3):
    assert invocation.run(Claimed(1, 0, request()), lambda _: EchoChain(), stopping=lambda: True) is None
    assert list(fake_s3.objects) == ["s3://bkt/in"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["X-Amzn-SageMaker-RequestTTLSeconds", "X-Amzn-SageMaker-InvocationTimeoutSeconds",
                                        "X-Amzn-SageMaker-InputLocation", "X-Amzn-SageMaker-Filename",
                                        "X-Amzn-SageMaker-S3OutputPathExtension", "X-Amzn-SageMaker-Inference-Id"]),
                       st.text(max_size=40)))
def test_async_headers_are_valid_or_refused_clearly(headers):
    try:
        check_headers(headers, INVOKE_ASYNC)
    except ValidationError as error:
        assert error.message.startswith("1 validation error detected: Value")
        return
    for name in ("X-Amzn-SageMaker-RequestTTLSeconds", "X-Amzn-SageMaker-InvocationTimeoutSeconds"):
        if name in headers:
            int(headers[name])  # what the edge then does with it


def test_a_queued_request_keeps_the_callers_members_and_reads_the_earlier_layout():
    queued = request(7, members={"content_type": "text/csv", "custom_attributes": "a=1"})
    call = AsyncRequest.from_json(queued.to_json()).invocation(b"1,2")
    assert (call.body, call.content_type, call.custom_attributes, call.inference_id) == (b"1,2", "text/csv", "a=1", "id-7")
    earlier = json.loads(request(8).to_json())
    del earlier["members"]
    earlier.update(content_type="application/json", accept="text/csv", custom_attributes=None)
    assert AsyncRequest.from_json(json.dumps(earlier)).members == {"content_type": "application/json", "accept": "text/csv"}
