"""SageMaker Python SDK deploy: `PipelineModel(...).deploy(wait=True)` to the first answer of `predict`, against
the pipeline's containers' own start (both `docker run -d` at once, to the last /ping 200).

    python bench/sdk_deploy.py [--repeat 3]

Subjects, each repetition in a rotating order, against one served emulator (started once, not timed):
  floor    both containers by hand at once: `docker run -d IMAGE serve` then GET /ping every 10 ms.
  boto3    create_model, create_endpoint_config, create_endpoint, then describe_endpoint until InService (the
           emulator holds a DescribeEndpoint of a Creating endpoint until its status changes), then invoke.
  sdk      the SDK as a user's script calls it: PipelineModel([...]).deploy(wait=True), then predictor.predict.
The SDK's `wait_for_endpoint` sleeps 30 s before its first DescribeEndpoint (sagemaker.session._wait_until):
a floor of its own that no server can shorten, so the SDK's time is also shown without its sleeps.

Targets: boto3 <= 1.2x floor; sdk <= 1.5x floor (not reachable while the SDK sleeps 30 s first).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import harness as h

ROLE = "arn:aws:iam::123456789012:role/emulator"
ROW = "Torgersen,39.1,18.7,181,3750,male"
TARGETS = {"boto3": 1.2, "sdk": 1.5}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each subject (default 3)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("SDK deploy(wait=True) to first answer, vs. the containers' own start")
    containers = [(h.PREPROCESSOR_IMAGE, h.model_dir(h.PREPROCESSOR_ARTIFACT)), (h.MODEL_IMAGE, h.model_dir(h.MODEL_ARTIFACT))]
    with _empty_emulator() as emulator, _redirected(emulator):
        deploy = _Deployments(emulator.url)
        subjects = {"floor": lambda: {"total": h.start_by_hand(containers)}, "boto3": deploy.boto3, "sdk": deploy.sdk}
        try:
            h.start_by_hand(containers)  # warms Docker and the page cache; not counted
            runs = h.rotating(subjects, args.repeat)
        finally:
            h.remove_bench_containers()

    figures = _figures(runs)
    print("\n" + report(figures))
    path = h.save("sdk_deploy", {"repeat": args.repeat, "runs": runs, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


@contextlib.contextmanager
def _empty_emulator() -> Iterator[Any]:
    from emulator.api import Emulator

    with Emulator() as emulator:
        emulator.serve()
        yield emulator


def _redirected(emulator: Any) -> Any:
    """The environment `serve` prints: AWS_ENDPOINT_URL, dummy credentials, the SDK's defaults file."""
    os.environ["SAGEMAKER_SUPPRESS_V2_WARNING"] = "1"
    return emulator.redirected()


class _Deployments:
    def __init__(self, url: str):
        import boto3
        import sagemaker

        self.url = url
        self.sm, self.runtime = boto3.client("sagemaker"), boto3.client("sagemaker-runtime")
        self.session = sagemaker.Session()
        self.data = [self.session.upload_data(str(artifact), key_prefix=f"bench/{index}")
                     for index, artifact in enumerate((h.PREPROCESSOR_ARTIFACT, h.MODEL_ARTIFACT))]
        self.sleeps: list[float] = []
        real_sleep = time.sleep
        sagemaker.session.time = _CountingTime(real_sleep, self.sleeps)  # what the SDK waits on its own

    def _containers(self) -> list[dict[str, Any]]:
        return [{"Image": h.PREPROCESSOR_IMAGE, "ModelDataUrl": self.data[0],
                 "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}},
                {"Image": h.MODEL_IMAGE, "ModelDataUrl": self.data[1]}]

    def boto3(self) -> dict[str, float]:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        began = h.clock()
        self.sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, Containers=self._containers())
        self.sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
        self.sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
        while (status := self.sm.describe_endpoint(EndpointName=name)["EndpointStatus"]) == "Creating":
            pass
        if status != "InService":
            raise h.BenchError(f"endpoint {name} is {status}")
        self.runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Accept="text/csv", Body=ROW)["Body"].read()
        total = h.clock() - began
        self._delete(name)
        return {"total": total}

    def sdk(self) -> dict[str, float]:
        from sagemaker.deserializers import StringDeserializer
        from sagemaker.model import Model
        from sagemaker.pipeline import PipelineModel
        from sagemaker.predictor import Predictor
        from sagemaker.serializers import CSVSerializer

        name = f"bench-{uuid.uuid4().hex[:8]}"
        self.sleeps.clear()
        began = h.clock()
        models = [Model(image_uri=c["Image"], model_data=c["ModelDataUrl"], env=c.get("Environment"), role=ROLE,
                        sagemaker_session=self.session) for c in self._containers()]
        predictor = PipelineModel(models=models, role=ROLE, name=name, sagemaker_session=self.session,
                                  predictor_cls=Predictor).deploy(
            initial_instance_count=1, instance_type="ml.m5.large", endpoint_name=name, wait=True,
            serializer=CSVSerializer(), deserializer=StringDeserializer(accept="text/csv"))
        predictor.predict(ROW)
        total = h.clock() - began
        self._delete(name)
        return {"total": total, "sdk_sleeps": sum(self.sleeps), "without_sdk_sleeps": total - sum(self.sleeps)}

    def _delete(self, name: str) -> None:
        self.sm.delete_endpoint(EndpointName=name)
        self.sm.delete_endpoint_config(EndpointConfigName=name)
        self.sm.delete_model(ModelName=name)
        while self.sm.list_endpoints(NameContains=name)["Endpoints"]:
            time.sleep(0.1)


class _CountingTime:
    """The `time` module as sagemaker.session sees it, adding up what it sleeps."""

    def __init__(self, sleep: Any, sleeps: list[float]):
        self._sleep, self._sleeps = sleep, sleeps

    def sleep(self, seconds: float) -> None:
        self._sleeps.append(seconds)
        self._sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _figures(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    floors = [r["total"] for r in runs["floor"]]
    paired = {name: round(h.median([r["total"] / f for r, f in zip(runs[name], floors)]), 3) for name in ("boto3", "sdk")}
    paired["sdk_without_its_sleeps"] = round(h.median([r["without_sdk_sleeps"] / f for r, f in zip(runs["sdk"], floors)]), 3)
    medians = {name: {key: round(h.median([r[key] for r in rs]), 3) for key in rs[0]} for name, rs in runs.items()}
    return {"medians_s": medians, "paired_ratios": paired}


def report(figures: dict[str, Any]) -> str:
    m, p = figures["medians_s"], figures["paired_ratios"]
    rows = [["floor: both containers by hand at once", m["floor"]["total"], 1.0, ""],
            ["boto3: create_* + describe_endpoint until InService + invoke", m["boto3"]["total"], p["boto3"], ""],
            ["SDK: PipelineModel.deploy(wait=True) + predict", m["sdk"]["total"], p["sdk"],
             f"of which the SDK's own sleeps {m['sdk']['sdk_sleeps']:.0f} s"],
            ["SDK without its own sleeps", m["sdk"]["without_sdk_sleeps"], p["sdk_without_its_sleeps"], ""]]
    return h.table(["subject (median)", "seconds", "median of paired ratios to floor", "detail"], rows) + "\n" + "\n".join(
        f"target {name} <= {limit:g}x floor: {p[name]:.2f}x, {h.verdict(p[name] <= limit)}" for name, limit in TARGETS.items())


if __name__ == "__main__":
    h.main(run)
