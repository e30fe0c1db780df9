"""Response streaming: time to the first part through the emulator (InvokeEndpointWithResponseStream)
against the same container's own time to its first chunk, called directly, measured in the same run.

    python bench/streaming.py [--count 40] [--delay 0.05] [--words 8]

The echo container streams its answer word by word, sleeping `--delay` before each word.
Subjects, alternating (ABBA), each one keep-alive client reading the answer as it comes:
  emulator  POST /endpoints/<name>/invocations-response-stream: first event-stream frame, and the end
  direct    POST <container>/invocations: first chunk, and the end
Target: the first part through the emulator at most 1.1x the container's own (added latency, not buffering).
"""

from __future__ import annotations

import argparse
from typing import Any

import harness as h

TARGET_RATIO = 1.1


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="calls of each subject (default 40)")
    parser.add_argument("--delay", type=float, default=0.05, help="the container's delay before each word, seconds")
    parser.add_argument("--words", type=int, default=8, help="words in the answer (default 8)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("response streaming: time to first part, emulator vs the container directly")
    definition = {"Endpoints": {"streaming": {"PrimaryContainer": {"Image": h.ECHO_IMAGE, "Environment": {
        "ECHO_STREAM_DELAY_SECONDS": str(args.delay)}}}}}
    body = b" ".join(b"word%d" % number for number in range(args.words))
    first: dict[str, list[float]] = {"emulator": [], "direct": []}
    whole: dict[str, list[float]] = {"emulator": [], "direct": []}
    with h.emulated(definition) as emulator:
        url = emulator.serve()
        [route] = _routes(url)
        s = h.session()

        def timed(name: str, target: str) -> None:
            started = h.clock()
            with s.post(target, data=body, headers={"Content-Type": "text/plain"}, stream=True, timeout=60) as answer:
                if answer.status_code != 200:
                    raise h.BenchError(f"{name} answered {answer.status_code}: {answer.text[:300]}")
                chunks = answer.iter_content(chunk_size=None)
                next(chunks)
                first[name].append((h.clock() - started) * 1000)
                for _ in chunks:
                    pass
            whole[name].append((h.clock() - started) * 1000)

        h.alternate({"emulator": lambda: timed("emulator", f"{url}/endpoints/streaming/invocations-response-stream"),
                     "direct": lambda: timed("direct", f"{route}/invocations")},
                    args.count, max_seconds=300, warmup=3)
    for samples in (first, whole):  # the warm-up calls are not figures
        for name in samples:
            del samples[name][:3]
    if h.median(whole["direct"]) < args.delay * args.words * 1000:
        raise h.BenchError(f"{h.ECHO_IMAGE} answered at once, not word by word: rebuild it (example_containers/build).")
    figures: dict[str, Any] = {name: {"first_part_p50_ms": round(h.median(first[name]), 2),
                                      "whole_p50_ms": round(h.median(whole[name]), 2)} for name in first}
    ratio = figures["emulator"]["first_part_p50_ms"] / figures["direct"]["first_part_p50_ms"]
    figures["first_part_ratio"] = round(ratio, 3)
    figures["first_part_added_ms"] = round(figures["emulator"]["first_part_p50_ms"] - figures["direct"]["first_part_p50_ms"], 2)
    print(h.table(["subject", "first part p50 ms", "whole answer p50 ms"],
                  [[name, figures[name]["first_part_p50_ms"], figures[name]["whole_p50_ms"]] for name in first]))
    print(f"\nfirst part: {ratio:.3f}x the container's own (+{figures['first_part_added_ms']} ms); "
          f"target <= {TARGET_RATIO}x: {h.verdict(ratio <= TARGET_RATIO)}")
    print(f"saved: {h.save('streaming', {'arguments': vars(args), 'figures': figures})}")


def _routes(url: str) -> list[str]:
    endpoints = h.session().get(f"{url}/_emulator/endpoints", timeout=10).json()
    return [container["url"] for variant in endpoints["streaming"]["variants"].values() for container in variant["containers"]]


if __name__ == "__main__":
    h.main(run)
