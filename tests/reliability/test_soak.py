"""Soak: 8 concurrent boto3 clients through the front for a bounded time, with zero failures.

The example pipeline (preprocessor -> model) checks that real predictions never fail under load. Its
containers do not return custom attributes, so an echo chain beside it checks that every request is
answered exactly once and with its own answer: each carries a unique InferenceId and custom attribute,
and both echo hops report the attribute they received. Clients never retry, so no failure is hidden.

SAGEMAKER_EMULATOR_SOAK_SECONDS sets the duration (default 20; 60 for a longer run).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter

import pytest

from emulator import Emulator
from emulator.definition import load_file, parse
from tests.conftest import EXAMPLES, PIPELINE
from tests.reliability.support import client, echo

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.serial]
CLIENTS = 8
SECONDS = float(os.environ.get("SAGEMAKER_EMULATOR_SOAK_SECONDS", "20"))
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}


@pytest.fixture(scope="module")
def front(example_images):
    chain = parse({"Endpoints": {"soak-echo": {"Containers": [echo("first"), echo("second")]}}})
    with Emulator(load_file(PIPELINE) + chain) as emulator:
        yield emulator.serve()


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent: list[str] = []
        self.answered: Counter[str] = Counter()
        self.failures: list[str] = []
        self.predictions = 0

    def failed(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)


def predict(runtime, rows: list[str], tally: Tally) -> None:
    answer = runtime.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="text/csv",
                                     Body="\n".join(rows).encode())
    predicted = answer["Body"].read().decode().split()
    if len(predicted) != len(rows) or not set(predicted) <= SPECIES:
        tally.failed(f"bad prediction {predicted!r} for {len(rows)} rows")
    with tally.lock:
        tally.predictions += 1


def round_trip(runtime, tally: Tally) -> None:
    request_id = uuid.uuid4().hex
    with tally.lock:
        tally.sent.append(request_id)
    answer = runtime.invoke_endpoint(EndpointName="soak-echo", ContentType="text/plain", Body=f"{request_id}\n".encode(),
                                     CustomAttributes=f"id={request_id}", InferenceId=request_id)
    body = answer["Body"].read().decode().splitlines()
    hops = [json.loads(line) for line in body[1:]]
    if body[0] != request_id or [hop["custom_attributes"] for hop in hops] != [f"id={request_id}"] * 2:
        tally.failed(f"request {request_id} got another answer: {body!r}")
    with tally.lock:
        tally.answered[answer["CustomAttributes"].removeprefix("id=")] += 1


def client_loop(url: str, rows: list[str], deadline: float, tally: Tally, number: int) -> None:
    runtime = client(url)
    calls = 0
    while time.monotonic() < deadline:
        calls += 1
        try:
            if calls % 2:
                predict(runtime, rows[(calls * 7 + number) % len(rows):][:1 + calls % 5], tally)
            else:
                round_trip(runtime, tally)
        except Exception as exc:  # noqa: BLE001 - any failure counts, whatever its kind
            tally.failed(f"{type(exc).__name__}: {exc}")


def test_soak_zero_failures_and_every_request_answered_exactly_once(front):
    rows = (EXAMPLES / "artifacts/data/penguins-features.csv").read_text().splitlines()
    tally = Tally()
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=client_loop, args=(front, rows, deadline, tally, n)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 60)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    assert tally.failures == [], f"{len(tally.failures)} failures, first: {tally.failures[:3]}"
    assert Counter(tally.sent) == tally.answered, "a request was answered twice, or not at all"
    assert set(tally.answered.values()) == {1}
    assert tally.predictions >= SECONDS and len(tally.sent) >= SECONDS, "too little load to mean anything"
    print(f"soak: {tally.predictions} predictions and {len(tally.sent)} echo round trips in {SECONDS:g} s")
