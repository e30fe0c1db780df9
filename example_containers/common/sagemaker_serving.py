"""What every example image shares: the SageMaker container contract, written once.

Copied next to each image's main.py at build time. It dispatches `train` / `serve`,
reads the training channel, negotiates content types the way AWS's serving toolkits do,
turns refused invocations into JSON errors, and starts gunicorn as PID 1.
"""
import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

from flask import Flask, Response, request

MODEL_DIR = Path("/opt/ml/model")
INPUT_DATA_DIR = Path("/opt/ml/input/data")
PROGRAM_DIR = Path(__file__).resolve().parent
# AWS's toolkits answer JSON when the caller names no usable Accept.
TOOLKIT_DEFAULT_ACCEPT = "application/json"
# What the example models tell a batch transform: rows are independent, so pack many per request.
MULTI_RECORD_EXECUTION_PARAMETERS = {"MaxConcurrentTransforms": 2, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


class InvocationError(Exception):
    """An invocation the container refuses; becomes `{"error": message}` with this status."""

    status = 400


class UnsupportedContentType(InvocationError):
    status = 415


class UnsupportedAccept(InvocationError):
    status = 406


def run(train: Callable[[], None] | None = None, serve: Callable[[], None] | None = None) -> None:
    """The image's entry point: `train` runs a training job, `serve` the model server."""
    commands = {"train": train, "serve": serve or exec_gunicorn}
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if commands.get(command) is None:
        usage = " | ".join(name for name, function in commands.items() if function)
        sys.exit(f"usage: {Path(sys.argv[0]).name} {usage} (got {command!r})")
    commands[command]()


def exec_gunicorn(app_spec: str = "main:create_app()") -> NoReturn:
    """Replace this process with gunicorn, so it is PID 1 and SIGTERM stops it cleanly.

    By convention each image's main.py has the `create_app()` that gunicorn serves.
    """
    port = os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080")
    workers = os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1")
    # Above the platform's 60 s invocation limit: the caller, not gunicorn, gives up on a slow call.
    timeout = int(os.environ.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60")) + 30
    os.execvp("gunicorn", [
        "gunicorn", "--bind", f"0.0.0.0:{port}", "--chdir", str(PROGRAM_DIR),
        "--worker-class", "gthread", "--workers", workers, "--threads", "4",
        "--timeout", str(timeout), "--graceful-timeout", "10", app_spec,
    ])


def training_files(channel: str = "train") -> list[Path]:
    """The CSV files of a training channel, in a stable order."""
    folder = INPUT_DATA_DIR / channel
    files = sorted(folder.glob("*.csv"))
    if not files:
        sys.exit(f"no CSV files in the {channel!r} channel ({folder})")
    return files


def base_type(content_type: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`: parameters never decide the codec."""
    return (content_type or "").split(";")[0].strip().lower()


def choose_accept(accept: str | None, supported: Iterable[str]) -> str:
    """The response type: the first supported type the caller accepts, or the container's default."""
    supported = set(supported)
    default = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", TOOLKIT_DEFAULT_ACCEPT)
    for wanted in map(base_type, (accept or "*/*").split(",")):
        if wanted == "*/*":
            wanted = base_type(default)
        if wanted in supported:
            return wanted
    raise UnsupportedAccept(f"unsupported accept {accept or default!r}; supported: {', '.join(sorted(supported))}")


def content_type_of(media_type: str) -> dict[str, str]:
    """Response keywords for the answer's Content-Type. Flask's `mimetype=` appends '; charset=utf-8' to text
    types, and SageMaker hands that verbatim to the next container of a pipeline, where a reader that compares
    the whole header (SageMaker's first built-in XGBoost) refuses it. BARE_CONTENT_TYPE=true answers the bare type.
    """
    if os.environ.get("BARE_CONTENT_TYPE", "").lower() == "true":
        return {"content_type": media_type}
    return {"mimetype": media_type}


def error_response(message: str, status: int) -> Response:
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def create_inference_app(
    name: str,
    *,
    decoders: dict[str, Callable[[bytes], Any]],
    predict: Callable[[Any], Any],
    encoders: dict[str, Callable[[Any], str]],
    execution_parameters: dict | None = None,
) -> Flask:
    """A SageMaker model server: /ping, and /invocations as decode -> predict -> encode."""
    app = Flask(name)

    @app.get("/ping")
    def ping():
        return ""

    @app.post("/invocations")
    def invocations():
        content_type = base_type(request.content_type)
        if content_type not in decoders:
            raise UnsupportedContentType(
                f"unsupported content type {request.content_type!r}; supported: {', '.join(sorted(decoders))}")
        accept = choose_accept(request.headers.get("Accept"), encoders)
        data = decoders[content_type](request.get_data())
        if len(data) == 0:
            raise InvocationError("the body holds no rows")
        return Response(encoders[accept](predict(data)), **content_type_of(accept))

    if execution_parameters is not None:
        @app.get("/execution-parameters")
        def get_execution_parameters():
            return execution_parameters

    @app.errorhandler(InvocationError)
    def refuse(error: InvocationError):
        return error_response(str(error), error.status)

    return app


def create_classifier_app(name: str, classes: list[str], predict_proba: Callable[[Any], Any],
                          width: int) -> Flask:
    """A model server naming the class of each row of `width` features (the preprocessor's CSV rows or its JSON):
    CSV answers one class a line, JSON `{"predictions": [{"species": .., "probabilities": {..}}, ..]}`."""
    import numpy as np  # noqa: PLC0415 - only the classifiers need it; the echo image starts faster without it

    def predict(rows: list) -> list[dict]:
        features = np.array([feature_row(row, row_number, width) for row_number, row in enumerate(rows, 1)])
        return [{"species": classes[np.argmax(row)], "probabilities": dict(zip(classes, row.tolist()))}
                for row in predict_proba(features)]

    return create_inference_app(
        name,
        decoders={"text/csv": csv_rows, "application/json": decode_features_json},
        predict=predict,
        encoders={"text/csv": lambda predictions: to_csv([p["species"]] for p in predictions),
                  "application/json": lambda predictions: json.dumps({"predictions": predictions})},
        execution_parameters=MULTI_RECORD_EXECUTION_PARAMETERS,
    )


def decode_features_json(body: bytes) -> list:
    """The preprocessor's `{"instances": [{"features": [...]}, ...]}`; bare lists of floats too."""
    return [instance.get("features") if isinstance(instance, dict) else instance for instance in json_instances(body)]


def feature_row(row, row_number: int, width: int) -> list[float]:
    if not isinstance(row, list) or len(row) != width:
        raise InvocationError(f"row {row_number}: expected {width} features, got {row!r}")
    return [number(value, f"row {row_number}, feature {index}") for index, value in enumerate(row, 1)]


def csv_rows(body: bytes) -> list[list[str]]:
    """Headerless CSV rows; blank lines are no rows."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvocationError(f"the body is not UTF-8: {error}") from None
    return [row for row in csv.reader(io.StringIO(text)) if row]


def json_instances(body: bytes) -> list:
    """`{"instances": [...]}` or a bare list."""
    try:
        value = json.loads(body)
    except ValueError as error:
        raise InvocationError(f"the body is not JSON: {error}") from None
    instances = value.get("instances") if isinstance(value, dict) else value
    if not isinstance(instances, list):
        raise InvocationError('expected {"instances": [...]} or a list')
    return instances


def number(value: Any, where: str) -> float:
    """A finite float, or a 400 naming where the bad value was."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvocationError(f"{where} is not a number: {value!r}") from None
    if not math.isfinite(result):
        raise InvocationError(f"{where} is not finite: {value!r}")
    return result


def to_csv(rows: Iterable[Iterable]) -> str:
    """One line per row. Floats print as repr (Python's str), so a row reads back bit-exact."""
    return "".join(",".join(map(str, row)) + "\n" for row in rows)
