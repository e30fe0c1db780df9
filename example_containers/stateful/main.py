"""A stateful model, as SageMaker's stateful sessions expect one: it opens sessions, remembers each one's calls,
and closes them (a sessions mode for tests and the docs; the state lives in this one process).

SessionId NEW_SESSION         open a session: answer `X-Amzn-SageMaker-New-Session-Id: <id>; Expires=<time>`
SessionId <id>                count the call in that session (400 when this container does not hold it)
SessionId <id>, body `close`  end it: answer `X-Amzn-SageMaker-Closed-Session-Id: <id>`
STATEFUL_SESSION_SECONDS      how long a session lives (default 600)

Every answer is JSON: {"session", "calls" (in the session so far), "host" (this container's hostname)}.
"""
import json
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask, Response, request

import sagemaker_serving as serving

SESSION, NEW, CLOSED = "X-Amzn-SageMaker-Session-Id", "X-Amzn-SageMaker-New-Session-Id", "X-Amzn-SageMaker-Closed-Session-Id"


def create_app() -> Flask:
    app = Flask(__name__)
    lifetime = timedelta(seconds=float(os.environ.get("STATEFUL_SESSION_SECONDS", "600")))
    calls: dict[str, int] = {}
    lock = threading.Lock()

    @app.get("/ping")
    def ping():
        return ""

    @app.post("/invocations")
    def invocations():
        session = request.headers.get(SESSION)
        headers = {}
        with lock:
            if session == "NEW_SESSION":
                session = uuid.uuid4().hex
                calls[session] = 0
                expires = (datetime.now(timezone.utc) + lifetime).isoformat(timespec="seconds").replace("+00:00", "Z")
                headers[NEW] = f"{session}; Expires={expires}"
            elif session is not None and session not in calls:
                return serving.error_response(f"session {session} is not held by {socket.gethostname()}", 400)
            if session is not None:
                calls[session] += 1
            count = calls.get(session, 0)
            if session is not None and request.get_data() == b"close":
                del calls[session]
                headers[CLOSED] = session
        body = {"session": session, "calls": count, "host": socket.gethostname()}
        return Response(json.dumps(body) + "\n", content_type="application/json", headers=headers)

    return app


if __name__ == "__main__":
    serving.run()
