"""What every benchmark shares: the definitions measured, starting and stopping them, running containers
by hand for the baselines, timing loops, percentiles, a table printer, and the machine's description.

Every figure a benchmark prints is a ratio against a baseline measured in the same run: the machine
is shared and noisy, so absolute numbers from different runs do not compare. Loops alternate the
baseline and the subject (ABBA order) so drift hits both alike, and every loop is bounded in count
and in time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
EXAMPLES = REPO / "example_containers"
ARTIFACTS = EXAMPLES / "artifacts"
PIPELINE_FILE = EXAMPLES / "pipeline.yaml"
PENGUIN_ROWS = ARTIFACTS / "data" / "penguins-features.csv"

ECHO_IMAGE = "sagemaker-emulator/echo:1"
PREPROCESSOR_IMAGE = "sagemaker-emulator/example-preprocessor:1"
MODEL_IMAGE = "sagemaker-emulator/example-model:1"
PREPROCESSOR_ARTIFACT = ARTIFACTS / "preprocessor" / "model.tar.gz"
MODEL_ARTIFACT = ARTIFACTS / "model" / "model.tar.gz"

clock = time.perf_counter


class BenchError(Exception):
    """Something the benchmark needs is missing or broke; the script exits non-zero with this message."""


def main(run: Callable[[list[str]], None]) -> None:
    """A benchmark script's entry point: errors exit non-zero with a one-line reason; a missed target does not."""
    OUT.mkdir(parents=True, exist_ok=True)  # logs and figures go there (it is not in a fresh clone)
    try:
        run(sys.argv[1:])
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        sys.exit(130)


# -- the examples ---------------------------------------------------------------------------------------------------
def ensure_examples() -> None:
    """Build the example images and artifacts when any is missing (example_containers/build skips what exists)."""
    missing_images = [image for image in (ECHO_IMAGE, PREPROCESSOR_IMAGE, MODEL_IMAGE) if not _image_exists(image)]
    missing_files = [p for p in (PREPROCESSOR_ARTIFACT, MODEL_ARTIFACT, PENGUIN_ROWS) if not p.exists()]
    if not missing_images and not missing_files:
        return
    print(f"building the examples (missing: {', '.join(missing_images + [str(p) for p in missing_files])}) ...",
          file=sys.stderr, flush=True)
    if subprocess.run([str(EXAMPLES / "build")], env={**os.environ, "PYTHON": sys.executable}, check=False).returncode != 0:
        raise BenchError("example_containers/build failed; see its output above.")


def _image_exists(image: str) -> bool:
    try:
        found = subprocess.run(["docker", "image", "inspect", image], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise BenchError("the docker CLI is not installed; these benchmarks need a Docker engine.") from None
    return found.returncode == 0


def echo_chain(name: str = "echo-chain") -> dict:
    """Two echo containers in a serial pipeline: the cheapest possible containers, so the front's cost shows."""
    return {"ModelName": name, "Containers": [{"Image": ECHO_IMAGE, "ContainerHostname": "first"},
                                              {"Image": ECHO_IMAGE, "ContainerHostname": "second"}]}


def example_pipeline(name: str = "penguins") -> dict | Path:
    """The penguins pipeline: example_containers/pipeline.yaml when it exists, else the same CreateModel here."""
    if PIPELINE_FILE.exists():
        return PIPELINE_FILE
    return {"ModelName": name, "Containers": [
        {"Image": PREPROCESSOR_IMAGE, "ContainerHostname": "preprocessor", "ModelDataUrl": str(PREPROCESSOR_ARTIFACT),
         "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}},
        {"Image": MODEL_IMAGE, "ContainerHostname": "model", "ModelDataUrl": str(MODEL_ARTIFACT)}]}


def preprocessor_alone(name: str = "preprocessor") -> dict:
    return {"ModelName": name, "PrimaryContainer": {"Image": PREPROCESSOR_IMAGE, "ModelDataUrl": str(PREPROCESSOR_ARTIFACT)}}


def describe(source: dict | Path) -> str:
    return str(source.relative_to(REPO)) if isinstance(source, Path) else f"CreateModel {source['ModelName']} (in bench/harness.py)"


def write_definition(source: dict | Path, path: Path) -> Path:
    """A definition as a file, for the CLI."""
    if isinstance(source, Path):
        return source
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(source, sort_keys=False))
    return path


def penguin_body(size: int) -> bytes:
    """Whole headerless penguin CSV rows, repeated until about `size` bytes (never a partial row)."""
    rows = [line + "\n" for line in PENGUIN_ROWS.read_text().splitlines() if line.strip()]
    out, total, index = [], 0, 0
    while total < size or not out:
        row = rows[index % len(rows)]
        if out and total + len(row) > size:
            break
        out.append(row)
        total += len(row)
        index += 1
    return "".join(out).encode()


def echo_body(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


# -- the emulator ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def emulated(source: dict | Path, *, serve: bool = True, **options: Any) -> Iterator[Any]:
    """A started Emulator (with its front when `serve`), stopped on the way out whatever happens."""
    from emulator.api import Emulator

    emulator = Emulator(source, **options)
    try:
        emulator.start()
        if serve:
            emulator.serve()
        yield emulator
    finally:
        emulator.stop()


def session() -> requests.Session:
    """A keep-alive session that sends only the headers we give (no default Accept: */*), as the emulator does."""
    s = requests.Session()
    del s.headers["Accept"]
    return s


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class FastClient:
    """The fastest client the standard library offers, where a benchmark's baseline must not carry a client's
    own cost: one kept-alive http.client connection per host, and the answer read whole. It has the part of
    requests.Session that invoke_front and invoke_direct use (`post`)."""

    def __init__(self) -> None:
        self._connections: dict[str, http.client.HTTPConnection] = {}

    def post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> Answer:
        parts = urllib.parse.urlsplit(url)
        connection = self._connections.get(parts.netloc)
        if connection is None:
            connection = self._connections[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        connection.request("POST", parts.path, body=data, headers=headers)
        answer = connection.getresponse()
        return Answer(answer.status, answer.read(), {name.lower(): value for name, value in answer.getheaders()})


def invoke_front(s: requests.Session | FastClient, url: str, endpoint: str, body: bytes, content_type: str,
                 accept: str | None = None, timeout: float = 70) -> requests.Response:
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    response = s.post(f"{url}/endpoints/{endpoint}/invocations", data=body, headers=headers, timeout=timeout)
    if response.status_code != 200:
        raise BenchError(f"the emulator answered {response.status_code}: {response.text[:300]}")
    return response


def load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark that loads a front: sequential requests, then client threads for some seconds."""
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per subject (default 10)")
    parser.add_argument("--requests", type=int, default=2000, help="sequential requests per subject (default 2000)")
    parser.add_argument("--quick", action="store_true", help="a fifth of the requests and seconds: a smoke run")


def front_caller(url: str, endpoint: str, body: bytes) -> Callable[[], Callable[[], requests.Response]]:
    """What makes each client's call for closed_loop: its own session POSTing `body` to the front."""
    def make() -> Callable[[], requests.Response]:
        s = session()
        return lambda: invoke_front(s, url, endpoint, body, "application/octet-stream")
    return make


def invoke_direct(s: requests.Session | FastClient, routes: list[Any], body: bytes, content_type: str,
                  accept: str | None = None, timeout: float = 70) -> bytes:
    """The floor: the same containers called in sequence by one client, with the headers the emulator sends."""
    from emulator.invocation.content_types import hop_headers

    current = content_type
    for index, route in enumerate(routes):
        headers = hop_headers(index, len(routes), current, accept, {})
        response = s.post(route.url + "/invocations", data=body, headers=headers, timeout=timeout)
        if response.status_code != 200:
            raise BenchError(f"{route.hostname} answered {response.status_code}: {response.text[:300]}")
        body, current = response.content, response.headers.get("content-type")
    return body


# -- containers by hand (the baselines) -----------------------------------------------------------------------------
BENCH_LABEL = "com.sagemaker-emulator.bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker_run(image: str, *, model_dir: Path | None = None, environment: dict[str, str] | None = None,
               container_port: int = 8080) -> tuple[str, str]:
    """`docker run -d IMAGE serve` on a loopback port, labelled for cleanup; returns (id, URL)."""
    port = free_port()
    command = ["docker", "run", "-d", "--label", f"{BENCH_LABEL}={os.getpid()}",
               "-p", f"127.0.0.1:{port}:{container_port}"]
    if model_dir:
        command += ["-v", f"{model_dir}:/opt/ml/model:ro"]
    for key, value in (environment or {}).items():
        command += ["-e", f"{key}={value}"]
    done = subprocess.run(command + [image, "serve"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"docker run {image} failed: {done.stderr.strip()}")
    return done.stdout.strip(), f"http://127.0.0.1:{port}"


def docker_remove(*container_ids: str) -> None:
    if container_ids:
        subprocess.run(["docker", "rm", "-f", *container_ids], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def remove_bench_containers() -> None:
    """Remove what this process started by hand (a backstop for an interrupted run)."""
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={BENCH_LABEL}={os.getpid()}"],
                           capture_output=True, text=True, check=False).stdout.split()
    docker_remove(*found)


def wait_for_ping(url: str, *, timeout: float = 120, interval: float = 0.01, container_id: str | None = None) -> float:
    """Poll GET /ping until 200; returns the clock() when it answered. Gives up at once if the container exited."""
    deadline = clock() + timeout
    polls = 0
    with requests.Session() as s:
        while clock() < deadline:
            try:
                if s.get(url + "/ping", timeout=2).status_code == 200:
                    return clock()
            except requests.RequestException:
                pass
            polls += 1
            if container_id and polls % 50 == 0 and not _running(container_id):
                raise BenchError(f"container {container_id[:12]} exited before answering /ping.")
            time.sleep(interval)
    raise BenchError(f"{url}/ping did not answer 200 within {timeout:g} s.")


def start_by_hand(containers: list[tuple[str, Path | None]]) -> float:
    """Seconds from the first `docker run -d` of (image, model folder) to the last container's /ping 200."""
    started = clock()
    ids, answered = [], []
    try:
        runs = []
        for image, folder in containers:
            container_id, url = docker_run(image, model_dir=folder)
            ids.append(container_id)
            runs.append((container_id, url))
        for container_id, url in runs:
            answered.append(wait_for_ping(url, container_id=container_id))
        return max(answered) - started
    finally:
        docker_remove(*ids)


def _running(container_id: str) -> bool:
    state = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", container_id], capture_output=True, text=True, check=False)
    return state.stdout.strip() == "true"


def model_dir(artifact: Path) -> Path:
    """The unpacked artifact, from the emulator's own cache (so baseline and emulator mount the same folder)."""
    from emulator.artifacts import model_folder

    return model_folder(str(artifact))


# -- timing ---------------------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Samples:
    """Latencies in milliseconds, and how many requests completed in how many seconds."""
    ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # group -> CPU seconds spent while these ran

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.ms, 99)

    @property
    def per_second(self) -> float:
        return len(self.ms) / self.seconds if self.seconds else float("nan")

    def as_dict(self) -> dict[str, float]:
        figures = {"n": len(self.ms), "p50_ms": round(self.p50, 3), "p99_ms": round(self.p99, 3),
                   "mean_ms": round(statistics.fmean(self.ms), 3) if self.ms else None,
                   "seconds": round(self.seconds, 3), "per_second": round(self.per_second, 2)}
        if self.cpu and self.ms:
            figures["cpu_ms_per_request"] = {group: round(used * 1000 / len(self.ms), 3) for group, used in self.cpu.items()}
        return figures


def alternate(subjects: dict[str, Callable[[], Any]], count: int, *, max_seconds: float, warmup: int = 10) -> dict[str, Samples]:
    """Call each subject `count` times, one call of each per round, order reversed every round (ABBA)."""
    names = list(subjects)
    for _ in range(warmup):
        for name in names:
            subjects[name]()
    samples = {name: Samples() for name in names}
    deadline = clock() + max_seconds
    for round_number in range(count):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            started = clock()
            subjects[name]()
            elapsed = clock() - started
            samples[name].ms.append(elapsed * 1000)
            samples[name].seconds += elapsed
        if clock() > deadline:
            print(f"  (stopped after {round_number + 1} of {count} rounds: the {max_seconds:g} s bound)", file=sys.stderr)
            break
    return samples


def rotating(subjects: dict[str, Callable[[], dict[str, float]]], repeat: int) -> dict[str, list[dict[str, float]]]:
    """Each subject `repeat` times (one run is seconds long: a start, a deploy), the order rotated every
    repetition so that drift hits them alike; each run's figures (with its `total`) printed as it ends."""
    names = list(subjects)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for repetition in range(repeat):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(subjects[name]())
            print(f"  repetition {repetition + 1}, {name}: {runs[name][-1]['total']:.2f} s", flush=True)
    return runs


def closed_loop(make_call: Callable[[], Callable[[], Any]], clients: int, seconds: float) -> Samples:
    """`clients` threads, each with its own call (own session), calling back to back for `seconds`."""
    samples = Samples()
    lock = threading.Lock()
    errors: list[BaseException] = []
    calls = [make_call() for _ in range(clients)]
    start_line = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(call: Callable[[], Any]) -> None:
        mine = []
        start_line.wait()
        try:
            while True:
                started = clock()
                if started >= deadline[0]:
                    break
                call()
                mine.append((clock() - started) * 1000)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            errors.append(exc)
        with lock:
            samples.ms.extend(mine)

    threads = [threading.Thread(target=client, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    deadline[0] = clock() + seconds
    began = clock()
    start_line.wait()
    for thread in threads:
        thread.join(seconds + 120)
    samples.seconds = clock() - began
    if errors:
        raise BenchError(f"a client failed: {errors[0]}")
    return samples


def alternate_closed_loops(subjects: dict[str, Callable[[], Callable[[], Any]]], *, clients: int, seconds: float,
                           rounds: int = 4, cpu: dict[str, Callable[[], float]] | None = None) -> dict[str, Samples]:
    """Each subject gets `seconds` in total, split over `rounds` alternating slices (ABBA).

    `cpu` maps a group name (client, front, containers) to a probe of its cumulative CPU seconds;
    each subject's Samples.cpu then holds the CPU each group spent during that subject's slices.
    """
    names = list(subjects)
    total = {name: Samples() for name in names}
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            before = {group: probe() for group, probe in (cpu or {}).items()}
            part = closed_loop(subjects[name], clients, seconds / rounds)
            for group, probe in (cpu or {}).items():
                total[name].cpu[group] = total[name].cpu.get(group, 0.0) + probe() - before[group]
            total[name].ms.extend(part.ms)
            total[name].seconds += part.seconds
    return total


# -- CPU accounting (Linux /proc) -----------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def own_cpu() -> float:
    """CPU seconds of this process, all threads."""
    times = os.times()
    return times.user + times.system


def tree_cpu(*roots: int) -> float:
    """CPU seconds of the live processes under `roots` (roots included), all threads."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    wanted = set(roots)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in wanted and pid not in wanted}
        wanted |= more
        grew = bool(more)
    return sum(used.get(pid, 0.0) for pid in wanted)


def container_pid(container_id: str) -> int:
    found = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", container_id], capture_output=True, text=True, check=False)
    if found.returncode != 0 or not found.stdout.strip().isdigit():
        raise BenchError(f"cannot find the process of container {container_id[:12]}: {found.stderr.strip()}")
    return int(found.stdout)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- reporting ------------------------------------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table, columns padded so it also reads as plain text."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(str(v).ljust(w) for v, w in zip(values, widths)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def machine() -> dict[str, Any]:
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")), 0)
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, check=False)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "memory_gib": round(memory_kb / 1024**2, 1),
            "docker": docker.stdout.strip() or "unknown", "python": platform.python_version(),
            "kernel": platform.release(), "commit": commit.stdout.strip(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def header(title: str) -> None:
    info = machine()
    print(f"# {title}\n{info['date']}; nproc {info['nproc']}, {info['memory_gib']} GiB, Docker {info['docker']}, "
          f"Python {info['python']}, commit {info['commit']}, load average {' '.join(map(str, info['load_average']))}\n",
          flush=True)


def save(name: str, data: dict[str, Any]) -> Path:
    """The run's figures as JSON in bench/out/, with the machine they came from."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))
    return path


def which(command: str) -> str | None:
    """A console script of this Python's environment first, then PATH."""
    local = Path(sys.executable).parent / command
    return str(local) if local.exists() else shutil.which(command)
