"""One shard of a transform job, in a pod of an exported indexed Job: the emulator's transform engine, driven
through the model's containers on localhost.

    python3 -m emulator.export.transform_shard --job request.yaml --input DIR --output DIR --shards N \\
        --endpoint penguins --mode Serial --container preprocessor=9081 --container model=9082

The shard's index is --index, or JOB_COMPLETION_INDEX (Kubernetes sets it in an Indexed Job's pods).
Shard i of N transforms the input files i, i+N, i+2N, ... in name order, as SageMaker hands each
instance whole objects; their `.out` files keep their paths relative to the input folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

from emulator.invocation.chain_target import ChainTarget
from emulator.invocation.chain import DEFAULT_INVOCATION_TIMEOUT, Chain, Route
from emulator.invocation.container_http import pings
from emulator.errors import EmulatorError
from emulator.export.router import parse_routes
from emulator.transform import from_request, run_transform
from emulator.waiting import wait_until

STARTUP_TIMEOUT = 240.0  # SageMaker's default wait for /ping
PING_INTERVAL = 0.5


def shard_files(input_dir: Path, index: int, shards: int) -> list[Path]:
    """This shard's input files, relative to `input_dir`: every `shards`-th in name order, from `index`."""
    if not 0 <= index < shards:
        raise EmulatorError(f"shard index {index} is outside 0..{shards - 1}. Fix: give --index below --shards.")
    if not input_dir.is_dir():
        raise EmulatorError(f"the input folder {input_dir} does not exist. Fix: put the job's input files there.")
    files = sorted(path.relative_to(input_dir) for path in input_dir.rglob("*") if path.is_file())
    return files[index::shards]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m emulator.export.transform_shard",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", type=Path, required=True, help="the CreateTransformJob request (YAML or JSON)")
    parser.add_argument("--input", type=Path, required=True, help="the job's input folder (every shard's)")
    parser.add_argument("--output", type=Path, required=True, help="the folder for the .out files")
    parser.add_argument("--shards", type=int, default=1, help="the number of shards (the Job's completions)")
    parser.add_argument("--index", type=int, default=int(os.environ.get("JOB_COMPLETION_INDEX", "0")))
    parser.add_argument("--endpoint", required=True, help="the model's name")
    parser.add_argument("--mode", choices=["Serial", "Direct"], default="Serial")
    parser.add_argument("--container", action="append", default=[], metavar="HOSTNAME=PORT",
                        help="a container on localhost, in chain order (repeat for each)")
    parser.add_argument("--startup-timeout", type=float, default=STARTUP_TIMEOUT)
    args = parser.parse_args(argv)
    try:
        routes = parse_routes(args.endpoint, args.mode, args.container, DEFAULT_INVOCATION_TIMEOUT)
        job = from_request(_read_request(args.job))
        files = shard_files(args.input, args.index, args.shards)
        if not files:
            print(f"shard {args.index} of {args.shards}: no input files for this shard.")
            return 0
        _wait_healthy(routes.routes, args.startup_timeout)
        with tempfile.TemporaryDirectory() as staging:
            # The engine transforms a folder, keeping relative paths: this shard's files, linked into one.
            for relative in files:
                (Path(staging) / relative).parent.mkdir(parents=True, exist_ok=True)
                (Path(staging) / relative).symlink_to((args.input / relative).resolve())
            chain = Chain(routes.name, list(routes.routes), routes.mode, timeout=routes.timeout)
            report = run_transform(job, ChainTarget(chain), Path(staging), args.output)
    except EmulatorError as exc:  # TransformError too
        print(f"error: shard {args.index} of {args.shards}: {exc}", file=sys.stderr)
        return 1
    print(f"shard {args.index} of {args.shards}: transformed {report.records} records of {len(files)} file(s) "
          f"in {report.requests} requests, {report.seconds:.1f} s, into {args.output}")
    return 0


def _read_request(path: Path) -> dict:
    try:
        request = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EmulatorError(f"cannot read the transform job request {path}: {exc}") from None
    if not isinstance(request, dict):
        raise EmulatorError(f"{path} is not a CreateTransformJob request (a mapping).")
    return request


def _wait_healthy(routes: tuple[Route, ...], timeout: float) -> None:
    """Every container answers /ping before the first invocation, as in SageMaker (a cluster's startup probes
    already hold this container back; a cluster without native sidecars, or a test, does not)."""
    waiting = list(routes)

    def all_healthy() -> bool:
        waiting[:] = [route for route in waiting if not pings(route.url)]
        return not waiting

    if not wait_until(all_healthy, timeout=timeout, interval=PING_INTERVAL).ready:
        raise EmulatorError(f"{', '.join(r.hostname for r in waiting)} did not answer /ping within {timeout:g} s.")


if __name__ == "__main__":
    sys.exit(main())
