"""Asynchronous inference: throughput of N requests through InvokeEndpointAsync (from the first accept to the
last output object in S3) against the same N requests made synchronously (InvokeEndpoint), in the same run.

    python bench/async_inference.py [--requests 200] [--delay 0.05] [--concurrency 4] [--rounds 2]

Two endpoints of the same echo container (answering after `--delay` seconds), one asynchronous with
MaxConcurrentInvocationsPerInstance = `--concurrency`; the synchronous round sends from as many boto3
clients. The inputs are in the emulator's embedded S3. Rounds alternate (ABBA).
Target: async throughput at least 0.8x the synchronous one (a queue commit and two S3 calls per request).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

import harness as h

TARGET_RATIO = 0.8
BUCKET = "bench-async"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round (default 200)")
    parser.add_argument("--delay", type=float, default=0.05, help="the container's time per request, seconds")
    parser.add_argument("--concurrency", type=int, default=4, help="MaxConcurrentInvocationsPerInstance and sync clients")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each subject, alternating (default 2)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("asynchronous inference: N requests through InvokeEndpointAsync vs the same made synchronously")
    container = {"Image": h.ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": str(args.delay)}}
    seconds: dict[str, list[float]] = {"sync": [], "async": []}
    accept_ms: list[float] = []
    with h.emulated({"Endpoints": {"sync-echo": {"PrimaryContainer": container}}}) as emulator:
        sm, runtime, s3 = (_client(emulator.url, service) for service in ("sagemaker", "sagemaker-runtime", "s3"))
        _deploy_async(sm, container, args.concurrency)
        s3.create_bucket(Bucket=BUCKET)
        inputs = [f"in/{number}" for number in range(args.requests)]
        for key in inputs:
            s3.put_object(Bucket=BUCKET, Key=key, Body=h.echo_body(1024))
        bodies = [h.echo_body(1024)] * args.requests

        def sync_round(_: int) -> None:
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(lambda body: runtime.invoke_endpoint(EndpointName="sync-echo", Body=body,
                                                                   ContentType="text/plain")["Body"].read(), bodies))

        def async_round(number: int) -> None:
            prefix = f"round-{number}"

            def accept(key: str) -> None:
                started = h.clock()
                runtime.invoke_endpoint_async(EndpointName="async-echo", InputLocation=f"s3://{BUCKET}/{key}",
                                              ContentType="text/plain", S3OutputPathExtension=prefix)
                accept_ms.append((h.clock() - started) * 1000)
            with ThreadPoolExecutor(args.concurrency) as pool:  # as many clients as the synchronous round
                list(pool.map(accept, inputs))
            while _count(s3, f"out/{prefix}/") < args.requests:
                h.time.sleep(0.2)  # as a client polls; listing the outputs is not free for the S3 either

        subjects = {"sync": sync_round, "async": async_round}
        for number in range(args.rounds):
            for name in (list(subjects) if number % 2 == 0 else list(subjects)[::-1]):
                started = h.clock()
                subjects[name](number)
                seconds[name].append(h.clock() - started)
    rates = {name: args.requests / h.median(values) for name, values in seconds.items()}
    ratio = rates["async"] / rates["sync"]
    figures: dict[str, Any] = {name: {"median_seconds": round(h.median(seconds[name]), 3),
                                      "requests_per_second": round(rates[name], 2)} for name in seconds}
    figures.update(ratio=round(ratio, 3), accept_p50_ms=round(h.percentile(accept_ms, 50), 2),
                   accept_p99_ms=round(h.percentile(accept_ms, 99), 2))
    print(h.table(["subject", f"{args.requests} requests, median s", "requests/s"],
                  [[name, figures[name]["median_seconds"], figures[name]["requests_per_second"]] for name in seconds]))
    print(f"\nInvokeEndpointAsync answered in {figures['accept_p50_ms']} ms p50 ({figures['accept_p99_ms']} ms p99); "
          f"the container alone takes {args.delay * 1000:g} ms.")
    print(f"async throughput: {ratio:.3f}x the synchronous one; target >= {TARGET_RATIO}x: {h.verdict(ratio >= TARGET_RATIO)}")
    print(f"saved: {h.save('async_inference', {'arguments': vars(args), 'figures': figures})}")


def _client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="x", config=Config(max_pool_connections=32, retries={"total_max_attempts": 1}))


def _deploy_async(sm: Any, container: dict, concurrency: int) -> None:
    sm.create_model(ModelName="async-echo", PrimaryContainer=container)
    sm.create_endpoint_config(EndpointConfigName="async-echo", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "async-echo"}], AsyncInferenceConfig={
        "OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out"},
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": concurrency}})
    sm.create_endpoint(EndpointName="async-echo", EndpointConfigName="async-echo")
    sm.get_waiter("endpoint_in_service").wait(EndpointName="async-echo", WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _count(s3: Any, prefix: str) -> int:
    return sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix))


if __name__ == "__main__":
    h.main(run)
