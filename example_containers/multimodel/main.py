"""A multi-model container: one penguins species classifier per island, loaded and unloaded on demand.

`train` fits a decision tree per island on the penguins CSV of the `train` channel (with its header) and
writes /opt/ml/model/<island>/ (model.joblib, model.json); the build packs each folder as <island>.tar.gz.
`serve` answers SageMaker's model-management API (developer guide, mms-container-apis):

    GET  /ping
    POST /models {"model_name", "url"}   load the model in folder `url`: 409 if loaded, 507 when full
    GET  /models                         {"models": [{"modelName", "modelUrl"}]}
    GET  /models/<name>                  the model; 404 if not loaded
    DELETE /models/<name>                unload; 404 if not loaded
    POST /models/<name>/invoke           headerless CSV rows of bill length, bill depth, flipper length,
                                         body mass -> a species a line (text/csv) or JSON; 404 if not loaded

Without SAGEMAKER_MULTI_MODEL=true it serves one island's model from /opt/ml/model on POST /invocations
instead, as SageMaker's serving toolkits do in single-model mode.

Knobs (environment): MULTIMODEL_MAX_MODELS (models it holds before answering 507; default: no limit),
MULTIMODEL_LOAD_DELAY_SECONDS (each load takes this long), MULTIMODEL_FAIL_LOAD=<island> (its load answers 500).
"""
import json
import os
import threading
import time
from pathlib import Path

import joblib
import pandas as pd
from flask import Flask, Response, request
from sklearn.tree import DecisionTreeClassifier

import sagemaker_serving as serving

FEATURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def train() -> None:
    frame = pd.concat((pd.read_csv(path) for path in serving.training_files()), ignore_index=True)
    frame = frame.dropna(subset=FEATURES + ["species"])
    for island, rows in frame.groupby("island"):
        folder = serving.MODEL_DIR / island
        folder.mkdir(parents=True, exist_ok=True)
        model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(rows[FEATURES].to_numpy(dtype=float),
                                                                       rows["species"].astype(str))
        joblib.dump(model, folder / "model.joblib")
        (folder / "model.json").write_text(json.dumps({"island": island}))
        print(f"saved {folder} ({len(rows)} rows, classes {', '.join(model.classes_)})")


class Models:
    """The loaded models, by name; loads of one name are serialised, so a second load answers 409."""

    def __init__(self, capacity: int | None, load_delay: float, failing: str | None):
        self.capacity, self.load_delay, self.failing = capacity, load_delay, failing
        self.loaded: dict[str, dict] = {}
        self.lock = threading.Lock()

    def load(self, name: str, url: str) -> tuple[dict, int]:
        with self.lock:
            if name in self.loaded:
                return {"error": f"model {name} is already loaded"}, 409
            if self.capacity is not None and len(self.loaded) >= self.capacity:
                return {"error": f"no room for model {name}: {len(self.loaded)} loaded"}, 507
            try:
                model = read_model(Path(url))
            except (OSError, ValueError, KeyError) as error:
                return {"error": f"cannot load {url}: {error}"}, 400
            if model["island"] == self.failing:
                return {"error": f"loading the {model['island']} model failed (MULTIMODEL_FAIL_LOAD)"}, 500
            time.sleep(self.load_delay)
            self.loaded[name] = {"modelName": name, "modelUrl": url, **model}
            print(f"loaded {name} ({model['island']}) from {url}", flush=True)
            return {"status": f"Model {name} loaded"}, 200

    def unload(self, name: str) -> bool:
        with self.lock:
            gone = self.loaded.pop(name, None)
        if gone:
            print(f"unloaded {name} ({gone['island']})", flush=True)
        return gone is not None


def read_model(folder: Path) -> dict:
    return {"island": json.loads((folder / "model.json").read_text())["island"],
            "estimator": joblib.load(folder / "model.joblib")}


def describe(model: dict) -> dict:
    return {"modelName": model["modelName"], "modelUrl": model["modelUrl"]}


def create_app(models: Models | None = None) -> Flask:
    capacity = os.environ.get("MULTIMODEL_MAX_MODELS")
    models = models or Models(int(capacity) if capacity else None,
                              float(os.environ.get("MULTIMODEL_LOAD_DELAY_SECONDS", "0")),
                              os.environ.get("MULTIMODEL_FAIL_LOAD"))
    app = Flask(__name__)
    single = None if os.environ.get("SAGEMAKER_MULTI_MODEL") == "true" else read_model(serving.MODEL_DIR)

    def not_loaded(name: str) -> Response:
        return serving.error_response(f"model {name} is not loaded", 404)

    @app.get("/ping")
    def ping():
        return ""

    @app.post("/models")
    def load():
        asked = request.get_json(force=True, silent=True)
        if not isinstance(asked, dict) or not isinstance(asked.get("model_name"), str) or not isinstance(asked.get("url"), str):
            return serving.error_response('expected {"model_name": ..., "url": ...}', 400)
        answer, status = models.load(asked["model_name"], asked["url"])
        return answer, status

    @app.get("/models")
    def listing():
        return {"models": [describe(model) for model in list(models.loaded.values())]}

    @app.get("/models/<name>")
    def one(name: str):
        model = models.loaded.get(name)
        return [describe(model)] if model else not_loaded(name)

    @app.delete("/models/<name>")
    def unload(name: str):
        return {"status": f"Model {name} unloaded"} if models.unload(name) else not_loaded(name)

    @app.post("/models/<name>/invoke")
    def invoke(name: str):
        model = models.loaded.get(name)
        return predict(model) if model else not_loaded(name)

    @app.post("/invocations")
    def invocations():
        if single is None:
            return serving.error_response("this container serves several models: POST /models/<name>/invoke", 404)
        return predict(single)

    def predict(model: dict):
        if serving.base_type(request.content_type) != "text/csv":
            raise serving.UnsupportedContentType(f"unsupported content type {request.content_type!r}; supported: text/csv")
        accept = serving.choose_accept(request.headers.get("Accept"), ["text/csv", "application/json"])
        rows = [[serving.number(value, f"row {number}, feature {index}") for index, value in enumerate(row, 1)]
                for number, row in enumerate(serving.csv_rows(request.get_data()), 1)]
        if not rows or any(len(row) != len(FEATURES) for row in rows):
            raise serving.InvocationError(f"expected rows of {len(FEATURES)} numbers: {', '.join(FEATURES)}")
        species = [str(value) for value in model["estimator"].predict(rows)]
        if accept == "text/csv":
            return Response(serving.to_csv([s] for s in species), **serving.content_type_of("text/csv"))
        return {"island": model["island"], "predictions": species}

    @app.errorhandler(serving.InvocationError)
    def refuse(error: serving.InvocationError):
        return serving.error_response(str(error), error.status)

    return app


if __name__ == "__main__":
    serving.run(train=train)
