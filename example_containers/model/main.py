"""The penguins species classifier: a scikit-learn LogisticRegression on the preprocessor's features.

`train` fits it on the headerless CSV rows `species,feature...` of the `train` channel.
`serve` reads what the preprocessor answers (CSV rows of floats, or its JSON) and names the species.
"""
import json

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import sagemaker_serving as serving

MODEL_FILE = serving.MODEL_DIR / "model.joblib"


def train() -> None:
    frame = pd.concat((pd.read_csv(path, header=None) for path in serving.training_files()), ignore_index=True)
    model = LogisticRegression(max_iter=1000)  # the lbfgs solver: same data, same model
    model.fit(frame.iloc[:, 1:].to_numpy(dtype=float), frame.iloc[:, 0].astype(str))
    joblib.dump(model, MODEL_FILE)
    print(f"saved {MODEL_FILE} ({len(frame)} rows, classes {', '.join(model.classes_)})")


def create_app(model=None):
    """The model server; `model` defaults to the trained one in /opt/ml/model."""
    if model is None:
        model = joblib.load(MODEL_FILE)
    species = [str(name) for name in model.classes_]

    def predict(rows: list) -> list[dict]:
        features = np.array([parse_row(row, number, model.n_features_in_) for number, row in enumerate(rows, 1)])
        return [
            {"species": species[np.argmax(row)], "probabilities": dict(zip(species, row.tolist()))}
            for row in model.predict_proba(features)
        ]

    return serving.create_inference_app(
        __name__,
        decoders={"text/csv": serving.csv_rows, "application/json": decode_json},
        predict=predict,
        encoders={"text/csv": encode_csv, "application/json": encode_json},
        execution_parameters=serving.MULTI_RECORD_EXECUTION_PARAMETERS,
    )


def decode_json(body: bytes) -> list:
    """The preprocessor's `{"instances": [{"features": [...]}, ...]}`; bare lists of floats too."""
    return [instance.get("features") if isinstance(instance, dict) else instance
            for instance in serving.json_instances(body)]


def parse_row(row, number: int, width: int) -> list[float]:
    if not isinstance(row, list) or len(row) != width:
        raise serving.InvocationError(f"row {number}: expected {width} features, got {row!r}")
    return [serving.number(value, f"row {number}, feature {index}") for index, value in enumerate(row, 1)]


def encode_csv(predictions: list[dict]) -> str:
    return serving.to_csv([prediction["species"]] for prediction in predictions)


def encode_json(predictions: list[dict]) -> str:
    return json.dumps({"predictions": predictions})


if __name__ == "__main__":
    serving.run(train=train)
