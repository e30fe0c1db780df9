"""Container output lands in the embedded CloudWatch Logs under SageMaker's names, read with boto3."""

from __future__ import annotations

import time

import pytest

from emulator.containers import labels
from emulator.observe.log_shipping import (MAX_BYTES_PER_PUT, MAX_EVENTS_PER_PUT, Destination, LogShipper, _batches,
                                       endpoint_group, endpoint_stream, parse_line)
from emulator.containers.docker_backend import ContainerSpec, DockerBackend

from tests.conftest import ECHO_IMAGE


def test_docker_timestamped_lines_parse_to_nanoseconds():
    assert parse_line(b"2026-12-01T12:00:01.123456789Z hello world\r") == (1796126401123456789, "hello world")
    assert parse_line(b"no stamp") == (None, "no stamp")


def test_put_log_events_calls_stay_within_cloudwatchs_limits():
    many = [{"timestamp": 1, "message": "x"}] * (MAX_EVENTS_PER_PUT + 1)
    assert [len(batch) for batch in _batches(many)] == [MAX_EVENTS_PER_PUT, 1]
    big = [{"timestamp": 1, "message": "y" * 200_000}] * 6
    batches = list(_batches(big))
    assert sum(map(len, batches)) == 6
    assert all(sum(len(e["message"]) + 26 for e in batch) <= MAX_BYTES_PER_PUT for batch in batches)


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.mark.docker
def test_a_containers_output_is_readable_with_get_log_events_and_survives_a_restart(example_images, aws_client):
    backend = DockerBackend()
    spec = ContainerSpec(image=ECHO_IMAGE, name=f"sme-logs-test-{labels.session_id()}", container_port=8080,
                         environment={}, labels=labels.owner_labels())
    container_id, _ = backend.run(spec)
    shipper = LogShipper(backend)
    destination = Destination(endpoint_group("logs-test"), endpoint_stream("AllTraffic", "i-0123", "primary"))
    logs = aws_client("logs")
    try:
        shipper.follow(container_id, destination)

        def messages():
            try:
                answer = logs.get_log_events(logGroupName=destination.group, logStreamName=destination.stream,
                                             startFromHead=True)
            except logs.exceptions.ResourceNotFoundException:
                return []
            return [event["message"] for event in answer["events"]]

        first = wait_for(messages)
        assert first, "the container's start-up output never reached CloudWatch Logs"
        backend.stop(container_id, timeout=5)
        backend.start(container_id)  # as the supervisor does after a crash
        again = wait_for(lambda: len(messages()) > len(first) and messages())
        assert again[:len(first)] == first and len(again) > len(first)  # nothing twice, the new start follows
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/Endpoints/logs-test",
                                            logStreamNamePrefix="AllTraffic/")["logStreams"]
        assert [stream["logStreamName"] for stream in streams] == ["AllTraffic/i-0123/primary"]
        found = logs.filter_log_events(logGroupName=destination.group, filterPattern=first[0].split()[0])["events"]
        assert found
    finally:
        shipper.forget([container_id])
        backend.remove(container_id, timeout=0)
        shipper.close()
