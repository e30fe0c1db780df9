"""The penguins species classifier as a small TensorFlow network, served as SageMaker's TensorFlow Serving
container serves a SavedModel.

`train` fits a one-hidden-layer network (plain TensorFlow: variables, GradientTape; no Keras) on the headerless
CSV rows `species,feature...` of the `train` channel and exports it as a SavedModel under /opt/ml/model/1/, the
version folder SageMaker's TensorFlow containers look for. Its `serving_default` signature takes one float32
input named `features` (rows of the preprocessor's features) and answers two outputs per row: `species`, the
name, and `probabilities`, in the species' sorted order (Adelie, Chinstrap, Gentoo).

`serve` loads the newest version once per server process and answers /invocations as the AWS container does:
the request is turned into a TF Serving predict request (invocations.py), evaluated by the real SavedModel
with TF Serving's REST semantics (rest_predict.py). `/ping` is 200 once the model is loaded.
"""
import numpy as np
import tensorflow as tf
from flask import Flask, Response, request

import invocations
import rest_predict
import sagemaker_serving as serving

VERSION = "1"
HIDDEN = 16
STEPS = 400
LEARNING_RATE = 0.5

tf.config.threading.set_inter_op_parallelism_threads(1)  # tiny batches: threads would only contend
tf.config.threading.set_intra_op_parallelism_threads(1)


class PenguinsNetwork(tf.Module):
    def __init__(self, width: int, classes: list[str]):
        super().__init__()
        initial = tf.random.stateless_normal
        self.hidden = tf.Variable(initial([width, HIDDEN], seed=(0, 1)) * (2 / width) ** 0.5)
        self.hidden_bias = tf.Variable(tf.zeros([HIDDEN]))
        self.out = tf.Variable(initial([HIDDEN, len(classes)], seed=(0, 2)) * (2 / HIDDEN) ** 0.5)
        self.out_bias = tf.Variable(tf.zeros([len(classes)]))
        self.classes = tf.constant(classes)
        self.serve = tf.function(self.predict, input_signature=[tf.TensorSpec([None, width], tf.float32, "features")])

    def logits(self, features: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(features @ self.hidden + self.hidden_bias) @ self.out + self.out_bias

    def predict(self, features: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = tf.nn.softmax(self.logits(features))
        return {"species": tf.gather(self.classes, tf.argmax(probabilities, axis=1)), "probabilities": probabilities}


def train() -> None:
    rows = np.concatenate([np.loadtxt(path, delimiter=",", dtype=str, ndmin=2) for path in serving.training_files()])
    classes, labels = np.unique(rows[:, 0], return_inverse=True)
    features = tf.constant(rows[:, 1:].astype(np.float32))
    network = PenguinsNetwork(features.shape[1], classes.tolist())
    for _ in range(STEPS):  # the whole data set is one batch: plain gradient descent is enough
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, network.logits(features)))
        for variable, gradient in zip(network.trainable_variables, tape.gradient(loss, network.trainable_variables)):
            variable.assign_sub(LEARNING_RATE * gradient)
    export = serving.MODEL_DIR / VERSION
    tf.saved_model.save(network, str(export), signatures={rest_predict.DEFAULT_SIGNATURE: network.serve})
    print(f"saved {export} ({len(rows)} rows, loss {float(loss):.4f}, classes {', '.join(classes)})")


def newest_version() -> str:
    """The highest numbered folder holding a saved_model.pb, as the AWS container's serve.py picks it."""
    versions = [entry.name for entry in serving.MODEL_DIR.iterdir()
                if entry.name.isdigit() and (entry / "saved_model.pb").is_file()]
    if not versions:
        raise SystemExit(f"no SavedModel under {serving.MODEL_DIR}: "
                         f"expected {serving.MODEL_DIR}/<version>/saved_model.pb")
    return max(versions, key=int)


def create_app() -> Flask:
    """The model server, with the newest SavedModel version loaded once, here."""
    model = tf.saved_model.load(str(serving.MODEL_DIR / newest_version()))
    functions = dict(model.signatures)
    signatures = {name: {key: spec.dtype.as_numpy_dtype for key, spec in function.structured_input_signature[1].items()}
                  for name, function in functions.items()}

    def run(name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            outputs = functions[name](**{key: tf.constant(value) for key, value in inputs.items()})
        except (TypeError, ValueError, tf.errors.InvalidArgumentError) as error:
            raise rest_predict.PredictError(str(error).strip()) from None
        return {key: value.numpy() for key, value in outputs.items()}

    app = Flask(__name__)

    @app.get("/ping")
    def ping():
        return ""

    @app.post("/invocations")
    def invoke():
        try:
            body = request.get_data().decode("utf-8", "replace")
            answer = rest_predict.predict(invocations.tfs_request(body, request.headers.get("Content-Type")),
                                          signatures, run)
        except (invocations.UnsupportedMediaType, rest_predict.PredictError) as error:
            return serving.error_response(str(error), error.status)
        return Response(answer, content_type=invocations.answer_content_type(request.headers.get("Accept")))

    @app.errorhandler(404)
    def not_found(_):  # as the container's nginx answers any other path (no /execution-parameters either)
        return serving.error_response("Not Found", 404)

    return app


if __name__ == "__main__":
    serving.run(train=train)
