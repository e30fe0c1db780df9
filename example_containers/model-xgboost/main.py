"""The penguins species classifier as SageMaker's built-in XGBoost algorithm serves it.

`train` fits a multi:softmax booster on the headerless CSV rows `species,feature...` of the `train`
channel (the species become class indices in sorted name order: 0 Adelie, 1 Chinstrap, 2 Gentoo).
`serve` answers each row's class index, as the built-in algorithm's serving does for CSV:
- `text/csv` rows without a header, or `text/libsvm` / `text/x-libsvm`; no Content-Type reads as CSV;
- the Content-Type is compared whole, as SageMaker's first built-in XGBoost image compared it, so
  `text/csv; charset=utf-8` is refused (415) with a message naming the header. (The open-source
  container, 0.90-1 and later, drops the parameters before comparing.)
- an empty body gets 204; a body that does not parse gets 415; a row of the wrong width, 400;
- `Accept` is `text/csv` (one prediction a line) or `application/json` (`{"predictions": [{"score": ..}]}`),
  defaulting to SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, else text/csv; anything else is 406;
- errors are plain text, and a batch transform (SAGEMAKER_BATCH) gets one prediction a line.
"""
import http
import io
import json
import os

import numpy as np
import xgboost as xgb
from flask import Flask, Response, request
from scipy.sparse import csr_matrix

import sagemaker_serving as serving

MODEL_FILE = serving.MODEL_DIR / "xgboost-model.json"
CSV = "text/csv"
LIBSVM_TYPES = ("text/libsvm", "text/x-libsvm")
SUPPORTED_ACCEPTS = ("application/json", CSV)
PARAMETERS = {"objective": "multi:softmax", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 0}
ROUNDS = 30


class Refused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def train() -> None:
    rows = np.concatenate([np.loadtxt(path, delimiter=",", dtype=str, ndmin=2) for path in serving.training_files()])
    species, labels = np.unique(rows[:, 0], return_inverse=True)
    data = xgb.DMatrix(rows[:, 1:].astype(float), label=labels)
    booster = xgb.train({**PARAMETERS, "num_class": len(species)}, data, num_boost_round=ROUNDS)
    booster.save_model(MODEL_FILE)
    classes = ", ".join(f"{index} {name}" for index, name in enumerate(species))
    print(f"saved {MODEL_FILE} ({len(rows)} rows, classes {classes})")


def create_app(booster: xgb.Booster | None = None) -> Flask:
    """The model server; `booster` defaults to the trained one in /opt/ml/model, loaded once."""
    if booster is None:
        booster = xgb.Booster(model_file=str(MODEL_FILE))
    app = Flask(__name__)

    @app.get("/ping")
    def ping():
        return Response(status=http.HTTPStatus.OK)

    @app.get("/execution-parameters")
    def execution_parameters():
        return {"MaxConcurrentTransforms": os.cpu_count(), "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}

    @app.post("/invocations")
    def invocations():
        payload = request.get_data()
        if not payload:
            return Response(status=http.HTTPStatus.NO_CONTENT)
        try:
            matrix = parse_payload(payload, request.headers.get("Content-Type") or CSV, booster.num_features())
            predictions = booster.predict(matrix).tolist()
            accept = parse_accept(request.headers.get("Accept"))
        except Refused as refused:
            return Response(str(refused), status=refused.status)
        return Response(encode(predictions, accept), mimetype=accept)

    return app


def parse_payload(payload: bytes, content_type: str, width: int) -> xgb.DMatrix:
    """The rows of a CSV or libsvm body; the whole Content-Type header must name one of them."""
    content_type = content_type.strip().lower()
    if content_type == CSV:
        return xgb.DMatrix(checked_width(load_csv(payload), width))
    if content_type in LIBSVM_TYPES:
        return xgb.DMatrix(load_libsvm(payload, width))
    raise Refused(f"Content-type {content_type} not supported. Supported content-type is text/csv, text/libsvm",
                  http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE)


def load_csv(payload: bytes) -> np.ndarray:
    try:
        return np.loadtxt(io.StringIO(payload.strip().decode("utf-8")), delimiter=",", dtype=float, ndmin=2)
    except Exception as error:  # noqa: BLE001 - any parse failure is the caller's body, as the real server says
        raise Refused(f"Loading csv data failed with Exception, please ensure data is in csv format:\n "
                      f"{type(error)}\n {error}", http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE) from None


def checked_width(rows: np.ndarray, width: int) -> np.ndarray:
    if rows.shape[1] != width:
        raise Refused(f"Unable to evaluate payload provided: Feature size of csv inference data {rows.shape[1]} is "
                      f"not consistent with feature size of trained model {width}.", http.HTTPStatus.BAD_REQUEST)
    return rows


def load_libsvm(payload: bytes, width: int) -> csr_matrix:
    """`label index:value ...` lines; 1-based indices when none is 0, as the real server reads them."""
    try:
        entries = [(row, int(index), float(value))
                   for row, line in enumerate(payload.strip().decode("utf-8").split("\n"))
                   for index, _, value in (item.partition(":") for item in line.split() if ":" in item)]
        rows, columns, values = (np.array(part) for part in zip(*entries)) if entries else ([], [], [])
        columns = np.asarray(columns, dtype=int)
        if len(columns) and columns.min() >= 1:
            columns = columns - 1
        if len(columns) and (columns.min() < 0 or columns.max() >= width):
            raise ValueError(f"feature index {columns.max() + 1} is beyond the model's {width} features")
        return csr_matrix((values, (rows, columns)), shape=(payload.strip().count(b"\n") + 1, width))
    except Exception as error:  # noqa: BLE001
        raise Refused(f"Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n "
                      f"{type(error)}\n {error}", http.HTTPStatus.UNSUPPORTED_MEDIA_TYPE) from None


def parse_accept(accept: str | None) -> str:
    wanted = (accept or "").split(";")[0].strip().lower()
    if not wanted or wanted == "*/*":
        return os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", CSV)
    if wanted not in SUPPORTED_ACCEPTS:
        raise Refused(f"Accept type {accept} is not supported. Please use supported accept types: "
                      f"{list(SUPPORTED_ACCEPTS)}.", http.HTTPStatus.NOT_ACCEPTABLE)
    return wanted


def encode(predictions: list[float], accept: str) -> str:
    if accept == "application/json" and not os.environ.get("SAGEMAKER_BATCH"):
        return json.dumps({"predictions": [{"score": prediction} for prediction in predictions]})
    return serving.to_csv([prediction] for prediction in predictions)


if __name__ == "__main__":
    serving.run(train=train)
