"""One served emulator, empty at start, shared by the control-plane tests of a module; real boto3 clients.

Each test names its resources uniquely (`unique`), so tests share the emulator without seeing each other.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from emulator.api import Emulator


def clients(url: str, service: str, read_timeout: float = 60) -> Any:
    """A boto3 client that never retries, so every failure shows."""
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x",
                        config=Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=5))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    # A short invocation timeout: containers an update replaced stop draining sooner.
    with Emulator(startup_timeout=60, invocation_timeout=10) as running:
        running.serve()
        yield running


@pytest.fixture
def unique() -> Any:
    """unique("model") -> "model-1a2b3c4d": names no other test uses."""
    token = uuid.uuid4().hex[:8]
    return lambda prefix: f"{prefix}-{token}"
