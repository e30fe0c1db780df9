"""The request log's pure parts: the owner's rings, records and bodies, and the workers' socket channel."""

from __future__ import annotations

import json
import threading
import time

from flask import Flask

from emulator.invocation.outcomes import Hop
from emulator.observe import channel
from emulator.observe.log import MAX_ENDPOINTS, RequestLog
from emulator.observe.owner_app import owner_routes
from emulator.observe.records import Finished, invocation_record


def _finished(endpoint: str = "e", status: int = 200, body: bytes = b"abc") -> Finished:
    hop = Hop("first", "text/csv", None, len(body), status=status, content_type_out="text/csv", bytes_out=2, ms=1.5,
              request_body=body, response_body=b"ok")
    return Finished(1.0, endpoint, "AllTraffic", status, 2.0, [hop])


def test_each_endpoint_keeps_its_last_n_and_numbers_run_across_all():
    log = RequestLog(per_endpoint=3)
    for number in range(5):
        log.add_finished(_finished("a"))
        log.add_finished(_finished("b"))
    everything = log.read()
    assert [r["seq"] for r in everything["invocations"]] == [5, 6, 7, 8, 9, 10]
    assert [r["endpoint"] for r in log.read(endpoint="a")["invocations"]] == ["a"] * 3
    assert log.read(since=9)["invocations"][0]["seq"] == 10 and everything["next"] == 10


def test_requests_for_endless_unknown_endpoint_names_keep_the_log_bounded():
    log = RequestLog(per_endpoint=2)
    log.add_finished(_finished("real"))
    for number in range(MAX_ENDPOINTS + 50):
        log.add_finished(_finished(f"typo-{number}"))
        if number % 10 == 0:
            log.add_finished(_finished("real"))  # in use: stays
    assert len(log._invocations) == MAX_ENDPOINTS and "real" in log._invocations


def test_events_and_invocations_share_the_sequence():
    log = RequestLog()
    log.event("e", "model", "exited", "exited, code 137")
    log.add_finished(_finished())
    read = log.read(since=0)
    assert read["events"][0]["seq"] == 1 and read["events"][0]["event"] == "exited"
    assert read["invocations"][0]["seq"] == 2


def test_a_reader_waiting_is_woken_by_the_next_record():
    log = RequestLog()
    threading.Timer(0.2, log.add_finished, [_finished()]).start()
    started = time.monotonic()
    read = log.read(since=0, wait=5)
    assert read["invocations"] and time.monotonic() - started < 2


def test_bodies_are_kept_only_when_asked_and_cut_to_the_limit():
    without = invocation_record(_finished(body=b"x" * 100), body_limit=0)["hops"][0]
    assert "request_body" not in without and without["bytes_in"] == 100
    cut = invocation_record(_finished(body=b"x" * 100), body_limit=10)["hops"][0]
    assert cut["request_body"] == "x" * 10 and cut["request_body_truncated"] == 100 and cut["response_body"] == "ok"


def test_records_travel_from_a_worker_to_the_owner(tmp_path):
    log = RequestLog(body_limit=16)
    receiver = channel.Receiver(str(tmp_path / "log.sock"), log.add).start()
    try:
        sender = channel.Sender(receiver.path, body_limit=16)
        sender.add(_finished(status=424))
        read = log.read(since=0, wait=3)
        assert read["invocations"][0]["status"] == 424 and read["invocations"][0]["hops"][0]["request_body"] == "abc"
    finally:
        receiver.close()


def test_what_cannot_be_sent_is_dropped_counted_and_reported_with_the_next_batch(tmp_path):
    path = str(tmp_path / "log.sock")
    sender = channel.Sender(path, body_limit=0)
    sender._pending.append(_finished())
    sender._start()  # the socket, as the first record would
    sender.flush()  # nobody listens yet: dropped, never waited for
    log = RequestLog()
    receiver = channel.Receiver(path, log.add).start()
    try:
        sender._pending.append(_finished())
        sender.flush()
        read = log.read(since=0, wait=3)
        assert len(read["invocations"]) == 1 and read["dropped"] == 1
    finally:
        receiver.close()


def test_a_record_too_large_for_a_datagram_loses_its_bodies_not_its_place():
    big = invocation_record(_finished(body=b"x" * (channel.DATAGRAM_LIMIT * 2)), body_limit=channel.DATAGRAM_LIMIT * 2)
    small = invocation_record(_finished(), body_limit=0)
    batches = channel._batches([small, big, small])
    records = [json.loads(text) for batch in batches for text in batch]
    assert len(records) == 3 and records[1]["bodies_dropped"] and "request_body" not in records[1]["hops"][0]
    assert all(sum(len(text) for text in batch) < channel.DATAGRAM_LIMIT for batch in batches)


def test_bad_query_parameters_get_a_clear_answer():
    app = Flask("test")
    app.register_blueprint(owner_routes(RequestLog(), lambda: []))
    client = app.test_client()
    answer = client.get("/_emulator/invocations?since=abc")
    assert answer.status_code == 400 and "since='abc' is not an integer" in answer.json["error"]
    assert client.get("/_emulator/invocations?since=0").json["invocations"] == []
    assert client.get("/_emulator/endpoints/e/containers/c/logs").status_code == 404


def test_a_cold_start_is_kept_on_the_record_and_printed_by_trace():
    from emulator.trace import format_invocation

    cold = invocation_record(Finished(time.time(), "e", "AllTraffic", 200, 2512.0, [], cold_start=2.5), 0)
    warm = invocation_record(Finished(time.time(), "e", "AllTraffic", 200, 12.0, []), 0)
    assert cold["cold_start_ms"] == 2500.0 and "cold_start_ms" not in warm
    assert "(cold start: 2500 ms)" in format_invocation({**cold, "seq": 1})
    assert "cold start" not in format_invocation({**warm, "seq": 2})
