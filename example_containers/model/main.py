"""The penguins species classifier: a scikit-learn LogisticRegression on the preprocessor's features.

`train` fits it on the headerless CSV rows `species,feature...` of the `train` channel.
`serve` reads what the preprocessor answers (CSV rows of floats, or its JSON) and names the species.
"""
import joblib
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
    return serving.create_classifier_app(
        __name__, [str(name) for name in model.classes_], model.predict_proba, model.n_features_in_)


if __name__ == "__main__":
    serving.run(train=train)
