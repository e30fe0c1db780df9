"""CreateEndpoint to InService through the sagemaker API, against the container's own start
(`docker run -d IMAGE serve` to /ping 200), measured in the same run.

    python bench/control_plane.py [--repeat 7]

Subjects, each repetition in a rotating order, on one served emulator started beforehand:
  floor    the echo container alone: `docker run -d` (subprocess) then GET /ping every 10 ms.
  waiter   boto3 create_model + create_endpoint_config + create_endpoint, then the `endpoint_in_service`
           waiter with its default configuration (30 s between calls, as deploy scripts run it), then the
           first invocation answering 200. DescribeEndpoint waits for the status to change (`--describe-wait`),
           so the waiter's first call returns when the containers are healthy.

Target: waiter <= 1.2x floor (median of the repetitions' own ratios).
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

import harness as h

TARGET = 1.2


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each subject (default 7)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("control plane: CreateEndpoint to InService (and first answer), vs. the container's own start")
    with h.emulated(None) as emulator:
        sagemaker, runtime = emulator.boto3_client("sagemaker"), emulator.boto3_client()
        subjects = {"floor": _floor, "waiter": lambda: _waiter(sagemaker, runtime)}
        try:
            _floor()  # a first start warms Docker's and the page cache; not counted
            runs = h.rotating(subjects, args.repeat)
        finally:
            h.remove_bench_containers()

    figures = _figures(runs)
    print("\n" + report(figures))
    path = h.save("control_plane", {"image": h.ECHO_IMAGE, "repeat": args.repeat, "runs": runs, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def _floor() -> dict[str, float]:
    started = h.clock()
    container_id, url = h.docker_run(h.ECHO_IMAGE)
    try:
        return {"total": h.wait_for_ping(url, container_id=container_id) - started}
    finally:
        h.docker_remove(container_id)


def _waiter(sagemaker: Any, runtime: Any) -> dict[str, float]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    began = h.clock()
    sagemaker.create_model(ModelName=name, PrimaryContainer={"Image": h.ECHO_IMAGE})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    created = h.clock()
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name)
    in_service = h.clock()
    runtime.invoke_endpoint(EndpointName=name, Body=b"1,2,3", ContentType="text/csv")
    answered = h.clock()
    sagemaker.delete_endpoint(EndpointName=name)
    sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=name, WaiterConfig={"Delay": 1})
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    sagemaker.delete_model(ModelName=name)
    return {"model_and_config": created - began, "create_to_in_service": in_service - created,
            "first_answer": answered - in_service, "total": answered - began}


def _figures(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    medians = {name: {key: round(h.median([r[key] for r in rs]), 3) for key in rs[0]} for name, rs in runs.items()}
    paired = round(h.median([w["total"] / f["total"] for w, f in zip(runs["waiter"], runs["floor"])]), 3)
    in_service = round(h.median([w["create_to_in_service"] / f["total"] for w, f in zip(runs["waiter"], runs["floor"])]), 3)
    return {"medians_s": medians, "paired_ratio": paired, "paired_ratio_create_to_in_service": in_service}


def report(figures: dict[str, Any]) -> str:
    m = figures["medians_s"]
    rows = [
        ["floor: docker run -d echo serve, to /ping 200", m["floor"]["total"], 1.0, ""],
        ["CreateModel .. CreateEndpoint, waiter, first answer", m["waiter"]["total"], figures["paired_ratio"],
         f"model+config {m['waiter']['model_and_config']:.3f} s, CreateEndpoint to InService "
         f"{m['waiter']['create_to_in_service']:.2f} s ({figures['paired_ratio_create_to_in_service']:.2f}x), "
         f"first answer {m['waiter']['first_answer']:.3f} s"],
    ]
    met = figures["paired_ratio"] <= TARGET
    return (h.table(["subject (median)", "seconds", "median of paired ratios", "detail"], rows)
            + f"\ntarget CreateEndpoint .. first answer <= {TARGET:g}x floor: {figures['paired_ratio']:.2f}x, {h.verdict(met)}")


if __name__ == "__main__":
    h.main(run)
