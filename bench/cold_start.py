"""Cold start: from the command to the first successful invocation of the two-container example pipeline,
against the floor, the slowest of its containers started by hand (`docker run -d IMAGE serve` to /ping 200).

    python bench/cold_start.py [--repeat 5]

Subjects, each repetition in a rotating order:
  floor    each container alone: `docker run -d` (subprocess) then GET /ping every 10 ms; the slower of the two.
  api      Emulator(definition).listen(), .start(), .serve(), then POST /endpoints/<name>/invocations until 200.
  cli      `sagemaker-emulator serve definition --port P` as a subprocess, POSTing every 20 ms until 200.
Also shown, not a target: both containers started by hand at once (what starting a pipeline costs on this
machine, since both containers import scikit-learn on the same 2 cores).

Target: api and cli <= 1.2x floor (medians).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness as h

TARGET = 1.2
ROWS = b"Torgersen,39.1,18.7,181,3750,male\nBiscoe,46.5,15.2,216,5300,female\n"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each subject (default 7)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("cold start: command to first answer, vs. the slowest container's own start")
    source = h.example_pipeline()
    definition_file = h.write_definition(source, h.OUT / "cold-start-pipeline.yaml")
    containers = _containers(source)
    print(f"definition: {h.describe(source)}; containers: {', '.join(c[0] for c in containers)}; "
          f"{args.repeat} repetitions, median.\n", flush=True)

    subjects: dict[str, Callable[[], dict[str, float]]] = {
        "floor": lambda: _floor(containers),
        "api": lambda: _api(source),
        "cli": lambda: _cli(definition_file),
    }
    try:
        _floor(containers)  # a first start warms Docker's and the page cache; not counted
        runs = h.rotating(subjects, args.repeat)
    finally:
        h.remove_bench_containers()

    figures = _figures(runs)
    print("\n" + report(figures))
    path = h.save("cold_start", {"definition": h.describe(source), "repeat": args.repeat, "runs": runs, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def _containers(source: dict | Path) -> list[tuple[str, str, Path | None]]:
    """(hostname, image, unpacked model folder) of each container of the definition."""
    from emulator.definition import load_file, parse

    definition = (load_file(source) if isinstance(source, Path) else parse(source))[0]
    return [(c.hostname, c.image, h.model_dir(Path(c.model_data)) if c.model_data else None)
            for c in definition.containers]


def _floor(containers: list[tuple[str, str, Path | None]]) -> dict[str, float]:
    """Each container alone, then all at once; `total` is the slowest alone."""
    result: dict[str, float] = {}
    for hostname, image, folder in containers:
        result[f"alone_{hostname}"] = h.start_by_hand([(image, folder)])
    result["total"] = max(result.values())
    result["all_at_once"] = h.start_by_hand([(image, folder) for _, image, folder in containers])
    return result


def _api(source: dict | Path) -> dict[str, float]:
    from emulator.api import Emulator

    session = h.session()
    began = h.clock()
    emulator = Emulator(source)
    try:
        emulator.listen()  # as `serve` and the pytest plugin do: the front then boots while the containers do
        emulator.start()
        started = h.clock()
        url = emulator.serve()
        served = h.clock()
        h.invoke_front(session, url, emulator.endpoint.name, ROWS, "text/csv", "text/csv")
        answered = h.clock()
    finally:
        emulator.stop()
    return {"start": started - began, "serve": served - started, "first_invoke": answered - served,
            "total": answered - began}


def _cli(definition_file: Path) -> dict[str, float]:
    command = h.which("sagemaker-emulator")
    if command is None:
        raise h.BenchError("the sagemaker-emulator command is not installed (pip install -e . in the repository).")
    port = h.free_port()
    name = _endpoint_name(definition_file)
    log = (h.OUT / "cold-start-cli.log").open("ab")
    session = h.session()
    began = h.clock()
    # A scratch state: the default one would also bring back whatever endpoints it holds as InService.
    state = tempfile.mkdtemp(prefix="sagemaker-emulator-cold-start-")
    process = subprocess.Popen([command, "serve", str(definition_file), "--port", str(port), "--state", state],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = began + 300
        while h.clock() < deadline:
            if process.poll() is not None:
                raise h.BenchError(f"sagemaker-emulator serve exited with code {process.returncode}; "
                                   f"see {h.OUT / 'cold-start-cli.log'}.")
            try:
                response = session.post(f"http://127.0.0.1:{port}/endpoints/{name}/invocations", data=ROWS,
                                        headers={"Content-Type": "text/csv", "Accept": "text/csv"}, timeout=70)
                if response.status_code == 200:
                    return {"total": h.clock() - began}
            except h.requests.ConnectionError:
                pass
            time.sleep(0.02)
        raise h.BenchError("sagemaker-emulator serve did not answer within 300 s.")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(state, ignore_errors=True)


def _endpoint_name(definition_file: Path) -> str:
    from emulator.definition import load_file

    return load_file(definition_file)[0].name


def _figures(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Ratios of medians, and (steadier on a shared machine) medians of each repetition's own ratio."""
    medians = {name: {key: round(h.median([r[key] for r in rs]), 3) for key in rs[0]} for name, rs in runs.items()}
    floor = medians["floor"]["total"]
    floors = [r["total"] for r in runs["floor"]]
    paired = {name: round(h.median([r["total"] / f for r, f in zip(runs[name], floors)]), 3) for name in ("api", "cli")}
    paired["all_at_once_by_hand"] = round(h.median([r["all_at_once"] / r["total"] for r in runs["floor"]]), 3)
    at_once = [r["all_at_once"] for r in runs["floor"]]
    return {"medians_s": medians,
            "ratios": {"api": round(medians["api"]["total"] / floor, 3), "cli": round(medians["cli"]["total"] / floor, 3),
                       "all_at_once_by_hand": round(medians["floor"]["all_at_once"] / floor, 3)},
            "paired_ratios": paired,
            "paired_ratios_to_all_at_once": {name: round(h.median([r["total"] / a for r, a in zip(runs[name], at_once)]), 3)
                                             for name in ("api", "cli")}}


def report(figures: dict[str, Any]) -> str:
    m, r, p, q = figures["medians_s"], figures["ratios"], figures["paired_ratios"], figures["paired_ratios_to_all_at_once"]
    floor = m["floor"]["total"]
    alone = ", ".join(f"{k.removeprefix('alone_')} {v:.2f} s" for k, v in m["floor"].items() if k.startswith("alone_"))
    rows = [
        ["floor: slowest container alone, by hand", floor, 1.0, 1.0, "-", alone],
        ["both containers at once, by hand (not a target)", m["floor"]["all_at_once"], r["all_at_once_by_hand"],
         p["all_at_once_by_hand"], 1.0, ""],
        ["Emulator(...).start() + serve() + first invoke", m["api"]["total"], r["api"], p["api"], q["api"],
         f"start {m['api']['start']:.2f} s, serve {m['api']['serve']:.2f} s, first invoke {m['api']['first_invoke']:.3f} s"],
        ["sagemaker-emulator serve (subprocess) to first 200", m["cli"]["total"], r["cli"], p["cli"], q["cli"], ""],
    ]
    return h.table(["subject (median)", "seconds", "ratio of medians", "median of paired ratios",
                    "paired ratio to both at once", "detail"], rows) + "\n" + "\n".join(
        f"target {name} <= {TARGET:g}x floor (median of paired ratios): {p[name]:.2f}x, {h.verdict(p[name] <= TARGET)}"
        for name in ("api", "cli"))


if __name__ == "__main__":
    h.main(run)
