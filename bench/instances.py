"""Instance counts: the throughput of a variant of 1, 2 and 4 instances of a container that takes 1 s per call,
each count against 1 instance measured in the same run.

    python bench/instances.py [--seconds 40] [--clients 16] [--delay 1.0]

The echo container sleeps `--delay` before answering and serves 4 calls at once (gunicorn's 4 threads), so one
instance answers at most 4 calls a second and N instances up to 4N: the container waits, it does not compute, so
the machine's cores do not bound it. `--clients` keep-alive clients call back to back (closed loop), the counts
alternating in slices (ABBA). Target: the throughput grows with the instances (2 instances > 1.5x one, 4 > 2.5x),
the front spreading calls at random over the copies.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import harness as h

COUNTS = (1, 2, 4)
TARGETS = {2: 1.5, 4: 2.5}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40, help="seconds of calls per instance count (default 40)")
    parser.add_argument("--clients", type=int, default=16, help="clients calling at once (default 16)")
    parser.add_argument("--delay", type=float, default=1.0, help="the container's time per call, seconds")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header(f"instance counts: throughput of 1, 2 and 4 instances of a {args.delay:g}-s container")
    with h.emulated(None, startup_timeout=240, max_instances=max(COUNTS)) as emulator:
        url = emulator.serve()
        sm = emulator.boto3_client("sagemaker")
        sm.create_model(ModelName="slow", PrimaryContainer={"Image": h.ECHO_IMAGE, "Environment": {
            "ECHO_DELAY_SECONDS": str(args.delay)}})
        for count in COUNTS:
            sm.create_endpoint_config(EndpointConfigName=f"slow-{count}", ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": "slow", "InitialInstanceCount": count,
                "InstanceType": "ml.m5.large"}])
            sm.create_endpoint(EndpointName=f"slow-{count}", EndpointConfigName=f"slow-{count}")
        for count in COUNTS:
            sm.get_waiter("endpoint_in_service").wait(EndpointName=f"slow-{count}",
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 300})

        def caller(count: int) -> Callable[[], Callable[[], Any]]:
            def make() -> Callable[[], Any]:
                s = h.session()
                return lambda: h.invoke_front(s, url, f"slow-{count}", b"x", "text/plain")
            return make

        samples = h.alternate_closed_loops({f"{count} instance{'s' * (count > 1)}": caller(count) for count in COUNTS},
                                           clients=args.clients, seconds=args.seconds * len(COUNTS) / 2, rounds=4)
    names = list(samples)
    base = samples[names[0]].per_second
    figures: dict[str, Any] = {name: {**samples[name].as_dict(), "ratio": round(samples[name].per_second / base, 3)}
                               for name in names}
    print(h.table(["instances", "calls/s", "p50 ms", "p99 ms", "vs 1 instance"],
                  [[name, round(samples[name].per_second, 2), round(samples[name].p50, 1), round(samples[name].p99, 1),
                    f"{figures[name]['ratio']:.2f}x"] for name in names]))
    for count, name in zip(COUNTS[1:], names[1:]):
        met = figures[name]["ratio"] > TARGETS[count]
        print(f"{name}: {figures[name]['ratio']:.2f}x one instance; target > {TARGETS[count]}x: {h.verdict(met)}")
    print(f"saved: {h.save('instances', {'arguments': vars(args), 'figures': figures})}")


if __name__ == "__main__":
    h.main(run)
