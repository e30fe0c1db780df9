"""Security: what listens where (read from the kernel's socket tables, as `ss -ltn` does), what containers
are granted, the read-only model folder, and EnableNetworkIsolation tested from inside the container."""

from __future__ import annotations

import errno
import json
import socket
from collections import defaultdict
from pathlib import Path

import pytest

from emulator import Emulator
from emulator.front.server import FrontServer
from tests.reliability.support import echo

pytestmark = pytest.mark.docker
PROBE = """
import json, socket, sys
results = {}
for host, port in json.loads(sys.argv[1]):
    with socket.socket() as s:
        s.settimeout(2)
        results[f"{host}:{port}"] = s.connect_ex((host, port))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def emulator(docker_engine, tmp_path_factory):
    model = tmp_path_factory.mktemp("model")
    (model / "weights.bin").write_bytes(b"\0" * 16)
    definition = {"Endpoints": {
        "open": {"PrimaryContainer": {**echo(), "ModelDataUrl": str(model)}},
        "sealed": {"Containers": [echo("sealed-a"), echo("sealed-b")], "EnableNetworkIsolation": True},
    }}
    with Emulator(definition) as running:
        running.serve()
        yield running


def listening() -> dict[int, set[str]]:
    """Port -> addresses with a listening TCP socket, from /proc/net/tcp and tcp6."""
    found: dict[int, set[str]] = defaultdict(set)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # TCP_LISTEN
                address, port = local.split(":")
                found[int(port, 16)].add(_address(bytes.fromhex(address)))
    return found


def _address(raw: bytes) -> str:
    """The kernel writes each 32-bit word of the address in host (little-endian) order."""
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words)


def attrs_of(docker_engine, emulator, endpoint: str) -> list[dict]:
    return [docker_engine.api.inspect_container(c.id) for c in emulator[endpoint].endpoint.containers]


def probe(docker_engine, container_id: str, targets: list[tuple[str, int]]) -> dict[str, int]:
    """Connect from inside the container; returns each target's errno (0: connected)."""
    result = docker_engine.api.exec_create(container_id, ["python3", "-c", PROBE, json.dumps(targets)])
    return json.loads(docker_engine.api.exec_start(result["Id"]))


def host_addresses(bridged: dict) -> list[str]:
    """The Docker bridge's gateway and this host's main address: where a container finds the host."""
    bridge = bridged["NetworkSettings"]["Gateway"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            return [bridge, udp.getsockname()[0]]
        except OSError:
            return [bridge]


def test_container_ports_are_published_on_loopback_only(docker_engine, emulator):
    sockets = listening()
    for attrs in attrs_of(docker_engine, emulator, "open"):
        bindings = [b for port in attrs["HostConfig"]["PortBindings"].values() for b in port]
        assert bindings and all(b["HostIp"] == "127.0.0.1" for b in bindings)
        assert all(sockets[int(b["HostPort"])] == {"127.0.0.1"} for b in bindings)


def test_the_front_listens_on_loopback_unless_told_otherwise_and_then_warns(emulator):
    assert listening()[emulator.front.port] == {"127.0.0.1"}
    with pytest.warns(UserWarning, match="reachable from other machines"):
        front = FrontServer(host="0.0.0.0", workers=1, max_connections=16).start(emulator.store.path, emulator.internal.url)
    try:
        assert listening()[front.port] == {"0.0.0.0"}
    finally:
        front.stop()


def test_containers_get_no_privileges_no_docker_socket_and_no_host_network(docker_engine, emulator):
    for attrs in attrs_of(docker_engine, emulator, "open") + attrs_of(docker_engine, emulator, "sealed"):
        host = attrs["HostConfig"]
        assert host["Privileged"] is False and not host["CapAdd"] and "no-new-privileges" in host["SecurityOpt"]
        assert host["NetworkMode"] != "host" and host["PidMode"] != "host" and host["IpcMode"] != "host"
        assert not host["Devices"] and "docker.sock" not in json.dumps(attrs["Mounts"])
        assert all(mount["Destination"] == "/opt/ml/model" and mount["RW"] is False for mount in attrs["Mounts"])


def test_the_model_folder_is_read_only(docker_engine, emulator):
    [attrs] = attrs_of(docker_engine, emulator, "open")
    write = "open('/opt/ml/model/new', 'w')"
    result = docker_engine.api.exec_create(attrs["Id"], ["python3", "-c", write])
    output = docker_engine.api.exec_start(result["Id"]).decode()
    assert docker_engine.api.exec_inspect(result["Id"])["ExitCode"] != 0 and "Read-only file system" in output


def test_network_isolation_cuts_every_route_yet_the_endpoint_serves(docker_engine, emulator):
    """A port listening on all host addresses is reachable from an ordinary container (the control), and
    from no isolated one; nor is the outside (no packet leaves: there is no route to send it on)."""
    with socket.create_server(("0.0.0.0", 0)) as listener:
        [open_container] = attrs_of(docker_engine, emulator, "open")
        targets = [(address, listener.getsockname()[1]) for address in host_addresses(open_container)]
        assert probe(docker_engine, open_container["Id"], targets[:1]) == {f"{targets[0][0]}:{targets[0][1]}": 0}
        for attrs in attrs_of(docker_engine, emulator, "sealed"):
            assert attrs["HostConfig"]["NetworkMode"] == "none"
            outcomes = probe(docker_engine, attrs["Id"], targets + [("1.1.1.1", 53)])
            assert set(outcomes.values()) == {errno.ENETUNREACH}, outcomes
    answer = emulator["sealed"].invoke(b"still serving\n", content_type="text/plain")
    assert answer.body.startswith(b"still serving\n") and [h.container for h in answer.hops] == ["sealed-a", "sealed-b"]
