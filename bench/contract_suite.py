"""Wall time of the contract suite, `sagemaker-emulator check`, on the example preprocessor (build excluded),
against the image's own start (`docker run -d IMAGE serve` to /ping 200) measured in the same run.

    python bench/contract_suite.py [--repeat 3]

Subjects, alternating:
  check     sagemaker-emulator check sagemaker-emulator/example-preprocessor:1 --model-data <its model.tar.gz>
            --sample <5 penguin rows>.csv       (the target: <= 30 s)
  pipeline  sagemaker-emulator check --definition <the example pipeline>  (each container and the chain;
            not a target, shown for scale)
  floor     the preprocessor's own `docker run -d ... serve` to its first /ping 200
The suite must pass (exit 0); its summary line is shown.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from typing import Any

import harness as h

TARGET_SECONDS = 30.0
WORK = h.OUT / "contract"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each subject (default 3)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    command = h.which("sagemaker-emulator")
    if command is None:
        raise h.BenchError("the sagemaker-emulator command is not installed (pip install -e . in the repository).")
    h.header("contract suite: wall time of `sagemaker-emulator check`")
    WORK.mkdir(parents=True, exist_ok=True)
    sample = WORK / "penguins.csv"
    sample.write_text("".join(h.PENGUIN_ROWS.read_text().splitlines(keepends=True)[:5]))
    definition = h.write_definition(h.example_pipeline(), WORK / "pipeline.yaml")
    subjects = {
        "check": [command, "check", h.PREPROCESSOR_IMAGE, "--model-data", str(h.PREPROCESSOR_ARTIFACT),
                  "--sample", str(sample)],
        "pipeline": [command, "check", "--definition", str(definition), "--sample", str(sample)],
    }
    print(f"check:    {' '.join(_short(a) for a in subjects['check'])}\n"
          f"pipeline: {' '.join(_short(a) for a in subjects['pipeline'])}\n", flush=True)
    folder = h.model_dir(h.PREPROCESSOR_ARTIFACT)
    seconds: dict[str, list[float]] = {"check": [], "pipeline": [], "floor": []}
    summaries: dict[str, str] = {}
    try:
        for repetition in range(args.repeat):
            order = ["floor", "check", "pipeline"]
            order = order[repetition % 3:] + order[:repetition % 3]
            for name in order:
                if name == "floor":
                    started = h.clock()
                    container_id, url = h.docker_run(h.PREPROCESSOR_IMAGE, model_dir=folder)
                    try:
                        seconds[name].append(h.wait_for_ping(url, container_id=container_id) - started)
                    finally:
                        h.docker_remove(container_id)
                else:
                    took, summaries[name] = _timed(subjects[name], name)
                    seconds[name].append(took)
                print(f"  repetition {repetition + 1}, {name}: {seconds[name][-1]:.2f} s", flush=True)
    finally:
        h.remove_bench_containers()

    medians = {name: round(h.median(values), 3) for name, values in seconds.items()}
    figures: dict[str, Any] = {"seconds": seconds, "medians_s": medians, "summaries": summaries,
                               "ratios_to_floor": {n: round(medians[n] / medians["floor"], 2) for n in ("check", "pipeline")}}
    print("\n" + report(figures))
    path = h.save("contract_suite", figures)
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def _timed(command: list[str], name: str) -> tuple[float, str]:
    log = WORK / f"{name}.log"
    started = h.clock()
    done = subprocess.run(command, capture_output=True, text=True, cwd=WORK, timeout=900, check=False)
    took = h.clock() - started
    log.write_text(done.stdout + done.stderr)
    summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed|error)", line)), "no pytest summary")
    if done.returncode != 0:
        raise h.BenchError(f"`sagemaker-emulator check` ({name}) exited with {done.returncode}: {summary}; see {log}.")
    return took, summary


def _short(argument: str) -> str:
    if argument.endswith("/sagemaker-emulator"):
        return "sagemaker-emulator"
    return argument.replace(str(h.REPO) + "/", "") if argument.startswith(str(h.REPO)) else argument


def report(figures: dict[str, Any]) -> str:
    m, r, s = figures["medians_s"], figures["ratios_to_floor"], figures["summaries"]
    rows = [["floor: the preprocessor's own docker run to /ping", m["floor"], 1.0, ""],
            ["sagemaker-emulator check <preprocessor>", m["check"], r["check"], s.get("check", "")],
            ["sagemaker-emulator check --definition <pipeline> (not a target)", m["pipeline"], r["pipeline"],
             s.get("pipeline", "")]]
    return (h.table(["subject (median)", "seconds", "x floor", "pytest summary"], rows) +
            f"\ntarget check <= {TARGET_SECONDS:g} s: {m['check']:.1f} s, {h.verdict(m['check'] <= TARGET_SECONDS)}")


if __name__ == "__main__":
    h.main(run)
