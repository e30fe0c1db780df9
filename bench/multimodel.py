"""Multi-model endpoints: an invocation that loads its model (the first call of it) against one whose model is
loaded already (later calls), through the emulator's front, measured in the same run.

    python bench/multimodel.py [--count 30]

The example multi-model container serves one penguins model per island; the emulator runs it with a budget
of one loaded model, so calling the island not loaded unloads the other and loads it (DELETE and POST
/models: the artifact is unpacked once, before the loop), while calling the loaded one again only invokes.
Subjects, alternating (ABBA), one keep-alive client:
  load     InvokeEndpoint naming the island not loaded: unload + load + invoke
  loaded   InvokeEndpoint naming the island just invoked: invoke
Also printed: the very first call of each island (fetch, unpack, load, invoke), once each.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import harness as h
from emulator.multimodel.manager import ModelSettings

IMAGE = "sagemaker-emulator/example-multimodel:1"
MODELS = h.ARTIFACTS / "multimodel"
ISLANDS = ["Biscoe.tar.gz", "Dream.tar.gz"]
ROW = b"39.1,18.7,181,3750"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30, help="calls of each subject (default 30)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    if not (MODELS / ISLANDS[0]).exists():
        raise h.BenchError(f"{MODELS} has no island models: run example_containers/build.")
    h.header("multi-model endpoint: a call that loads its model vs a call whose model is loaded")
    definition = {"Endpoints": {"islands": {"PrimaryContainer": {
        "Image": IMAGE, "Mode": "MultiModel", "ModelDataUrl": str(MODELS)}}}}
    s = h.session()
    loaded = {"island": ""}

    def call(target: str, expect_load: bool) -> float:
        started = h.clock()
        answer = s.post(f"{url}/endpoints/islands/invocations", data=ROW, timeout=70,
                        headers={"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Model": target})
        elapsed = (h.clock() - started) * 1000
        if answer.status_code != 200:
            raise h.BenchError(f"the emulator answered {answer.status_code}: {answer.text[:300]}")
        loads = [hop for hop in json.loads(answer.headers["X-Emulator-Trace"]) if hop.get("action") == "load"]
        if bool(loads) != expect_load:
            raise h.BenchError(f"{target}: expected {'a' if expect_load else 'no'} load, the trace says {loads}")
        loaded["island"] = target
        return elapsed

    with h.emulated(definition, model_settings=ModelSettings(budget=1)) as emulator:
        url = emulator.serve()
        first_ever = {target: round(call(target, expect_load=True), 2) for target in ISLANDS}
        other = lambda: ISLANDS[1] if loaded["island"] == ISLANDS[0] else ISLANDS[0]  # noqa: E731
        samples = h.alternate({"load": lambda: call(other(), expect_load=True),
                               "loaded": lambda: call(loaded["island"], expect_load=False)},
                              args.count, max_seconds=300, warmup=3)
    figures: dict[str, Any] = {name: sample.as_dict() for name, sample in samples.items()}
    figures["first_ever_ms"] = first_ever
    ratio = samples["load"].p50 / samples["loaded"].p50
    figures["load_to_loaded_p50_ratio"] = round(ratio, 3)
    print(h.table(["subject", "p50 ms", "p99 ms", "n"],
                  [[name, round(sample.p50, 2), round(sample.p99, 2), len(sample.ms)] for name, sample in samples.items()]))
    print(f"\nfirst call of each island ever (fetch, unpack, load, invoke): "
          f"{', '.join(f'{target} {ms} ms' for target, ms in first_ever.items())}")
    print(f"a call that loads its model: {ratio:.2f}x a call whose model is loaded (p50); "
          "no target: the load is the container's own work")
    print(f"saved: {h.save('multimodel', {'arguments': vars(args), 'figures': figures})}")


if __name__ == "__main__":
    h.main(run)
