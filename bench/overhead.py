"""Per-request overhead of the emulator's front against the floor: the same containers called directly.

    python bench/overhead.py [--quick] [--only echo|example] [--clients 8] [--seconds 10]

Emulator: a kept-alive http.client connection (harness.FastClient, the fastest client the standard library
has) POSTs to the front's /endpoints/<name>/invocations (not boto3: boto3's own signing and parsing would be
counted as the emulator's). Direct: the same client POSTs to the first container's /invocations, then its answer to the second, with the headers the emulator sends each
hop. Both send the same bytes, and the script checks both answer the same bytes. Sequential latency is
measured one request of each at a time, alternating; throughput with N client threads in alternating
slices of a fixed duration.

Targets (the echo chain): p50 added <= 1 ms, throughput >= 0.9x direct.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import harness as h

KB, MB = 1024, 1024 * 1024
TARGET_ADDED_MS = 1.0
TARGET_THROUGHPUT = 0.9


@dataclass(frozen=True)
class Case:
    label: str
    source: Callable[[], Any]
    body: Callable[[int], bytes]
    content_type: str
    accept: str | None
    counts: dict[int, int]  # body size -> sequential requests per subject
    has_targets: bool


CASES = {
    "echo": Case("echo chain (2 x echo)", h.echo_chain, h.echo_body, "application/octet-stream", None,
                 {KB: 500, MB: 100}, True),
    # 1 MB of penguin rows is ~36,000 rows: ~0.6 s of pandas per request, so fewer of them.
    "example": Case("example pipeline (preprocessor -> model)", h.example_pipeline, h.penguin_body, "text/csv",
                    "text/csv", {KB: 500, MB: 30}, False),
}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(CASES), action="append", help="run only this pipeline (repeatable)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per subject and body size (default 10)")
    parser.add_argument("--quick", action="store_true", help="a fifth of the requests and seconds: a smoke run")
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0

    h.ensure_examples()
    h.header("overhead: emulator front vs. the containers called directly")
    print(f"client: http.client, kept alive (not boto3, not requests); {args.clients} client threads for throughput, "
          f"{args.seconds * scale:g} s per subject per body size, in 4 alternating slices.\n")
    results: dict[str, Any] = {"client": "http.client", "clients": args.clients}
    for key in args.only or list(CASES):
        case = CASES[key]
        source = case.source()
        with h.emulated(source) as emulator:
            results[key] = {"definition": h.describe(source),
                            **measure(case, emulator, args.clients, args.seconds * scale, scale)}
        print(report(case, results[key]), "\n", flush=True)
    path = h.save("overhead", results)
    print(f"figures saved to {path.relative_to(h.REPO)}")


def measure(case: Case, emulator: Any, clients: int, seconds: float, scale: float) -> dict[str, Any]:
    endpoint = emulator.endpoint
    routes = list(endpoint.chain.routes)
    figures: dict[str, Any] = {"containers": [r.hostname for r in routes]}
    container_pids = [h.container_pid(c.id) for c in endpoint.endpoint.containers]
    cpu = {"client": h.own_cpu, "front": lambda: h.tree_cpu(emulator.front._process.pid),
           "containers": lambda: h.tree_cpu(*container_pids)}
    for size, count in case.counts.items():
        calls = Calls(case, case.body(size), routes, emulator.url, endpoint.name)
        if calls.front(h.FastClient()).content != calls.direct(h.FastClient()):
            raise h.BenchError(f"{case.label}: the emulator and the direct calls answered different bodies.")
        requests = max(10, int(count * scale))
        print(f"  {case.label}, {len(calls.body):,} bytes: {requests} sequential requests each ...", flush=True)
        front_session, direct_session = h.FastClient(), h.FastClient()
        sequential = h.alternate({"direct": lambda c=calls, s=direct_session: c.direct(s),
                                  "emulator": lambda c=calls, s=front_session: c.front(s)},
                                 requests, max_seconds=180 * scale + 20, warmup=5)
        print(f"  {case.label}, {len(calls.body):,} bytes: {clients} clients, {seconds:g} s each ...", flush=True)
        loaded = h.alternate_closed_loops({"direct": calls.direct_client, "emulator": calls.front_client},
                                          clients=clients, seconds=seconds, cpu=cpu)
        figures[str(size)] = {
            "bytes": len(calls.body),
            "sequential": {k: v.as_dict() for k, v in sequential.items()},
            "concurrent": {k: v.as_dict() for k, v in loaded.items()},
            "added_p50_ms": round(sequential["emulator"].p50 - sequential["direct"].p50, 3),
            "added_p99_ms": round(sequential["emulator"].p99 - sequential["direct"].p99, 3),
            "p50_ratio": round(sequential["emulator"].p50 / sequential["direct"].p50, 3),
            "throughput_ratio": round(loaded["emulator"].per_second / loaded["direct"].per_second, 3),
            "concurrent_p50_ratio": round(loaded["emulator"].p50 / loaded["direct"].p50, 3),
        }
    return figures


@dataclass(frozen=True)
class Calls:
    """One body sent both ways: through the front, and to the containers directly."""
    case: Case
    body: bytes
    routes: list[Any]
    url: str
    endpoint: str

    def front(self, session: Any) -> Any:
        return h.invoke_front(session, self.url, self.endpoint, self.body, self.case.content_type, self.case.accept)

    def direct(self, session: Any) -> bytes:
        return h.invoke_direct(session, self.routes, self.body, self.case.content_type, self.case.accept)

    def front_client(self) -> Callable[[], Any]:
        """A client thread's call, with its own session."""
        session = h.FastClient()
        return lambda: self.front(session)

    def direct_client(self) -> Callable[[], Any]:
        session = h.FastClient()
        return lambda: self.direct(session)


def report(case: Case, figures: dict[str, Any]) -> str:
    rows = []
    for size in case.counts:
        f = figures[str(size)]
        seq, con = f["sequential"], f["concurrent"]
        rows.append([_size(size), seq["direct"]["n"], seq["direct"]["p50_ms"], seq["emulator"]["p50_ms"],
                     f["added_p50_ms"], f["p50_ratio"], seq["direct"]["p99_ms"], seq["emulator"]["p99_ms"],
                     con["direct"]["per_second"], con["emulator"]["per_second"], f["throughput_ratio"]])
    cpu_rows = []
    for size in case.counts:
        for subject, used in figures[str(size)]["concurrent"].items():
            per = used.get("cpu_ms_per_request", {})
            cpu_rows.append([_size(size), subject, per.get("client", 0.0), per.get("front", 0.0), per.get("containers", 0.0),
                             sum(per.values())])
    text = f"## {case.label}: {figures['definition']}\n" + h.table(
        ["body", "n", "direct p50 ms", "emulator p50 ms", "added p50 ms", "p50 ratio", "direct p99 ms",
         "emulator p99 ms", "direct req/s", "emulator req/s", "throughput ratio"], rows)
    text += "\n\nCPU ms per request under load (where the machine's 2 cores go):\n" + h.table(
        ["body", "subject", "client", "front", "containers", "total"], cpu_rows)
    if case.has_targets:
        lines = [f"target p50 added <= {TARGET_ADDED_MS:g} ms at {_size(size)}: {figures[str(size)]['added_p50_ms']:.3f} ms, "
                 f"{h.verdict(figures[str(size)]['added_p50_ms'] <= TARGET_ADDED_MS)}" for size in case.counts]
        lines += [f"target throughput >= {TARGET_THROUGHPUT:g}x direct at {_size(size)}: "
                  f"{figures[str(size)]['throughput_ratio']:.3f}x, "
                  f"{h.verdict(figures[str(size)]['throughput_ratio'] >= TARGET_THROUGHPUT)}" for size in case.counts]
        text += "\n" + "\n".join(lines)
    return text


def _size(size: int) -> str:
    return "1 MB" if size == MB else "1 KB" if size == KB else f"{size} B"


if __name__ == "__main__":
    h.main(run)
