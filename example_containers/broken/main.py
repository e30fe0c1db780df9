"""The preprocessor with one deliberate flaw, named by EXAMPLE_FLAW, to test how flaws get reported.

no-bind-label                 no flaw in the app: the image lacks the accept-bind-to-port label
ignores-bind-port             listens on 8080 whatever SAGEMAKER_BIND_TO_PORT says
crash-at-start                `serve` prints an error to stderr and exits 3
500-on-invoke                 /ping is healthy, /invocations answers 500
batch-dependent-preprocessor  scales numeric columns by each request batch's own mean and std
"""
import os
import sys

from flask import request

import preprocessor
import sagemaker_serving as serving

FLAWS = {"no-bind-label", "ignores-bind-port", "crash-at-start", "500-on-invoke", "batch-dependent-preprocessor"}
FLAW = os.environ.get("EXAMPLE_FLAW", "")
CRASH_EXIT_CODE = 3


def serve() -> None:
    if FLAW not in FLAWS:
        sys.exit(f"EXAMPLE_FLAW must be one of {', '.join(sorted(FLAWS))}, not {FLAW!r}")
    if FLAW == "crash-at-start":
        print("crash-at-start: failing on purpose before the model server starts", file=sys.stderr)
        sys.exit(CRASH_EXIT_CODE)
    if FLAW == "ignores-bind-port":
        os.environ.pop("SAGEMAKER_BIND_TO_PORT", None)  # so gunicorn binds its default, 8080
    serving.exec_gunicorn()


def create_app():
    transformer = preprocessor.load_transformer()
    if FLAW == "batch-dependent-preprocessor":
        transformer = BatchScaledTransformer(transformer)
    app = preprocessor.create_app(transformer)
    if FLAW == "500-on-invoke":
        @app.before_request
        def fail_invocations():
            if request.path == "/invocations":
                return serving.error_response("500-on-invoke: failing every invocation on purpose", 500)
    return app


class BatchScaledTransformer:
    """The flaw: numeric features standardized by the batch's statistics instead of the training set's.

    Re-standardizing the already scaled columns equals scaling the raw ones by the batch, and
    a single row then always comes out as zeros.
    """

    def __init__(self, fitted):
        self.fitted = fitted

    def transform(self, frame):
        features = self.fitted.transform(frame)
        numeric = features[:, :len(preprocessor.NUMERIC_COLUMNS)]  # the ColumnTransformer puts them first
        spread = numeric.std(axis=0)
        spread[spread == 0] = 1
        features[:, :len(preprocessor.NUMERIC_COLUMNS)] = (numeric - numeric.mean(axis=0)) / spread
        return features


if __name__ == "__main__":
    serving.run(serve=serve)
