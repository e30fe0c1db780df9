"""The router of an exported pod: the emulator's front, serving one endpoint whose containers share its localhost.

    python3 -m emulator.export.router --endpoint penguins --mode Serial --port 7080 \
        --container preprocessor=9081 --container model=9082

The same Flask app, chain and X-Emulator-Trace header as `sagemaker-emulator serve`; only the routes
come from the arguments instead of from containers the emulator started. SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT, Route
from emulator.shapes import is_valid_name
from emulator.errors import EmulatorError
from emulator.seam import serving
from emulator.seam.serving import EndpointSpec, variant_spec
from emulator.front.server import MAX_CONNECTIONS, FrontServer
from emulator.waiting import until_set

VARIANT = "AllTraffic"


@dataclass(frozen=True)
class EndpointRoutes:
    name: str
    mode: str
    routes: tuple[Route, ...]
    timeout: float


def parse_routes(endpoint: str, mode: str, containers: list[str], timeout: float) -> EndpointRoutes:
    """`hostname=port` pairs, in chain order, as the front's description of one endpoint."""
    if not is_valid_name(endpoint):
        raise EmulatorError(f"--endpoint {endpoint!r} is not a SageMaker endpoint name. Fix: use 1-63 letters, "
                            "digits and hyphens.")
    routes = []
    for item in containers:
        hostname, _, port = item.partition("=")
        if not is_valid_name(hostname) or not port.isdigit() or not 0 < int(port) < 65536:
            raise EmulatorError(f"--container {item!r} is not HOSTNAME=PORT. Fix: e.g. --container model=9082.")
        routes.append(Route(hostname, f"http://127.0.0.1:{int(port)}"))
    if not routes:
        raise EmulatorError("no --container given. Fix: name each container of the endpoint, in chain order, "
                            "as --container HOSTNAME=PORT.")
    if len({route.hostname for route in routes}) < len(routes):
        raise EmulatorError("a hostname is given twice in --container. Fix: name each container once.")
    return EndpointRoutes(endpoint, mode, tuple(routes), timeout)


def spec_of(endpoint: EndpointRoutes) -> EndpointSpec:
    """What the front routes by: one variant of one copy, the pod."""
    return EndpointSpec(endpoint.name, (variant_spec(VARIANT, 1.0, endpoint.mode, [("", list(endpoint.routes))],
                                                     endpoint.timeout),))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m emulator.export.router", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True, help="the endpoint's name, as callers give it")
    parser.add_argument("--mode", choices=["Serial", "Direct"], default="Serial")
    parser.add_argument("--container", action="append", default=[], metavar="HOSTNAME=PORT",
                        help="a container on localhost, in chain order (repeat for each)")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default: every interface of the pod)")
    parser.add_argument("--port", type=int, default=7080)
    parser.add_argument("--timeout", type=float, default=DEFAULT_INVOCATION_TIMEOUT, help="seconds per container call")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-connections", type=int, default=MAX_CONNECTIONS,
                        help="connections served at once, over all workers")
    args = parser.parse_args(argv)
    try:
        endpoint = parse_routes(args.endpoint, args.mode, args.container, args.timeout)
        with warnings.catch_warnings():
            # Listening beyond loopback is the point inside a pod: its network is the pod's own.
            warnings.simplefilter("ignore")
            front = FrontServer(host=args.host, port=args.port, workers=args.workers,
                                max_connections=args.max_connections)
            front.listen()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        # The front reads its routes from a serving table, as under `serve`; here one written once.
        database = Path(tempfile.mkdtemp(prefix="sagemaker-router-")) / "serving.sqlite3"
        connection = serving.connect(database)
        connection.execute(serving.SCHEMA)
        serving.write_serving(connection, endpoint.name.lower(), spec_of(endpoint))
        connection.close()
        front.start(database)
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    hops = " -> ".join(f"{route.hostname} ({route.url})" for route in endpoint.routes)
    print(f"routing endpoint {endpoint.name} ({endpoint.mode}) on {front.url}: {hops}", flush=True)
    try:
        until_set(stop)
    finally:
        front.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
