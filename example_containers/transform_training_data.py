"""INTERIM: the model's training data, by a batch transform of the raw rows through the preprocessor.

Starts the preprocessor image's `serve` on a 127.0.0.1 port, posts the headerless feature rows
in batches, and writes headerless `species,feature...` rows. The container is always removed.
To be replaced by `sagemaker-emulator transform` once the emulator has it.
"""
import argparse
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROWS_PER_REQUEST = 100
STARTUP_TIMEOUT_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the preprocessor image")
    parser.add_argument("--model-dir", required=True, type=Path, help="its unpacked model.tar.gz")
    parser.add_argument("--features", required=True, type=Path, help="headerless raw feature rows")
    parser.add_argument("--labels", required=True, type=Path, help="one species per line, in the same order")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--container-label", default="", help="KEY=VALUE put on the container, for cleanup")
    args = parser.parse_args()

    features = args.features.read_text().splitlines()
    labels = args.labels.read_text().splitlines()
    if len(features) != len(labels):
        raise SystemExit(f"{len(features)} feature rows but {len(labels)} labels")
    container = start_serving(args.image, args.model_dir.resolve(), args.container_label)
    try:
        url = wait_until_healthy(container)
        transformed = [row for start in range(0, len(features), ROWS_PER_REQUEST)
                       for row in transform(url, features[start:start + ROWS_PER_REQUEST])]
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(f"{label},{row}\n" for label, row in zip(labels, transformed)))


def start_serving(image: str, model_dir: Path, label: str) -> str:
    """The container's ID; Docker picks a free host port."""
    label_options = ["--label", label] if label else []
    return docker("run", "-d", *label_options, "-p", "127.0.0.1::8080", "-v", f"{model_dir}:/opt/ml/model:ro",
                  image, "serve")


def wait_until_healthy(container: str) -> str:
    """The server's URL once /ping answers 200; fails at once if the container exits."""
    url = "http://" + docker("port", container, "8080/tcp").splitlines()[0]
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return url
        except (urllib.error.URLError, ConnectionError):
            pass
        if docker("inspect", "-f", "{{.State.Running}}", container) != "true":
            break
        time.sleep(0.2)
    logs = subprocess.run(["docker", "logs", "--tail", "20", container], capture_output=True, text=True)
    raise SystemExit(f"the preprocessor never became healthy; its last log lines:\n{logs.stdout}{logs.stderr}")


def transform(url: str, rows: list[str]) -> list[str]:
    request = urllib.request.Request(
        f"{url}/invocations", data="".join(row + "\n" for row in rows).encode(),
        headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = response.read().decode().splitlines()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"the preprocessor answered {error.code}: {error.read().decode()}") from None
    if len(answer) != len(rows):
        raise SystemExit(f"sent {len(rows)} rows, got {len(answer)} back")
    return answer


def docker(*args: str) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"docker {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


if __name__ == "__main__":
    main()
