"""The isolation relay without Docker: where it cannot enter a namespace, it says so at start."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from emulator.errors import EmulatorError
from emulator.containers.isolation import NamespaceRelay


def test_a_namespace_it_cannot_enter_is_one_clear_error_and_stop_frees_the_port():
    relay = NamespaceRelay(lambda: "/nonexistent/netns", 8080).start()
    port = urlsplit(relay.url).port
    with pytest.raises(EmulatorError, match="EnableNetworkIsolation: cannot enter") as caught:
        relay.check()
    assert "Fix:" in str(caught.value)
    relay.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
