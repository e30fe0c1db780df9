"""S3, STS and CloudWatch Logs for a machine with nothing: moto's server, as a WSGI app mounted on the
owner process's internal HTTP server, so that one copy of its state serves every front worker.

Why moto: it implements these services' wire protocols as botocore expects them (REST-XML S3 with
multipart uploads, presigned URLs and checksums; STS; JSON CloudWatch Logs with filters and paging),
it is well kept, and its server is a plain WSGI app. Its state lives in memory; the S3 part is mirrored to
the state folder before each change is answered (emulator.aws.durable_s3), so objects survive a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

# The services a request may sign for to be answered here; the front forwards these to the owner.
SERVICES = frozenset({"s3", "sts", "logs"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_log = logging.getLogger(__name__)


def create_app() -> WsgiApp:
    """moto's server for S3, STS and CloudWatch Logs; a failure inside moto answers 500 InternalError.
    moto is imported at the first request (it takes a second), so an emulator that never sees one pays nothing."""
    moto_app: list[WsgiApp] = []
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            if not moto_app:
                with lock:
                    if not moto_app:
                        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - heavy
                            DomainDispatcherApplication, create_backend_app)
                        moto_app.append(DomainDispatcherApplication(create_backend_app))
            return moto_app[0](environ, start_response)
        except Exception as exc:  # a moto bug must not take the owner's server down or print a traceback
            _log.exception("embedded AWS (moto) failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            body = (f"<Error><Code>InternalError</Code><Message>The emulator's embedded S3, STS and CloudWatch "
                    f"Logs (moto) failed on this request: {escape(str(exc))[:500]}. "
                    "Fix: retry; if it persists, point AWS_ENDPOINT_URL_S3 at another S3 such as MinIO."
                    "</Message></Error>").encode()
            start_response("500 Internal Server Error", [("Content-Type", "application/xml"),
                                                         ("Content-Length", str(len(body)))])
            return [body]

    return app
