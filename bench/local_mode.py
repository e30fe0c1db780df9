"""The emulator against the SageMaker Python SDK's local mode, on the same image in the same run.

    python bench/local_mode.py [--repeat 3] [--requests 50]

Creates bench/.venv-sagemaker (pip install 'sagemaker>=2.200,<3': the v2 SDK, whose local mode is
`Model(...).deploy(instance_type="local")`) if it is missing, and needs Docker Compose (`docker compose`
or `docker-compose`; as root on Debian the script runs `apt-get install -y docker-compose` when both are
missing). Each local-mode run is a subprocess of that venv's python (bench/local_mode_worker.py) with a
temporary HOME, telemetry opted out in the SDK's config file, dummy credentials, region us-east-1, the
EC2 metadata lookup disabled, HTTP(S)_PROXY pointing at a closed loopback port, and an audit hook that
refuses any non-loopback connection. Nothing leaves the machine.

Subjects (the example preprocessor alone, its model.tar.gz, CSV rows in and out), in rotating order:
  local mode, default    model.deploy(wait=True), then predictor.predict until the first answer
  local mode, wait=False model.deploy(wait=False), then predictor.predict every 50 ms until it answers
  emulator               Emulator(definition).start() + serve() + boto3 invoke_endpoint until the first answer
Then `--requests` sequential requests each: predictor.predict vs. boto3 invoke_endpoint on our front.

Targets: first answer >= 10x faster, p50 per request >= 10x lower. Local mode cannot run an inference
pipeline at all (its create_model takes only a PrimaryContainer), so only one container is compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness as h

VENV = h.REPO / "bench" / ".venv-sagemaker"
SDK_REQUIREMENT = "sagemaker>=2.200,<3"
WORK = h.OUT / "local-mode"
TARGET = 10.0
CLOSED_PORT = 9  # discard: nothing listens there, so a proxied request fails at once, on this machine


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each subject (default 3)")
    parser.add_argument("--requests", type=int, default=50, help="sequential requests per run (default 50)")
    args = parser.parse_args(argv)

    h.ensure_examples()
    h.header("the emulator vs. SageMaker Python SDK local mode (example preprocessor alone)")
    python = _venv_python()
    compose = _compose()
    WORK.mkdir(parents=True, exist_ok=True)
    body_file = WORK / "body.csv"
    body_file.write_bytes(h.penguin_body(1024))
    # Local mode unpacks model.tar.gz beside itself: give it a copy, never the repository's artifacts folder.
    model_copy = WORK / "model" / "model.tar.gz"
    model_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(h.PREPROCESSOR_ARTIFACT, model_copy)
    print(f"SDK: {_sdk_version(python)} in {VENV.relative_to(h.REPO)}; compose: {compose}; "
          f"{args.repeat} repetitions, {args.requests} requests per run.\n", flush=True)

    subjects = {
        "local_default": lambda: _local_mode(python, model_copy, body_file, wait=True, requests=args.requests),
        "local_wait_false": lambda: _local_mode(python, model_copy, body_file, wait=False, requests=args.requests),
        "emulator": lambda: _emulator(body_file.read_bytes(), args.requests),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in subjects}
    for repetition in range(args.repeat):
        names = list(subjects)
        order = names[repetition % len(names):] + names[:repetition % len(names)]
        for name in order:
            runs[name].append(subjects[name]())
            last = runs[name][-1]
            print(f"  repetition {repetition + 1}, {name}: first answer {last['first_answer_s']:.2f} s, "
                  f"p50 {h.percentile(last['ms'], 50):.1f} ms", flush=True)

    figures = _figures(runs)
    print("\n" + report(figures))
    path = h.save("local_mode", {"sdk": _sdk_version(python), "compose": compose, "repeat": args.repeat,
                                 "runs": runs, **figures})
    print(f"\nfigures saved to {path.relative_to(h.REPO)}")


# -- set-up ---------------------------------------------------------------------------------------------------------
def _venv_python() -> Path:
    python = VENV / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import sagemaker.local"],
                                          capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating {VENV.relative_to(h.REPO)} and installing '{SDK_REQUIREMENT}' (a few minutes) ...",
          file=sys.stderr, flush=True)
    steps = [[sys.executable, "-m", "venv", str(VENV)],
             [str(python), "-m", "pip", "install", "-q", SDK_REQUIREMENT]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise h.BenchError(f"BLOCKED: cannot install the SageMaker Python SDK ({' '.join(step)} failed):\n{tail}")
    return python


def _sdk_version(python: Path) -> str:
    found = subprocess.run([str(python), "-c", "import sagemaker; print(sagemaker.__version__)"],
                           capture_output=True, text=True, env={**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}, check=False)
    return (found.stdout.strip().splitlines() or ["unknown"])[-1]


def _compose() -> str:
    """The compose command local mode will find; installs Debian's docker-compose as root when there is none."""
    for command in (["docker", "compose", "version"], ["docker-compose", "version"]):
        if shutil.which(command[0]) and subprocess.run(command, capture_output=True, check=False).returncode == 0:
            return " ".join(command[:-1])
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("no Docker Compose: apt-get install -y docker-compose ...", file=sys.stderr, flush=True)
        done = subprocess.run(["apt-get", "install", "-y", "docker-compose"], capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, check=False)
        if done.returncode == 0 and subprocess.run(["docker-compose", "version"], capture_output=True, check=False).returncode == 0:
            return "docker-compose"
        raise h.BenchError(f"BLOCKED: local mode needs Docker Compose; apt-get install -y docker-compose failed:\n"
                           f"{done.stderr.strip()[-800:]}")
    raise h.BenchError("BLOCKED: local mode needs Docker Compose (`docker compose` or `docker-compose`) and neither "
                       "works; install one (Debian: apt-get install -y docker-compose) and run again.")


def _isolated_environment(home: Path) -> dict[str, str]:
    """A temporary HOME with telemetry opted out, dummy credentials, and every route off the machine closed."""
    config = home / ".config" / "sagemaker" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "config").write_text("[default]\nregion = us-east-1\n")
    (home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = bench\naws_secret_access_key = bench\n")
    closed = f"http://127.0.0.1:{CLOSED_PORT}"
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "DOCKER_HOST", "TMPDIR", "TERM")}
    return {**keep, "HOME": str(home), "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed,
            "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1", "PYTHONUNBUFFERED": "1",
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}


# -- subjects -------------------------------------------------------------------------------------------------------
def _local_mode(python: Path, model: Path, body_file: Path, *, wait: bool, requests: int) -> dict[str, Any]:
    port = h.free_port()
    with tempfile.TemporaryDirectory(prefix="home-", dir=WORK) as home:
        log = WORK / f"worker-{'wait' if wait else 'nowait'}.log"
        command = [str(python), str(Path(__file__).with_name("local_mode_worker.py")),
                   "--image", h.PREPROCESSOR_IMAGE, "--model-data", f"file://{model}", "--port", str(port),
                   "--wait", "true" if wait else "false", "--body-file", str(body_file), "--requests", str(requests)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=_isolated_environment(Path(home)),
                                  timeout=600, check=False)
        finally:
            _remove_compose_leftovers()
        log.write_text(done.stdout + "\n--- stderr\n" + done.stderr)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        result = json.loads(lines[-1]) if lines else {}
        if done.returncode != 0 or "first_answer_s" not in result:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise h.BenchError(f"the local-mode run failed (exit {done.returncode}); log in {log}:\n{tail}")
        if result["blocked_connections"]:
            print(f"  note: local mode tried to reach {', '.join(sorted(set(result['blocked_connections'])))}; refused.",
                  flush=True)
    result["ms"] = result.pop("predict_ms")
    return result


def _remove_compose_leftovers() -> None:
    """Containers a failed local-mode run left behind (compose names them `*algo-1-*`)."""
    found = subprocess.run(["docker", "ps", "-aq", "--filter", f"ancestor={h.PREPROCESSOR_IMAGE}",
                            "--filter", "label=com.docker.compose.service"], capture_output=True, text=True, check=False)
    h.docker_remove(*found.stdout.split())


def _emulator(body: bytes, requests: int) -> dict[str, Any]:
    from emulator.api import Emulator

    began = h.clock()
    emulator = Emulator(h.preprocessor_alone("bench-preprocessor"))
    try:
        emulator.start()
        started = h.clock()
        emulator.serve()
        served = h.clock()
        client = emulator.boto3_client()
        answer = client.invoke_endpoint(EndpointName="bench-preprocessor", Body=body, ContentType="text/csv",
                                        Accept="text/csv")["Body"].read()
        result: dict[str, Any] = {"first_answer_s": h.clock() - began, "first_answer_bytes": len(answer),
                                  "start_s": started - began, "serve_s": served - started}
        session, container = h.session(), emulator.endpoint.chain.routes[0].url
        samples = h.alternate({
            "ms": lambda: client.invoke_endpoint(EndpointName="bench-preprocessor", Body=body, ContentType="text/csv",
                                                 Accept="text/csv")["Body"].read(),
            "direct_ms": lambda: session.post(container + "/invocations", data=body,
                                              headers={"Content-Type": "text/csv", "Accept": "text/csv"}).content,
        }, requests, max_seconds=60, warmup=0)
        result.update({name: s.ms for name, s in samples.items()})
    finally:
        removing = h.clock()
        emulator.stop()
    result["teardown_s"] = h.clock() - removing
    return result


# -- figures --------------------------------------------------------------------------------------------------------
def _figures(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    summary = {}
    for name, rs in runs.items():
        samples = [ms for r in rs for ms in r["ms"]]
        floor = [ms for r in rs for ms in r["direct_ms"]]
        summary[name] = {"first_answer_s": round(h.median([r["first_answer_s"] for r in rs]), 3),
                         "p50_ms": round(h.percentile(samples, 50), 3), "p99_ms": round(h.percentile(samples, 99), 3),
                         "container_p50_ms": round(h.percentile(floor, 50), 3),
                         "added_p50_ms": round(h.percentile(samples, 50) - h.percentile(floor, 50), 3),
                         "teardown_s": round(h.median([r["teardown_s"] for r in rs]), 3), "requests": len(samples)}
        if "import_s" in rs[0]:
            summary[name]["sdk_import_s"] = round(h.median([r["import_s"] for r in rs]), 3)
            summary[name]["deploy_returned_s"] = round(h.median([r["deploy_returned_s"] for r in rs]), 3)
    ours = summary["emulator"]
    ratios = {name: {"first_answer": round(summary[name]["first_answer_s"] / ours["first_answer_s"], 2),
                     "p50": round(summary[name]["p50_ms"] / ours["p50_ms"], 2),
                     "added_p50": round(summary[name]["added_p50_ms"] / max(ours["added_p50_ms"], 0.001), 2)}
              for name in ("local_default", "local_wait_false")}
    return {"summary": summary, "speedups": ratios}


def report(figures: dict[str, Any]) -> str:
    s, r = figures["summary"], figures["speedups"]
    rows = []
    for name, label in (("local_default", "local mode, deploy() default"), ("local_wait_false", "local mode, deploy(wait=False)"),
                        ("emulator", "emulator (boto3 invoke_endpoint on the front)")):
        x = s[name]
        rows.append([label, x["first_answer_s"], x.get("deploy_returned_s", float("nan")), x["p50_ms"], x["p99_ms"],
                     x["container_p50_ms"], x["added_p50_ms"], x["teardown_s"], r.get(name, {}).get("first_answer", 1.0),
                     r.get(name, {}).get("p50", 1.0), r.get(name, {}).get("added_p50", 1.0)])
    lines = [h.table(["subject (median)", "first answer s", "deploy() returned s", "p50 ms", "p99 ms",
                      "container alone p50 ms", "added p50 ms", "teardown s", "first answer: x ours",
                      "p50: x ours", "added p50: x ours"], rows)]
    lines.append(f"(local mode's SDK import, not counted above: {s['local_default'].get('sdk_import_s', float('nan')):.2f} s)")
    for name, label in (("local_default", "deploy() default"), ("local_wait_false", "deploy(wait=False)")):
        x = r[name]
        lines.append(f"local mode {label}: first answer {x['first_answer']:.1f}x ours (target >= {TARGET:g}x: "
                     f"{h.verdict(x['first_answer'] >= TARGET)}); p50 {x['p50']:.1f}x ours ({h.verdict(x['p50'] >= TARGET)}; "
                     f"the container's own time is in both), time added over the container {x['added_p50']:.1f}x ours "
                     f"({h.verdict(x['added_p50'] >= TARGET)})")
    lines.append("local mode cannot run an inference pipeline at all (create_model takes only PrimaryContainer).")
    return "\n".join(lines)


if __name__ == "__main__":
    h.main(run)
