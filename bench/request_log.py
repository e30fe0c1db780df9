"""What the live request log costs each request: one emulator's echo chain served by two fronts at once, one
with the request log on and one with it off, measured in the same run (alternating, as bench/overhead.py does).

    python bench/request_log.py [--quick] [--clients 8] [--seconds 10] [--bodies BYTES]

Both fronts forward to the same two containers; only the log differs. Sequential latency: one request of each
at a time, alternating; throughput: N client threads in alternating slices. The run also checks that the log
received every request the "on" front answered (the count of drops is printed).

Targets (nothing measurable): p50 with the log <= 1.02x without, throughput >= 0.98x; and the request path's own
share (a Recording's begin and end, timed in-process) under 1% of the front's CPU per request.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import harness as h

KB = 1024
TARGET_P50_RATIO, TARGET_THROUGHPUT, TARGET_HOOK_SHARE = 1.02, 0.98, 1.0


def run(argv: list[str]) -> None:
    from emulator.front.server import FrontServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.load_arguments(parser)
    parser.add_argument("--bodies", type=int, default=0, metavar="BYTES", help="keep bodies up to BYTES (default 0)")
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0

    h.ensure_examples()
    h.header("request log: the same front with the log on and off")
    body = h.echo_body(KB)
    with h.emulated(h.echo_chain(), log_bodies=args.bodies) as emulator:
        endpoint = emulator.endpoint
        off = FrontServer().start(emulator.store.path)  # no request-log environment: the log is off
        try:
            urls = {"log off": off.url, "log on": emulator.url}
            calls = {name: h.front_caller(url, endpoint.name, body) for name, url in urls.items()}
            requests = max(100, int(args.requests * scale))
            print(f"  {requests} sequential requests each, then {args.clients} clients for "
                  f"{args.seconds * scale:g} s each (1 KB bodies, bodies kept: {args.bodies} bytes) ...", flush=True)
            before = emulator.request_log.read()["next"]
            sequential = h.alternate({name: call() for name, call in calls.items()}, requests,
                                     max_seconds=300 * scale + 20, warmup=20)
            cpu = {"front on": lambda: h.tree_cpu(emulator.front._process.pid),
                   "front off": lambda: h.tree_cpu(off._process.pid)}
            loaded = h.alternate_closed_loops(calls, clients=args.clients, seconds=args.seconds * scale, cpu=cpu)
            time.sleep(0.5)  # the last batch is on its way
            log = emulator.request_log.read(since=before)
        finally:
            off.stop()
    answered_on = 20 + requests + len(loaded["log on"].ms)
    figures = {
        "sequential": {k: v.as_dict() for k, v in sequential.items()},
        "concurrent": {k: v.as_dict() for k, v in loaded.items()},
        "added_p50_ms": round(sequential["log on"].p50 - sequential["log off"].p50, 3),
        "p50_ratio": round(sequential["log on"].p50 / sequential["log off"].p50, 3),
        "throughput_ratio": round(loaded["log on"].per_second / loaded["log off"].per_second, 3),
        "logged": len(log["invocations"]), "answered_with_log_on": answered_on, "dropped": log["dropped"],
        "kept_per_endpoint": emulator.request_log.per_endpoint,
    }
    figures["hook_us"] = _hook_cost()
    print(report(figures, loaded))
    path = h.save("request_log", {"clients": args.clients, "bodies": args.bodies, **figures})
    print(f"figures saved to {path.relative_to(h.REPO)}")


def _hook_cost() -> float:
    """Microseconds the request path spends on the log (a Recording begun and ended: a Finished and an append),
    timed in this process on a two-hop invocation; the sender's thread is not started, so nothing else runs."""
    import timeit

    from emulator.invocation.outcomes import Hop
    from emulator.invocation.request import InvocationRequest
    from emulator.observe.channel import Sender
    from emulator.observe.recording import Recorder

    sender = Sender("/nonexistent", body_limit=0)
    sender._thread = object()  # as if started: measure the append alone
    hops = [Hop("first", "application/octet-stream", None, KB, 200, "application/octet-stream", KB, 0.4),
            Hop("second", "application/octet-stream", None, KB, 200, "application/octet-stream", KB, 0.4)]
    number = 20_000
    recorder, request = Recorder(sender.add, "front"), InvocationRequest(b"x", content_type="application/octet-stream")

    def once() -> None:
        recorder.begin("echo-chain", request, "AllTraffic").ended(hops)
        if len(sender._pending) > 1000:
            sender._pending.clear()

    return round(min(timeit.repeat(once, number=number, repeat=5)) / number * 1e6, 2)


def report(f: dict[str, Any], loaded: dict[str, Any]) -> str:
    seq, con = f["sequential"], f["concurrent"]
    rows = [[name, seq[name]["n"], seq[name]["p50_ms"], seq[name]["p99_ms"], con[name]["per_second"],
             con[name].get("cpu_ms_per_request", {}).get(f"front {name.split()[1]}", "-")] for name in ("log off", "log on")]
    text = h.table(["subject", "n", "p50 ms", "p99 ms", "req/s (concurrent)", "front CPU ms/request"], rows)
    # The log keeps the last N per endpoint: all of them arrived when it holds N, or every one answered.
    complete = f["dropped"] == 0 and f["logged"] == min(f["answered_with_log_on"], f["kept_per_endpoint"])
    share = f["hook_us"] / 10 / con["log on"].get("cpu_ms_per_request", {}).get("front on", float("nan"))
    text += (f"\n\nlog on / log off, p50: {f['p50_ratio']:.3f} ({f['added_p50_ms']:+.3f} ms; "
             f"target <= {TARGET_P50_RATIO}: {h.verdict(f['p50_ratio'] <= TARGET_P50_RATIO)})"
             f"\nthroughput ratio on/off: {f['throughput_ratio']:.3f} "
             f"(target >= {TARGET_THROUGHPUT}: {h.verdict(f['throughput_ratio'] >= TARGET_THROUGHPUT)})"
             f"\nthe request path's own cost (recording, timed in-process): {f['hook_us']} us per request, "
             f"{share:.2f}% of the front's CPU per request (target < {TARGET_HOOK_SHARE:g}%: "
             f"{h.verdict(share < TARGET_HOOK_SHARE)})"
             f"\nrecords dropped: {f['dropped']} of {f['answered_with_log_on']} answered; the log holds the last "
             f"{f['logged']} ({'complete' if complete else 'INCOMPLETE'})")
    return text


if __name__ == "__main__":
    h.main(run)
