"""The penguins featurizer: a scikit-learn ColumnTransformer, trained and served SageMaker's way.

`train` fits it on the raw penguins CSV (with header) of the `train` channel.
`serve` turns raw rows (the six feature columns, headerless) into rows of floats.
Every fitted step works row by row, so a row's output never depends on its batch.
"""
import json

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import sagemaker_serving as serving

NUMERIC_COLUMNS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL_COLUMNS = ["island", "sex"]
FEATURE_COLUMNS = ["island", *NUMERIC_COLUMNS, "sex"]
MISSING_VALUES = {"", "NA"}
TRANSFORMER_FILE = serving.MODEL_DIR / "preprocessor.joblib"


def train() -> None:
    frame = pd.concat(map(pd.read_csv, serving.training_files()), ignore_index=True)
    transformer = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC_COLUMNS),
            ("categorical", make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
             CATEGORICAL_COLUMNS),
        ],
        sparse_threshold=0,  # always a dense array, whatever the one-hot density
    )
    transformer.fit(frame[FEATURE_COLUMNS])
    joblib.dump(transformer, TRANSFORMER_FILE)
    print(f"saved {TRANSFORMER_FILE} ({len(frame)} rows)")


def load_transformer() -> ColumnTransformer:
    return joblib.load(TRANSFORMER_FILE)


def create_app(transformer=None):
    """The model server; `transformer` defaults to the trained one in /opt/ml/model."""
    if transformer is None:
        transformer = load_transformer()
    return serving.create_inference_app(
        __name__,
        decoders={"text/csv": decode_csv, "application/json": decode_json},
        predict=lambda frame: transformer.transform(frame).tolist(),
        encoders={"text/csv": serving.to_csv, "application/json": encode_json},
        execution_parameters=serving.MULTI_RECORD_EXECUTION_PARAMETERS,
    )


def decode_csv(body: bytes) -> pd.DataFrame:
    return feature_frame(serving.csv_rows(body))


def decode_json(body: bytes) -> pd.DataFrame:
    """Instances as lists in column order, or as objects keyed by column name."""
    return feature_frame(
        [[instance.get(column) for column in FEATURE_COLUMNS] if isinstance(instance, dict) else instance
         for instance in serving.json_instances(body)])


def encode_json(rows: list[list[float]]) -> str:
    return json.dumps({"instances": [{"features": row} for row in rows]})


def feature_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame([parse_row(row, number) for number, row in enumerate(rows, 1)], columns=FEATURE_COLUMNS)
    # Object dtype even when a column is all missing, as in training: the imputer then sees NaN as missing.
    return frame.astype({column: object for column in CATEGORICAL_COLUMNS})


def parse_row(row, number: int) -> list:
    if not isinstance(row, list) or len(row) != len(FEATURE_COLUMNS):
        raise serving.InvocationError(
            f"row {number}: expected {len(FEATURE_COLUMNS)} values ({', '.join(FEATURE_COLUMNS)}), got {row!r}")
    return [parse_value(value, column, f"row {number}, {column}") for column, value in zip(FEATURE_COLUMNS, row)]


def parse_value(value, column: str, where: str):
    if value is None or str(value).strip() in MISSING_VALUES:
        return np.nan
    if column in CATEGORICAL_COLUMNS:
        return str(value).strip()
    return serving.number(value, where)


if __name__ == "__main__":
    serving.run(train=train)
