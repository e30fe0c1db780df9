"""What data capture costs each request: endpoints of the same echo image on one emulator, one capturing every
invocation (InitialSamplingPercentage 100, Input and Output) and two not, measured in the same run (alternating,
as bench/overhead.py does). The two that do not capture differ only by their container: their ratio is the run's
noise floor, what a difference between endpoints amounts to with capture out of the picture.

    python bench/data_capture.py [--quick] [--clients 8] [--seconds 10] [--requests 2000]

Sequential latency: one request of each at a time, alternating; throughput: N client threads in alternating
slices, with the front's CPU per request. The request path's own share (sampling and handing a capture over,
timed in-process) is put against the front's CPU per request. The run then checks that the files in S3 hold
one line for every request the capturing endpoint answered.

Target: capture adds under 1 % per request at 1 KB (p50 of capture on over the mean of the two off <= 1.01, or
within the noise floor when that is wider; the request path's own share < 1 %).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import harness as h

KB = 1024
TARGET_RATIO, TARGET_SHARE = 1.01, 1.0
BUCKET = "bench-capture"
SUBJECTS = {"capture-off": None, "capture-off-again": None, "capture-on": 100}  # endpoint: its sampling percentage


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    h.load_arguments(parser)
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0

    h.ensure_examples()
    h.header("data capture: the same container image with capture on and off")
    body = h.echo_body(KB)
    with h.emulated(None) as emulator:
        sm, s3 = emulator.boto3_client("sagemaker"), emulator.boto3_client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for name, capture in SUBJECTS.items():
            _deploy(sm, name, capture)
        calls = {name.replace("-", " "): h.front_caller(emulator.url, name, body) for name in SUBJECTS}
        requests = max(100, int(args.requests * scale))
        print(f"  {requests} sequential requests each, then {args.clients} clients for {args.seconds * scale:g} s each "
              "(1 KB bodies) ...", flush=True)
        sequential = h.alternate({name: call() for name, call in calls.items()}, requests,
                                 max_seconds=300 * scale + 20, warmup=20)
        cpu = {"front": lambda: h.tree_cpu(emulator.front._process.pid)}
        loaded = h.alternate_closed_loops(calls, clients=args.clients, seconds=args.seconds * scale, cpu=cpu)
        answered = 20 + requests + len(loaded["capture on"].ms)
        lines = _captured_lines(s3, answered)
    baseline = (sequential["capture off"].p50 + sequential["capture off again"].p50) / 2
    figures = {
        "sequential": {k: v.as_dict() for k, v in sequential.items()},
        "concurrent": {k: v.as_dict() for k, v in loaded.items()},
        "added_p50_ms": round(sequential["capture on"].p50 - baseline, 3),
        "p50_ratio": round(sequential["capture on"].p50 / baseline, 4),
        "noise_ratio": round(sequential["capture off again"].p50 / sequential["capture off"].p50, 4),
        "throughput_ratio": round(loaded["capture on"].per_second / loaded["capture off"].per_second, 3),
        "hook_us": _hook_cost(body), "captured_lines": lines, "answered_with_capture": answered,
    }
    print(report(figures))
    path = h.save("data_capture", {"clients": args.clients, **figures})
    print(f"figures saved to {path.relative_to(h.REPO)}")


def _deploy(sm: Any, name: str, percentage: int | None) -> None:
    sm.create_model(ModelName=name, PrimaryContainer={"Image": h.ECHO_IMAGE})
    capture = {"DataCaptureConfig": {"EnableCapture": True, "InitialSamplingPercentage": percentage,
                                     "DestinationS3Uri": f"s3://{BUCKET}/capture",
                                     "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]}}
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "v", "ModelName": name}],
                              **(capture if percentage else {}))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sm.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _captured_lines(s3: Any, expected: int, seconds: float = 30) -> int:
    """Lines in the capture files once they stop growing (or reach `expected`)."""
    deadline, counted = time.monotonic() + seconds, -1
    while time.monotonic() < deadline:
        time.sleep(2)
        keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
                for item in page.get("Contents", [])]
        now = sum(len(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().splitlines()) for key in keys)
        if now == counted or now >= expected:
            return now
        counted = now
    return counted


def _hook_cost(body: bytes) -> float:
    """Microseconds the request path spends on capture (the sampling draw, a Captured tuple and an append), timed in
    this process; the sender's thread is not started, so nothing else runs."""
    import timeit

    from flask import Response

    from emulator.capture.sender import CaptureSender
    from emulator.front.followups import Followups
    from emulator.invocation.chain import Chain
    from emulator.invocation.outcomes import InvocationResult
    from emulator.invocation.request import InvocationRequest
    from emulator.observe.recording import Recorder
    from emulator.seam.capture import CaptureSpec
    from emulator.seam.serving import ServedEndpoint, ServedVariant

    sender = CaptureSender(lambda groups: None)
    sender._thread = object()  # as if started: measure the append alone
    followups = Followups(sender, Recorder(None, "shadow"), keep_bodies=False)
    variant = ServedVariant("v", 1.0, Chain("bench", [], "Serial"))
    endpoint = ServedEndpoint("bench", [variant], capture=CaptureSpec("s3://b/c", 100, True, True))
    request = InvocationRequest(body, content_type="application/octet-stream")
    result, response = InvocationResult(body, "application/octet-stream", None), Response()
    number = 20_000

    def once() -> None:
        followups.answered(endpoint, variant, request, result, response, 0.0)
        if len(sender._pending) > 1000:
            sender._pending.clear()

    return round(min(timeit.repeat(once, number=number, repeat=5)) / number * 1e6, 2)


def report(f: dict[str, Any]) -> str:
    seq, con = f["sequential"], f["concurrent"]
    names = ("capture off", "capture off again", "capture on")
    rows = [[name, seq[name]["n"], seq[name]["p50_ms"], seq[name]["p99_ms"], con[name]["per_second"],
             con[name].get("cpu_ms_per_request", {}).get("front", "-")] for name in names]
    text = h.table(["subject", "n", "p50 ms", "p99 ms", "req/s (concurrent)", "front CPU ms/request"], rows)
    front_cpu = con["capture on"].get("cpu_ms_per_request", {}).get("front", float("nan"))
    share = f["hook_us"] / 10 / front_cpu
    bound = max(TARGET_RATIO, f["noise_ratio"], 1 / f["noise_ratio"])
    text += (f"\n\ncapture on / the two off, p50: {f['p50_ratio']:.4f} ({f['added_p50_ms']:+.3f} ms); noise floor (off again / off): "
             f"{f['noise_ratio']:.4f}; target <= {TARGET_RATIO} or within the noise ({bound:.4f}): "
             f"{h.verdict(f['p50_ratio'] <= bound)}"
             f"\nthroughput ratio on/off: {f['throughput_ratio']:.3f}"
             f"\nthe request path's own cost (sampling and hand-over, timed in-process): {f['hook_us']} us per request, "
             f"{share:.2f}% of the front's CPU per request (target < {TARGET_SHARE:g}%: {h.verdict(share < TARGET_SHARE)})"
             f"\ncaptured lines in S3: {f['captured_lines']} of {f['answered_with_capture']} answered "
             f"({'complete' if f['captured_lines'] == f['answered_with_capture'] else 'INCOMPLETE'})")
    return text


if __name__ == "__main__":
    h.main(run)
