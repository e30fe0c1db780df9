"""The owner process's internal HTTP server: the front's workers forward to it every request that is
not an invocation. It answers the sagemaker control plane itself, and hands requests for other
services to the WSGI app mounted for them:

    server.mount("s3", moto_app)     # requests signed for s3 (or unsigned S3-style paths) go to moto_app

It listens on 127.0.0.1 only, on a free port, in threads of this process, so one copy of the state
exists and lifecycle threads and requests share it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from typing import Any, Callable, Iterable

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wsgi import get_input_stream

from emulator.aws.iam import QUERY_PROTOCOL, SERVICE_KEY
from emulator.control.errors import InternalFailure, UnknownOperationException, ValidationException
from emulator.control.plane import ControlPlane
from emulator.seam.services import SAGEMAKER, region_of, service_of
from emulator.seam.wire_errors import JSON_1_1, REQUEST_ID, ServiceError, ensure_request_id, new_request_id

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # far above any real control-plane request
TARGET_PREFIX = "SageMaker."


class InternalServer:
    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self._mounts: dict[str, WSGIApp] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def mount(self, service: str, app: WSGIApp) -> None:
        """Answer requests for `service` (the SigV4 scope's service name, e.g. s3, sts, logs) with `app`."""
        self._mounts[service] = app

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "InternalServer":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="control-plane", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        service = service_of(environ)
        if service != SAGEMAKER:
            mount = self._mounts.get(service) or (self._mounts.get(QUERY_PROTOCOL) if _is_query(environ) else None)
            if mount is not None:
                environ[SERVICE_KEY] = service
                return mount(environ, lambda status, headers, *more: start_response(
                    status, ensure_request_id(headers), *more))
        try:
            body = self._answer(environ, service)
            status, headers = "200 OK", {"Content-Type": JSON_1_1}
        except ServiceError as error:
            body, status, headers = error.body(), f"{error.status} Error", error.headers(JSON_1_1)
        headers.update({REQUEST_ID: new_request_id(), "Content-Length": str(len(body))})
        start_response(status, list(headers.items()))
        return [body]

    def _answer(self, environ: dict, service: str) -> bytes:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service != SAGEMAKER or not target.startswith(TARGET_PREFIX):
            raise UnknownOperationException(
                f"No operation answers {environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO', '')[:200]} "
                f"(service {service!r}): the emulator answers the sagemaker control plane (X-Amz-Target: "
                f"SageMaker.<Operation>), invocations under /endpoints/, and {', '.join(sorted(self._mounts)) or 'nothing else'}.")
        name = target[len(TARGET_PREFIX):]
        request = _read_json(environ)
        try:
            return json.dumps(self.plane.call(name, request, region=region_of(environ))).encode()
        except ServiceError:
            raise
        except Exception as exc:  # a bug of ours: the caller gets a short answer, the serve output the traceback
            traceback.print_exc(file=sys.stderr)
            raise InternalFailure(f"The emulator failed on SageMaker.{name}: {type(exc).__name__}: {exc}. "
                                  "The traceback is in the output of `sagemaker-emulator serve`.") from None


def _is_query(environ: dict) -> bool:
    """A query-protocol request (IAM, SNS, EC2, ...): its clients read only XML errors."""
    return (environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
            or "Action=" in environ.get("QUERY_STRING", ""))


def _read_json(environ: dict) -> Any:
    too_large = ValidationException(f"The request body is over {MAX_REQUEST_BYTES} bytes, the most the emulator reads. "
                                    "Fix: send only the operation's members.")
    try:  # a chunked body (no Content-Length) is read as well as a declared one
        raw = get_input_stream(environ, max_content_length=MAX_REQUEST_BYTES).read(MAX_REQUEST_BYTES + 1)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_REQUEST_BYTES:
        raise too_large
    if not raw.strip():
        return {}
    try:
        request = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ValidationException(f"The request body is not valid JSON ({detail}). "
                                  "Fix: send a JSON object of the operation's members.") from None
    try:
        json.dumps(request, ensure_ascii=False).encode()
    except RecursionError:
        pass  # validation names a request nested too deeply
    except UnicodeEncodeError:
        raise ValidationException("The request body holds a lone UTF-16 surrogate (an escape such as \\ud800 not "
                                  "paired with a low surrogate), which is no Unicode character. Fix: send text as "
                                  "UTF-8, or escape a character outside the BMP as a surrogate pair.") from None
    return request


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
