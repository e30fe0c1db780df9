"""Rerunning tests: the README's pytest example (tests/examples/test_user_pipeline.py, as a user's own project
would hold it), its time to the first answer without reuse and on a second run with `sagemaker_reuse = true`.

    python bench/rerun.py [--repeat 3]

Each subject is a `python -m pytest` subprocess in a scratch project (the example test file and a pytest.ini).
"First answer" is the first test's setup (the plugin starting the pipeline and its front) plus its call (a
boto3 client and one invoke_endpoint), from pytest's own --durations; "wall" is the whole pytest process.
Subjects, each repetition: fresh (no reuse), then reuse: a first run that starts the resident emulator
(emulator.resident) and a second that attaches to it. The example pipeline's residents and kept containers
are stopped and removed after each repetition.

Target: the reused second run reaches its first answer in < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import harness as h

from emulator.hosting import resident

TARGET_S = 0.5
FIRST_TEST = "test_a_gentoo_is_recognised"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each subject (default 3)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("rerun: the README's pytest example, to its first answer, without and with reuse")
    session = f"bench-rerun-{uuid.uuid4().hex[:8]}"
    runs: dict[str, list[dict[str, float]]] = {"fresh": [], "reuse, first run": [], "reuse, second run": []}
    with tempfile.TemporaryDirectory(prefix="sagemaker-emulator-rerun-") as scratch:
        project = _project(Path(scratch))
        try:
            for repetition in range(args.repeat):
                runs["fresh"].append(_pytest(project, session, reuse=False))
                runs["reuse, first run"].append(_pytest(project, session, reuse=True))
                kept = _ours(session)
                runs["reuse, second run"].append(_pytest(project, session, reuse=True))
                # Another build of the same tag in between (a new image id) rightly starts fresh: say so.
                runs["reuse, second run"][-1]["adopted"] = float(bool(kept) and _ours(session) == kept)
                _remove_kept(session)
                print(f"  repetition {repetition + 1}: " + ", ".join(
                    f"{name} {rs[-1]['first_answer']:.2f} s" for name, rs in runs.items()), flush=True)
        finally:
            _remove_kept(session)
    medians = {name: {key: round(h.median([r[key] for r in rs]), 3) for key in ("first_answer", "setup", "call", "wall")}
               for name, rs in runs.items()}
    reused = medians["reuse, second run"]["first_answer"]
    rows = [[name, m["first_answer"], m["setup"], m["call"], m["wall"],
             round(m["first_answer"] / medians["fresh"]["first_answer"], 3)] for name, m in medians.items()]
    print("\n" + h.table(["subject (median)", "first answer s", "setup s", "call s", "pytest wall s", "ratio to fresh"], rows))
    adopted = sum(r["adopted"] for r in runs["reuse, second run"])
    print(f"second runs that adopted the kept containers: {adopted:g} of {len(runs['reuse, second run'])}")
    print(f"target: the reused run's first answer < {TARGET_S} s: {reused:.2f} s, {h.verdict(reused < TARGET_S)}")
    path = h.save("rerun", {"repeat": args.repeat, "runs": runs, "medians_s": medians})
    print(f"figures saved to {path.relative_to(h.REPO)}")


def _project(folder: Path) -> Path:
    """The README's test file, its definition path made absolute, in a project of its own."""
    example = (h.REPO / "tests" / "examples" / "test_user_pipeline.py").read_text()
    example = example.replace('"../../example_containers/pipeline.yaml"', repr(str(h.PIPELINE_FILE)))
    (folder / "test_user_pipeline.py").write_text(example)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


def _pytest(project: Path, session: str, *, reuse: bool) -> dict[str, float]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0", "--durations-min=0",
               *(["--sagemaker-reuse"] if reuse else []), str(project / "test_user_pipeline.py")]
    environment = {**os.environ, "SAGEMAKER_EMULATOR_SESSION": session, "PYTHONPATH": str(h.REPO)}
    began = time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=environment, timeout=600)
    wall = time.perf_counter() - began
    if result.returncode:
        log = h.OUT / "rerun-failure.log"
        log.write_text(result.stdout + result.stderr)
        raise h.BenchError(f"pytest failed ({result.returncode}), its output is in {log}:\n{result.stdout[-1500:]}")
    phases = {phase: float(seconds) for seconds, phase in
              re.findall(rf"([\d.]+)s (setup|call)\s+\S*::{FIRST_TEST}\b", result.stdout)}
    return {"setup": phases["setup"], "call": phases["call"], "first_answer": phases["setup"] + phases["call"],
            "wall": wall}


def _ours(session: str) -> list[str]:
    return sorted(subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.github.sagemaker-emulator.session={session}"],
                                 capture_output=True, text=True, check=False).stdout.split())


def _remove_kept(session: str) -> None:
    for folder in resident.folders_of(h.PIPELINE_FILE):
        resident.stop(folder)
        shutil.rmtree(folder, ignore_errors=True)
    h.docker_remove(*_ours(session))


if __name__ == "__main__":
    h.main(run)
