"""Any main model behind the same preprocessor: the four penguins pipelines (scikit-learn, XGBoost, PyTorch,
TensorFlow).

    python bench/frameworks.py [--requests 200] [--repeat 3] [--rows 1] [--only XGBoost ...]

Per request: the pipeline through the emulator's front (a kept-alive http.client connection, as
bench/overhead.py calls it) against the floor, the same two containers called one after the other by the client, with the headers the
emulator sends each hop; one request of each at a time, alternating (ABBA). The emulator's share is
(front - direct) / front at p50.
Cold start: Emulator(definition).start() + serve() + first invocation, against the slowest of the pipeline's
containers started alone by hand (`docker run -d IMAGE serve` to /ping 200), as bench/cold_start.py measures it.

Targets: the emulator's share of a request under 10 % for every pipeline. Cold start is shown, not a target.
"""

from __future__ import annotations

import argparse
from typing import Any

import cold_start
import harness as h

PIPELINES = {"scikit-learn": "pipeline.yaml", "XGBoost": "pipeline-xgboost.yaml", "PyTorch": "pipeline-pytorch.yaml",
             "TensorFlow": "pipeline-tensorflow.yaml"}
TARGET_SHARE = 0.10


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per subject and pipeline (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="cold starts of each subject and pipeline (default 3; "
                        "0: per request only)")
    parser.add_argument("--rows", type=int, default=1, help="penguin rows per request (default 1)")
    parser.add_argument("--only", choices=sorted(PIPELINES), action="append", help="only this pipeline (repeatable)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("frameworks: four main models behind one preprocessor")
    body = b"".join(line + b"\n" for line in h.PENGUIN_ROWS.read_bytes().splitlines()[:args.rows])
    print(f"{args.requests} sequential requests of {args.rows} row(s) per subject; {args.repeat} cold starts each.\n",
          flush=True)
    figures: dict[str, Any] = {}
    try:
        for framework, file in PIPELINES.items():
            if args.only and framework not in args.only:
                continue
            source = h.EXAMPLES / file
            figures[framework] = {"per_request": per_request(source, body, args.requests),
                                  "cold_start": cold_starts(source, args.repeat) if args.repeat else None}
            print(f"  {framework}: done", flush=True)
    finally:
        h.remove_bench_containers()
    print("\n" + report(figures))
    path = h.save("frameworks", {"requests": args.requests, "rows": args.rows, "repeat": args.repeat, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def per_request(source: Any, body: bytes, count: int) -> dict[str, Any]:
    with h.emulated(source) as emulator:
        endpoint = next(iter(emulator.endpoints.values()))
        routes = list(endpoint.chain.routes)
        front, direct = h.FastClient(), h.FastClient()
        through_front = h.invoke_front(front, emulator.url, endpoint.name, body, "text/csv", "text/csv").content
        if through_front != h.invoke_direct(direct, routes, body, "text/csv", "text/csv"):
            raise h.BenchError(f"{endpoint.name}: the front and the direct calls answer differently.")
        samples = h.alternate({
            "front": lambda: h.invoke_front(front, emulator.url, endpoint.name, body, "text/csv", "text/csv"),
            "direct": lambda: h.invoke_direct(direct, routes, body, "text/csv", "text/csv"),
        }, count, max_seconds=120)
    result = {name: s.as_dict() for name, s in samples.items()}
    result["share_p50"] = round((samples["front"].p50 - samples["direct"].p50) / samples["front"].p50, 4)
    return result


def cold_starts(source: Any, repeat: int) -> dict[str, Any]:
    containers = cold_start._containers(source)
    cold_start._floor(containers)  # warms Docker's and the page cache; not counted
    runs: dict[str, list[dict[str, float]]] = {"floor": [], "api": []}
    for repetition in range(repeat):
        for name in ("floor", "api") if repetition % 2 == 0 else ("api", "floor"):
            runs[name].append(cold_start._floor(containers) if name == "floor" else cold_start._api(source))
    floors = [r["total"] for r in runs["floor"]]
    return {"floor_s": round(h.median(floors), 3),
            "alone_s": {key.removeprefix("alone_"): round(h.median([r[key] for r in runs["floor"]]), 3)
                        for key in runs["floor"][0] if key.startswith("alone_")},
            "api_s": round(h.median([r["total"] for r in runs["api"]]), 3),
            "paired_ratio": round(h.median([r["total"] / f for r, f in zip(runs["api"], floors)]), 3)}


def report(figures: dict[str, Any]) -> str:
    rows = []
    for framework, f in figures.items():
        request, cold = f["per_request"], f["cold_start"]
        started = ["-", "-", "-"]
        if cold:
            slowest = max(cold["alone_s"], key=cold["alone_s"].get)
            started = [cold["api_s"], f"{cold['floor_s']:.2f} ({slowest})", cold["paired_ratio"]]
        rows.append([framework, request["front"]["p50_ms"], request["direct"]["p50_ms"],
                     f"{request['share_p50']:.1%}", *started])
    table = h.table(["pipeline", "front p50 ms", "direct p50 ms", "emulator share", "cold start s",
                     "slowest container alone s", "cold start ratio"], rows)
    verdicts = [f"target emulator share < {TARGET_SHARE:.0%} ({framework}): {f['per_request']['share_p50']:.1%}, "
                f"{h.verdict(f['per_request']['share_p50'] < TARGET_SHARE)}" for framework, f in figures.items()]
    return table + "\n" + "\n".join(verdicts)


if __name__ == "__main__":
    h.main(run)
