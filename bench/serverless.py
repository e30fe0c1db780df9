"""Serverless: a cold start (the first call to a serverless variant stopped for idleness) against the container's
own start, and what counting MaxConcurrency costs a warm invocation.

    python bench/serverless.py [--repeat 5] [--requests 300] [--machine-limits]

Subjects of the cold start, each repetition in a rotating order:
  floor    the echo container alone: `docker run -d` then GET /ping every 10 ms.
  cold     InvokeEndpoint (boto3) on a serverless echo endpoint whose containers the emulator stopped after
           `serverless_idle`: the call asks the owner to start them, waits for their pings, then is answered.
Per request, alternating (ABBA): a warm serverless variant (a slot taken and given back per call) against the
same container as a variant on instances, each called through the front.

`--machine-limits`: the variants' containers get the machine, as the floor's does (Emulator(instance_limits=False)),
so the figure is the emulator's own cost; by default they get MemorySizeInMB under the instance limits' shared
parent cgroup, which on a machine busy with other emulators' containers competes with them for CPU.

Targets: cold <= 1.2x floor (medians); a warm serverless call's median within 10 % of the instance variant's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
from typing import Any

import boto3
from botocore.config import Config

import harness as h

COLD_TARGET, WARM_TARGET = 1.2, 1.1
IDLE = 0.5  # seconds before a serverless variant stops
COLD, WARM, PLAIN = "bench-serverless-cold", "bench-serverless-warm", "bench-instances"


def run(argv: list[str]) -> None:
    args = _arguments(argv)
    h.ensure_examples()
    h.header("serverless: a cold start vs the container's own start; a warm call vs a variant on instances")
    with h.emulated({"Endpoints": {PLAIN: {"PrimaryContainer": {"Image": h.ECHO_IMAGE}}}},
                    serverless_idle=IDLE, instance_limits=not args.machine_limits) as emulator:
        sm, runtime = _client(emulator.url, "sagemaker"), _client(emulator.url, "sagemaker-runtime")
        _deploy(sm, COLD, {"MemorySizeInMB": 1024, "MaxConcurrency": 4})
        _deploy(sm, WARM, {"MemorySizeInMB": 1024, "MaxConcurrency": 4, "ProvisionedConcurrency": 1})
        try:
            h.start_by_hand([(h.ECHO_IMAGE, None)])  # warms Docker's and the page cache; not counted
            runs = h.rotating({"floor": lambda: {"total": h.start_by_hand([(h.ECHO_IMAGE, None)])},
                               "cold": lambda: _cold_start(emulator, runtime)}, args.repeat)
        finally:
            h.remove_bench_containers()
        session, body = h.session(), h.echo_body(1024)
        warm = h.alternate({name: (lambda name=name: h.invoke_front(session, emulator.url, name, body, "text/plain"))
                            for name in (PLAIN, WARM)}, args.requests, max_seconds=120)

    floor = statistics.median(r["total"] for r in runs["floor"])
    cold = statistics.median(r["total"] for r in runs["cold"])
    figures = {"floor_s": round(floor, 3), "cold_s": round(cold, 3), "cold_ratio": round(cold / floor, 3),
               "instances": warm[PLAIN].as_dict(), "serverless_warm": warm[WARM].as_dict(),
               "warm_ratio": round(warm[WARM].p50 / warm[PLAIN].p50, 3)}
    print("\n" + report(figures))
    path = h.save("serverless-machine-limits" if args.machine_limits else "serverless",
                  {"repeat": args.repeat, "runs": runs, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="cold starts of each subject (default 5)")
    parser.add_argument("--requests", type=int, default=300, help="warm requests of each variant (default 300)")
    parser.add_argument("--machine-limits", action="store_true",
                        help="no instance limits: the containers get the machine, as the floor's does")
    return parser.parse_args(argv)


def _client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}, read_timeout=300))


def _deploy(sm: Any, name: str, serverless: dict) -> None:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": h.ECHO_IMAGE})
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "ServerlessConfig": serverless}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})


def _cold_start(emulator: Any, runtime: Any) -> dict[str, float]:
    from emulator.control.plane import key
    from emulator.waiting import wait_until

    # Stopped, and its container gone (it has up to 30 s to end after SIGTERM): not sharing the engine with the start.
    cold = wait_until(lambda: emulator.store.serving()[key(COLD)].variants[0].cold and not _containers(COLD),
                      timeout=120, interval=0.1)
    if not cold.ready:
        raise h.BenchError(f"{COLD} was not stopped within 120 s of idling.")
    began = h.clock()
    runtime.invoke_endpoint(EndpointName=COLD, Body=b"1", ContentType="text/plain")["Body"].read()
    return {"total": h.clock() - began}


def _containers(endpoint: str) -> list[str]:
    from emulator.containers import labels as L

    listed = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={L.ENDPOINT}={endpoint}"], capture_output=True,
                            text=True, check=True)
    return listed.stdout.split()


def report(figures: dict[str, Any]) -> str:
    cold_met = figures["cold_ratio"] <= COLD_TARGET
    warm_met = figures["warm_ratio"] <= WARM_TARGET
    return "\n".join([
        f"container's own start (median)   {figures['floor_s']:.3f} s",
        f"serverless cold start (median)   {figures['cold_s']:.3f} s   ratio {figures['cold_ratio']:.2f}x "
        f"(target <= {COLD_TARGET}x: {'met' if cold_met else 'NOT met'})",
        f"warm call, instances   p50 {figures['instances']['p50_ms']:.2f} ms  p99 {figures['instances']['p99_ms']:.2f} ms",
        f"warm call, serverless  p50 {figures['serverless_warm']['p50_ms']:.2f} ms  "
        f"p99 {figures['serverless_warm']['p99_ms']:.2f} ms   ratio {figures['warm_ratio']:.2f}x "
        f"(target <= {WARM_TARGET}x: {'met' if warm_met else 'NOT met'})"])


if __name__ == "__main__":
    h.main(run)
