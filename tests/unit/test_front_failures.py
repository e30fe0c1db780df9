"""A failure inside the front itself is SageMaker's InternalFailure (500), never an unknown operation."""

from __future__ import annotations

from emulator.front.app import create_app
from emulator.seam.worker_settings import WorkerSettings


def test_an_unexpected_failure_in_the_front_is_internal_failure(tmp_path):
    broken = tmp_path / "state.db"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    app = create_app(WorkerSettings(str(broken), "http://127.0.0.1:9"))
    response = app.test_client().post("/endpoints/anything/invocations", data=b"x")
    assert response.status_code == 500
    assert response.headers["x-amzn-ErrorType"] == "InternalFailure"
    assert response.json["__type"] == "InternalFailure" and "bug in sagemaker-emulator" in response.json["Message"]


def test_an_unknown_route_stays_an_unknown_operation(tmp_path):
    app = create_app(WorkerSettings(str(tmp_path / "state.db"), "http://127.0.0.1:9"))
    response = app.test_client().get("/endpoints/anything/invocations")
    assert response.status_code == 405 and response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
