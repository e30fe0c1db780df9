"""Batch transform: records per second through the emulator's engine against the container driven
directly with the same batches and concurrency, and the emulator's peak memory on a >= 1 GiB input.

    python bench/transform.py [--model echo|preprocessor] [--size-mb 64] [--payload-mb 1] [--big-gib 1] [--skip-big]

Throughput (MaxConcurrentTransforms 1, 2 and 4, alternating subjects, twice each):
  emulator  emulator.transform.run_transform(job, emulator.chain_target.ChainTarget(chain), input, output) on a
            running endpoint of the model (started once, with the batch environment), reading, splitting
            (SplitType Line, MultiRecord under MaxPayloadInMB), invoking and writing (AssembleWith Line).
  direct    the same request bodies, made beforehand by the engine's own reader and batcher (not timed),
            POSTed to the container by urllib3 from N threads in order, answers written to a file.
The two outputs are checked byte for byte.

Memory (with --model echo): `sagemaker-emulator transform --image <echo>` as a subprocess on generated inputs of --size-mb and
of >= --big-gib GiB (penguin rows repeated, in bench/out/transform/), its RSS sampled every 0.25 s and
its peak (getrusage) read when it exits. Flat means the big input's peak equals the small one's.

Targets: emulator >= 0.9x direct records/s; peak RSS flat and < 200 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import harness as h

WORK = h.OUT / "transform"
CONCURRENCY = (1, 2, 4)
TARGET_THROUGHPUT = 0.9
TARGET_RSS_MB = 200
MODELS = {"echo": lambda: {"ModelName": "bench-echo", "PrimaryContainer": {"Image": h.ECHO_IMAGE}},
          # A model that waits rather than computes (I/O, an accelerator): concurrency should pay off.
          "echo-delay": lambda: {"ModelName": "bench-echo-delay", "PrimaryContainer": {
              "Image": h.ECHO_IMAGE, "Environment": {"ECHO_DELAY_SECONDS": "0.1"}}},
          "preprocessor": lambda: h.preprocessor_alone("bench-preprocessor")}


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="echo",
                        help="echo: the cheapest container, so the engine's own cost shows (default); "
                             "echo-delay: echo answering after 0.1 s, a model that waits rather than computes; "
                             "preprocessor: the example featurizer. The memory runs use echo only.")
    parser.add_argument("--size-mb", type=int, default=64, help="input size for the throughput runs (default 64)")
    parser.add_argument("--payload-mb", type=int, default=1, help="MaxPayloadInMB of the throughput runs (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each subject per concurrency (default 2)")
    parser.add_argument("--big-gib", type=float, default=1.0, help="size of the memory run's input (default 1 GiB)")
    parser.add_argument("--skip-big", action="store_true", help="skip the memory run on the big input")
    args = parser.parse_args(argv)

    from emulator import transform as engine  # noqa: F401 - fails clearly if the engine is missing

    h.ensure_examples()
    h.header("batch transform: the emulator's engine vs. the container driven directly")
    WORK.mkdir(parents=True, exist_ok=True)
    small = generate(WORK / f"input-{args.size_mb}mb.csv", args.size_mb * 1024 * 1024)
    print(f"model: {args.model}; input {small.stat().st_size / 2**20:.0f} MiB of penguin rows, SplitType Line, "
          f"MultiRecord, MaxPayloadInMB {args.payload_mb}, AssembleWith Line; {args.rounds} runs per subject.\n", flush=True)
    results: dict[str, Any] = {"model": args.model, "input_bytes": small.stat().st_size, "payload_mb": args.payload_mb}
    results["throughput"] = throughput(MODELS[args.model](), small, args.payload_mb, args.rounds)
    print(report_throughput(results["throughput"]), "\n", flush=True)

    if args.model == "echo":
        memory_runs = [("small", small)]
        if not args.skip_big:
            memory_runs.append(("big", generate(WORK / f"input-{args.big_gib:g}gib.csv", int(args.big_gib * 2**30))))
        results["memory"] = {label: peak_memory(path) for label, path in memory_runs}
        print(report_memory(results["memory"]))
    path = h.save("transform" if args.model == "echo" else f"transform-{args.model}", results)
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


def generate(path: Path, size: int) -> Path:
    """Penguin rows repeated to at least `size` bytes; reused when already there."""
    if path.exists() and size <= path.stat().st_size < size + 4096:
        return path
    print(f"generating {path.relative_to(h.REPO)} ({size / 2**20:,.0f} MiB) ...", flush=True)
    block = h.penguin_body(4 * 1024 * 1024)
    temp = path.with_suffix(".tmp")
    with temp.open("wb") as out:
        written = 0
        while written < size:
            part = block if size - written >= len(block) else h.penguin_body(size - written)
            out.write(part)
            written += len(part)
    temp.replace(path)
    return path


def _job(payload_mb: int, concurrency: int) -> Any:
    from emulator.transform import TransformJob

    return TransformJob(name="bench", content_type="text/csv", accept="text/csv", split_type="Line",
                        batch_strategy="MultiRecord", max_payload_in_mb=payload_mb,
                        max_concurrent_transforms=concurrency, assemble_with="Line")


# -- throughput -----------------------------------------------------------------------------------------------------
def throughput(model: dict, source: Path, payload_mb: int, rounds: int) -> dict[str, Any]:
    from emulator.hosting.batch import load_model, with_batch_environment
    from emulator.invocation.chain_target import ChainTarget
    from emulator.transform import run_transform

    split_started = h.clock()
    bodies = _same_batches(source, _job(payload_mb, 1))
    split_seconds = h.clock() - split_started
    records = sum(count for _, count in bodies)
    figures: dict[str, Any] = {"records": records, "requests": len(bodies), "reader_batcher_s": round(split_seconds, 3)}
    definition = with_batch_environment(load_model(model, None), _job(payload_mb, max(CONCURRENCY)))
    with h.emulated([definition], serve=False) as emulator:
        chain = emulator.endpoint.chain
        url = chain.routes[0].url + "/invocations"

        def through_emulator(concurrency: int, output: Path) -> None:
            report = run_transform(_job(payload_mb, concurrency), ChainTarget(chain), source, output)
            if report.records != records or report.requests != len(bodies):
                raise h.BenchError(f"the engine sent {report.records} records in {report.requests} requests; "
                                   f"the direct run sends {records} in {len(bodies)}.")

        def direct(concurrency: int, output: Path) -> None:
            _drive_directly(url, bodies, concurrency, output / (source.name + ".out"))

        for concurrency in CONCURRENCY:
            seconds: dict[str, list[float]] = {"direct": [], "emulator": []}
            digests = {}
            for round_number in range(rounds):
                order = [("direct", direct), ("emulator", through_emulator)]
                for name, subject in (order if round_number % 2 == 0 else order[::-1]):
                    output = WORK / f"out-{name}"
                    _clear(output)
                    started = h.clock()
                    subject(concurrency, output)
                    seconds[name].append(h.clock() - started)
                    digests[name] = _digest(output / (source.name + ".out"))
                    _clear(output)
            if digests["direct"] != digests["emulator"]:
                raise h.BenchError(f"MaxConcurrentTransforms {concurrency}: the emulator's output differs from the "
                                   "direct run's.")
            best = {name: min(values) for name, values in seconds.items()}
            figures[str(concurrency)] = {
                "seconds": seconds,
                "records_per_second": {name: round(records / value) for name, value in best.items()},
                "ratio": round(best["direct"] / best["emulator"], 3),
            }
            print(f"  MaxConcurrentTransforms {concurrency}: direct {best['direct']:.2f} s, "
                  f"emulator {best['emulator']:.2f} s (best of {rounds})", flush=True)
    return figures


def _same_batches(source: Path, job: Any) -> list[tuple[bytes, int]]:
    """The request bodies the engine makes of `source`, by the engine's own reader and batcher."""
    from emulator.transform.batching import make_batches
    from emulator.transform.params import resolve_params
    from emulator.transform.records import read_records

    params = resolve_params(job, None)
    with source.open("rb") as stream:
        return [(batch.body, batch.count) for batch in make_batches(
            read_records(stream, job.split_type, max_payload=params.max_payload_bytes), split_type=job.split_type,
            multi_record=params.multi_record, max_bytes=params.max_payload_bytes)]


def _drive_directly(url: str, bodies: list[tuple[bytes, int]], concurrency: int, output: Path) -> None:
    import urllib3

    pool = urllib3.PoolManager(maxsize=concurrency, retries=False)
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}

    def post(item: tuple[bytes, int]) -> bytes:
        response = pool.request("POST", url, body=item[0], headers=headers, timeout=600)
        if response.status != 200:
            raise h.BenchError(f"the container answered {response.status}: {response.data[:200]!r}")
        return response.data

    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as out, ThreadPoolExecutor(concurrency) as workers:
        # map() keeps the order; a window of 2 x concurrency in flight, as the engine does.
        window = 2 * concurrency
        for start in range(0, len(bodies), window):
            for answer in workers.map(post, bodies[start:start + window]):
                out.write(answer)
                if not answer.endswith(b"\n"):
                    out.write(b"\n")


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _clear(folder: Path) -> None:
    if folder.exists():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()


def report_throughput(figures: dict[str, Any]) -> str:
    rows = [[c, figures[str(c)]["records_per_second"]["direct"], figures[str(c)]["records_per_second"]["emulator"],
             figures[str(c)]["ratio"]] for c in CONCURRENCY]
    scaling = [round(figures[str(c)]["records_per_second"]["emulator"] / figures["1"]["records_per_second"]["emulator"], 2)
               for c in CONCURRENCY]
    slowest = max(min(figures[str(c)]["seconds"]["emulator"]) for c in CONCURRENCY)
    lines = [(f"{figures['records']:,} records in {figures['requests']} requests per run; the engine's reader and "
              f"batcher alone (no invocation) take {figures['reader_batcher_s']:.2f} s, "
              f"{figures['reader_batcher_s'] / slowest:.0%} of the emulator's slowest best run"),
             h.table(["MaxConcurrentTransforms", "direct records/s", "emulator records/s", "ratio"], rows),
             f"emulator scaling vs. MaxConcurrentTransforms 1: {', '.join(f'{c}: {s}x' for c, s in zip(CONCURRENCY, scaling))}"]
    lines += [f"target >= {TARGET_THROUGHPUT:g}x direct at MaxConcurrentTransforms {c}: {figures[str(c)]['ratio']:.2f}x, "
              f"{h.verdict(figures[str(c)]['ratio'] >= TARGET_THROUGHPUT)}" for c in CONCURRENCY]
    return "\n".join(lines)


# -- memory ---------------------------------------------------------------------------------------------------------
def peak_memory(source: Path) -> dict[str, Any]:
    command = h.which("sagemaker-emulator")
    if command is None:
        raise h.BenchError("the sagemaker-emulator command is not installed (pip install -e . in the repository).")
    output = WORK / "out-memory"
    _clear(output)
    arguments = [command, "transform", "--image", h.ECHO_IMAGE, "--input", str(source), "--output", str(output),
                 "--content-type", "text/csv", "--accept", "text/csv", "--split-type", "Line",
                 "--batch-strategy", "MultiRecord", "--assemble-with", "Line", "--max-payload-mb", "6",
                 "--max-concurrent-transforms", "4"]
    print(f"  memory: {' '.join(Path(a).name if a == command else a for a in arguments)} "
          f"({source.stat().st_size / 2**20:,.0f} MiB) ...", flush=True)
    log = (WORK / "memory-run.log").open("wb")
    started = h.clock()
    process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    samples: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample() -> None:
        status = Path(f"/proc/{process.pid}/status")
        while not stop.wait(0.25):
            try:
                rss = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                continue
            samples.append((h.clock() - started, rss / 1024))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS, not a running maximum
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        stop.set()
        sampler.join()
        log.close()
    seconds = h.clock() - started
    _clear(output)
    if process.returncode != 0:
        raise h.BenchError(f"sagemaker-emulator transform failed; see {WORK / 'memory-run.log'}.")
    peak_mb = usage.ru_maxrss / 1024  # Linux: KiB
    quarters = [max((mb for t, mb in samples if t <= seconds * q / 4), default=0.0) for q in (1, 2, 3, 4)]
    return {"input_bytes": source.stat().st_size, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb, 1),
            "rss_mb_by_quarter": [round(q, 1) for q in quarters], "samples": len(samples),
            "mb_per_second": round(source.stat().st_size / 2**20 / seconds, 1)}


def report_memory(figures: dict[str, Any]) -> str:
    rows = [[label, f"{f['input_bytes'] / 2**20:,.0f}", f["seconds"], f["mb_per_second"], f["peak_rss_mb"],
             " / ".join(f"{q:.0f}" for q in f["rss_mb_by_quarter"])] for label, f in figures.items()]
    lines = ["peak RSS of `sagemaker-emulator transform` (MaxPayloadInMB 6, MaxConcurrentTransforms 4):",
             h.table(["input", "MiB", "seconds", "MiB/s", "peak RSS MB", "max RSS MB by quarter of the run"], rows)]
    if "big" in figures:
        big, small = figures["big"], figures["small"]
        quarters = big["rss_mb_by_quarter"]
        growth = quarters[-1] / quarters[0] if quarters[0] else float("nan")
        lines.append(f"target peak RSS < {TARGET_RSS_MB} MB on {big['input_bytes'] / 2**30:.2f} GiB: {big['peak_rss_mb']:.0f} MB, "
                     f"{h.verdict(big['peak_rss_mb'] < TARGET_RSS_MB)}; flat (RSS by the last quarter of the big run / "
                     f"by its first quarter): {growth:.2f}x, {h.verdict(growth <= 1.1)}; big/small peak "
                     f"{big['peak_rss_mb'] / small['peak_rss_mb']:.2f}x (the small input ends before all "
                     f"2 x MaxConcurrentTransforms batches are ever in flight)")
    else:
        lines.append("the big-input run was skipped (--skip-big): the memory target is not assessed.")
    return "\n".join(lines)


if __name__ == "__main__":
    h.main(run)
