"""Instance types, sized: the example pipeline's answer time under ml.t3.medium against ml.m5.xlarge, and against
a 1-vCPU quota.

    python bench/instance_types.py [--seconds 40] [--clients 2] [--rows 300]

One emulator serves the example pipeline (example_containers/pipeline.yaml) three times, each endpoint on its own
instance (its containers share a parent cgroup holding the instance's vCPUs and memory):
  ml.m5.xlarge   4 vCPUs, 16 GiB
  ml.t3.medium   2 vCPUs, 4 GiB
  1-vcpu         1 vCPU, 4 GiB: a quota for this benchmark only (no SageMaker type has fewer than 2 vCPUs)
`--clients` clients call each endpoint back to back with `--rows` penguin rows per request, the endpoints
alternated in slices (ABBA) so that the machine's drift hits them alike.

On a machine of N cores, a quota of N vCPUs or more is the whole machine: with 2 cores, ml.t3.medium and
ml.m5.xlarge both get both cores and answer alike, and only a smaller quota shows the size. Target: the ratio of
answer times (p50) follows the vCPUs the machine can give, min(vCPUs, cores): 1-vcpu / ml.t3.medium about
min(2, cores) / 1 when the clients keep both cores busy, ml.t3.medium / ml.m5.xlarge about min(4, cores) /
min(2, cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

import harness as h

BENCH_TYPE = "bench.1-vcpu"
CPU_CGROUPS = Path("/sys/fs/cgroup/cpu/sagemaker-emulator")  # cgroup v1; v2 keeps cpu.stat in the group itself
ALL_CGROUPS = Path("/sys/fs/cgroup/sagemaker-emulator")
ENDPOINTS = {"m5-xlarge": "ml.m5.xlarge", "t3-medium": "ml.t3.medium", "one-vcpu": BENCH_TYPE}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40, help="seconds of calls per endpoint (default 40)")
    parser.add_argument("--clients", type=int, default=2, help="clients calling at once (default 2)")
    parser.add_argument("--rows", type=int, default=300, help="penguin rows per request (default 300)")
    args = parser.parse_args(argv)

    from emulator import instances
    from emulator.definition import load_file

    h.ensure_examples()
    h.header("instance types: the example pipeline's answer time by instance size")
    instances.TYPES[BENCH_TYPE] = instances.Instance(BENCH_TYPE, 1, 4)  # this process's table only
    [pipeline] = load_file(h.PIPELINE_FILE)
    definitions = [dataclasses.replace(pipeline, name=name, instance_type=instance_type)
                   for name, instance_type in ENDPOINTS.items()]
    body = h.penguin_body(sum(len(row) + 1 for row in h.PENGUIN_ROWS.read_text().splitlines()[:args.rows]))
    cores = os.cpu_count() or 1
    print(f"{h.describe(h.PIPELINE_FILE)} on {', '.join(ENDPOINTS.values())}; {args.clients} clients, "
          f"{len(body)} bytes a request, {args.seconds:g} s each; this machine has {cores} cores.\n", flush=True)

    with h.emulated(definitions, startup_timeout=300) as emulator:
        url = emulator.url

        def caller(endpoint: str):
            def make_call():
                s = h.session()
                return lambda: h.invoke_front(s, url, endpoint, body, "text/csv", "text/csv")
            return make_call

        for endpoint in ENDPOINTS:  # a first answer loads each model's code paths; not counted
            caller(endpoint)()()
        samples = h.alternate_closed_loops({endpoint: caller(endpoint) for endpoint in ENDPOINTS},
                                           clients=args.clients, seconds=args.seconds * len(ENDPOINTS))
        throttled = {endpoint: _throttled(endpoint) for endpoint in ENDPOINTS}
    figures = {endpoint: {**samples[endpoint].as_dict(), "throttled_periods": throttled[endpoint]}
               for endpoint in ENDPOINTS}
    ratios = {"t3-medium / m5-xlarge": samples["t3-medium"].p50 / samples["m5-xlarge"].p50,
              "one-vcpu / t3-medium": samples["one-vcpu"].p50 / samples["t3-medium"].p50}
    expected = {"t3-medium / m5-xlarge": min(4, cores) / min(2, cores),
                "one-vcpu / t3-medium": min(2, cores, args.clients) / 1}
    print(h.table(["endpoint", "instance", "p50 ms", "p99 ms", "answers/s", "CPU periods throttled"],
                  [[endpoint, ENDPOINTS[endpoint], f"{samples[endpoint].p50:.1f}", f"{samples[endpoint].p99:.1f}",
                    f"{samples[endpoint].per_second:.2f}", _share(throttled[endpoint])] for endpoint in ENDPOINTS]))
    print()
    print(h.table(["p50 ratio", "measured", "the vCPUs' ratio here"],
                  [[name, f"{ratios[name]:.2f}x", f"{expected[name]:.2f}x"] for name in ratios]))
    path = h.save("instance_types", {"clients": args.clients, "rows": args.rows, "seconds": args.seconds,
                                     "cores": cores, "figures": figures, "ratios": ratios, "expected": expected})
    print(f"\nfigures: {path}")


def _throttled(endpoint: str) -> tuple[int, int] | None:
    """(periods throttled, periods) of the endpoint's instance cgroup since it started: how often its containers
    together hit the instance's CPU quota; None where the instance has no shared cgroup."""
    for stat in [*CPU_CGROUPS.glob(f"{endpoint}-*/cpu.stat"), *ALL_CGROUPS.glob(f"{endpoint}-*/cpu.stat")]:
        fields = dict(line.split() for line in stat.read_text().splitlines())
        return int(fields["nr_throttled"]), int(fields["nr_periods"])
    return None


def _share(throttled: tuple[int, int] | None) -> str:
    if throttled is None:
        return "-"
    hit, periods = throttled
    return f"{hit} of {periods} ({hit / periods:.0%})" if periods else "0"


if __name__ == "__main__":
    h.main(run)
