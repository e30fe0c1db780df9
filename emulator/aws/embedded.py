"""S3, STS, CloudWatch Logs, CloudWatch and Application Auto Scaling for a machine with nothing: moto's server,
as a WSGI app mounted on the owner process's internal HTTP server, so that one copy of its state serves every front worker.

Why moto: it implements these services' wire protocols as botocore expects them (REST-XML S3 with
multipart uploads, presigned URLs and checksums; STS; JSON CloudWatch Logs with filters and paging;
CloudWatch's metrics and alarms in JSON 1.0 and the query protocol; Application Auto Scaling's targets and
policies in JSON 1.1, whose scaling activities emulator.aws.autoscaling adds),
it is well kept, and its server is a plain WSGI app. Its state lives in memory; the S3 part is mirrored to
the state folder before each change is answered (emulator.aws.durable_s3), so objects survive a restart.

moto trusts its callers to send what botocore sends. Bad input is answered here, as AWS answers it, before
moto sees it (an STS, Logs or CloudWatch call botocore's model refuses) or after moto failed on it (a body that is not
XML, an unknown upload): always a 4xx in the service's own protocol, with a request id, never a 500.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from emulator.aws import autoscaling
from emulator.aws.embedded_errors import NOT_XML, AwsError
from emulator.aws.validation import ModelViolation, validate
from emulator.seam.services import S3, SCOPE, service_of
from emulator.seam.wire_errors import REQUEST_ID, S3_REQUEST_ID, ensure_request_id, new_request_id

# The services a request may sign for to be answered here; the front forwards these to the owner.
SERVICES = frozenset({"s3", "sts", "logs", "monitoring", autoscaling.SERVICE})
# The services whose calls are JSON, named by X-Amz-Target: its prefix, and the error code of a call botocore's
# model refuses. CloudWatch ("monitoring") also takes the query protocol of older clients (no X-Amz-Target).
JSON_TARGETS = {"logs": ("Logs_20140328.", "InvalidParameterException"),
                "monitoring": ("GraniteServiceVersion20100801.", "InvalidParameterValue"),
                autoscaling.SERVICE: (autoscaling.TARGET_PREFIX, "ValidationException")}
# CloudWatch supports no ASCII control character in its names, namespaces and dimensions (its API reference), and
# the XML answer an older client asks for could not carry one (nor a lone surrogate, which JSON can spell).
NOT_IN_CLOUDWATCH = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
MODEL_NAMES = {"monitoring": "cloudwatch"}  # botocore's name of a service whose SigV4 scope says otherwise
MAX_CALL_BYTES = 1024 * 1024  # an STS, Logs or CloudWatch call is read whole to be checked; PutLogEvents allows 1 MiB

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_log = logging.getLogger(__name__)


def create_app() -> WsgiApp:
    """moto's server for S3, STS and CloudWatch Logs, answering bad input with AWS's errors.
    moto is imported at the first request (it takes a second), so an emulator that never sees one pays nothing."""
    moto_app: list[WsgiApp] = []
    lock = threading.Lock()

    def moto(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not moto_app:
            with lock:
                if not moto_app:
                    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 - heavy
                        DomainDispatcherApplication, create_backend_app)
                    moto_app.append(DomainDispatcherApplication(create_backend_app))
        return moto_app[0](environ, start_response)

    return guarded(autoscaling.answering_activities(moto))


def guarded(moto: WsgiApp) -> WsgiApp:
    """`moto` (an app of moto's answering S3, STS or Logs) behind the checks AWS makes: bad input is refused before
    it, and its failures and its 5xx become the 4xx AWS answers, with a request id."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = service_of(environ)
        request_id = new_request_id()
        refused = _refused_before(environ, service)
        if refused is None:
            answer = _Answer()
            try:
                body = moto(environ, answer.start_response)
            except Exception as exc:  # moto failed on input AWS refuses: that refusal, not a 500
                _log.debug("embedded AWS (moto) failed on %s %s", environ.get("REQUEST_METHOD"),
                           environ.get("PATH_INFO"), exc_info=True)
                refused = _refused_after(environ, service, f"{type(exc).__name__}: {exc}")
            else:
                refused = _refused_answer(environ, service, answer.status)
                if refused is None and _is_put_of(environ, service, "policy") and answer.status.startswith("200"):
                    _close(body)  # moto says "True" (and calls it XML); S3 answers 204 with no body
                    start_response("204 No Content", ensure_request_id([], S3_REQUEST_ID))
                    return []
                if refused is None:
                    headers = ensure_request_id(answer.headers, S3_REQUEST_ID if service == S3 else REQUEST_ID)
                    # These may quote the request's bytes, or (CloudWatch's lists) what an earlier call stored.
                    if service == "sts" or int(answer.status.split()[0]) >= 400 or \
                            (service == "monitoring" and not environ.get("HTTP_X_AMZ_TARGET")):
                        body, headers = _readable_xml(body, headers)
                    start_response(answer.status, headers)
                    return body
                _close(body)
        if service == "monitoring" and not environ.get("HTTP_X_AMZ_TARGET"):
            refused = replace(refused, query=True)  # an older client's call: its error in XML
        status, headers, error_body = refused.render(request_id)
        start_response(status, headers)
        return [error_body]

    return app


class _Answer:
    """moto's status and headers, held until it is known they are sent (moto's Flask sets them before returning)."""

    status, headers = "500 Internal Server Error", []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
        self.status, self.headers = status, headers
        return lambda data: None


def _readable_xml(body: Iterable[bytes], headers: list[tuple[str, str]]) -> tuple[Iterable[bytes], list[tuple[str, str]]]:
    """moto's XML answer with the characters XML 1.0 cannot hold (a key's control characters) made `?`."""
    if not any(name.lower() == "content-type" and "xml" in value for name, value in headers):
        return body, headers
    raw = b"".join(body)
    _close(body)
    text = NOT_XML.sub("?", raw.decode("utf-8", "replace")).encode()
    return [text], [(name, str(len(text)) if name.lower() == "content-length" else value) for name, value in headers]


def _close(body: Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


# -- before moto ------------------------------------------------------------------------------------------------
def _refused_before(environ: dict[str, Any], service: str) -> AwsError | None:
    if service == "monitoring" and not environ.get("HTTP_X_AMZ_TARGET"):
        return _query_refusal(environ, service)
    if service in JSON_TARGETS:
        return _json_refusal(environ, service)
    if service == "sts":
        return _query_refusal(environ, service)
    return _s3_refusal(environ)


def _s3_refusal(environ: dict[str, Any]) -> AwsError | None:
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization and not SCOPE.search(authorization):
        if authorization.startswith("AWS4-HMAC-SHA256"):
            return AwsError(S3, 400, "AuthorizationHeaderMalformed", "The authorization header is malformed; its "
                            "Credential must be <key>/<date>/<region>/s3/aws4_request.")
        if not authorization.startswith("AWS "):
            return AwsError(S3, 400, "InvalidArgument", "Unsupported Authorization Type. Fix: sign with AWS "
                            "Signature Version 4 (AWS4-HMAC-SHA256), as botocore does.")
    if _is_put_of(environ, S3, "policy"):
        return _policy_refusal(environ)
    if _is_put_of(environ, S3, "website"):
        return _website_refusal(environ)
    if environ.get("PATH_INFO", "/") == "/" and environ.get("REQUEST_METHOD") not in ("GET", "HEAD") \
            and _names_no_bucket(environ.get("HTTP_HOST", "")):
        return _method_not_allowed("SERVICE")  # no bucket in path or host: only ListBuckets (GET) is an operation
    return None


def _is_put_of(environ: dict[str, Any], service: str, subresource: str) -> bool:
    return service == S3 and environ.get("REQUEST_METHOD") == "PUT" and \
        subresource in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def _policy_refusal(environ: dict[str, Any]) -> AwsError | None:
    """PutBucketPolicy: moto stores any body; S3 refuses one that is not a JSON object."""
    raw = _read_whole(environ)
    try:
        policy = json.loads(raw or b"", parse_constant=_no_constant) if raw is not None else None
    except (ValueError, RecursionError):
        policy = None
    if not isinstance(policy, dict):
        return AwsError(S3, 400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
    return None


def _website_refusal(environ: dict[str, Any]) -> AwsError | None:
    """PutBucketWebsite: moto stores any body and gives it back to GetBucketWebsite; S3 refuses one that is not
    a WebsiteConfiguration document."""
    raw = _read_whole(environ)
    try:
        root = ElementTree.fromstring(raw) if raw else None
    except ElementTree.ParseError:
        root = None
    if root is None or root.tag.rpartition("}")[2] != "WebsiteConfiguration":
        return AwsError(S3, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                        "against our published schema")
    return None


def _names_no_bucket(host: str) -> bool:
    """A Host such as 127.0.0.1:4566 or localhost, not a virtual-hosted bucket's (bucket.s3.example)."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    return "." not in name or name.replace(".", "").isdigit() or name.startswith("[")


def _json_refusal(environ: dict[str, Any], service: str) -> AwsError | None:
    prefix, invalid = JSON_TARGETS[service]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target[len(prefix):] if target.startswith(prefix) else ""
    model = _service_model(service)
    if operation not in model.operation_names:
        return AwsError(service, 400, "UnknownOperationException",
                        f"{_title(service)} has no operation {target[:100]!r}. Fix: send X-Amz-Target: "
                        f"{prefix}<Operation>, as botocore does.")
    raw = _read_whole(environ)
    if raw is None:
        return AwsError(service, 400, "SerializationException", f"The request body is over {MAX_CALL_BYTES} bytes.")
    try:
        params = json.loads(raw or b"{}", parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return AwsError(service, 400, "SerializationException", "The request body is not a JSON object in UTF-8.")
    try:
        validate(model.operation_model(operation).input_shape, params)
    except ModelViolation as violation:
        return AwsError(service, 400, invalid, str(violation))
    return _unsupported_character(service, _strings(params))


def _query_refusal(environ: dict[str, Any], service: str) -> AwsError | None:
    """STS, and CloudWatch called as older clients call it: Action=<Operation>&Version=... in a form or the query.
    CloudWatch's calls carry lists (MetricData.member.1...): only their action is checked here, the rest by moto."""
    invalid = "ValidationError" if service == "sts" else "InvalidParameterValue"
    raw = _read_whole(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
    if raw is None:
        return AwsError(service, 400, invalid, f"The request body is over {MAX_CALL_BYTES} bytes.")
    params = {name: values[0] for name, values in
              {**parse_qs(environ.get("QUERY_STRING", "")), **parse_qs(raw.decode("utf-8", "replace"))}.items()}
    action = params.get("Action", "")
    model = _service_model(service)
    if action not in model.operation_names:
        return AwsError(service, 400, "InvalidAction", f"Could not find operation {action[:100]} for version "
                        f"{model.api_version}. Fix: send Action=<Operation>&Version={model.api_version}, as botocore does.")
    if service != "sts":
        return _unsupported_character(service, [*params, *params.values()])
    shape = model.operation_model(action).input_shape
    try:
        validate(shape, _query_members(shape, params))
    except ModelViolation as violation:
        return AwsError(service, 400, invalid, str(violation))
    return None


def _unsupported_character(service: str, strings: Iterable[str]) -> AwsError | None:
    if service == "monitoring" and any(NOT_IN_CLOUDWATCH.search(text) for text in strings):
        return AwsError(service, 400, "InvalidParameterValue", "A name, namespace or dimension of the request holds an "
                        "ASCII control character, which CloudWatch does not support. Fix: use printable characters.")
    return None


def _strings(value: Any) -> Iterable[str]:
    """Every string of a JSON value, its objects' keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, member in value.items():
            yield key
            yield from _strings(member)
    elif isinstance(value, list):
        for member in value:
            yield from _strings(member)


def _title(service: str) -> str:
    return {"logs": "CloudWatch Logs", "monitoring": "CloudWatch",
            autoscaling.SERVICE: "Application Auto Scaling"}.get(service, service.upper())


def _query_members(shape: Any, params: dict[str, str]) -> dict[str, Any]:
    """The input's scalar members as the query protocol sends them (text), typed as the model says, for validation;
    a value that is not of its type stays text, which validation refuses. Lists and structures are left to moto."""
    typed: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = params.get(name)
        if value is None or member.type_name not in ("string", "integer", "long", "boolean"):
            continue
        if member.type_name in ("integer", "long") and value.lstrip("-").isdigit() and value.isascii():
            typed[name] = int(value)
        elif member.type_name == "boolean" and value in ("true", "false"):
            typed[name] = value == "true"
        else:
            typed[name] = value
    for name in shape.required_members:
        typed.setdefault(name, params.get(name))  # a required list or structure: present or null
    return typed


def _read_whole(environ: dict[str, Any]) -> bytes | None:
    """The body (None when over MAX_CALL_BYTES), put back for moto to read again."""
    from werkzeug.wsgi import get_input_stream  # noqa: PLC0415 - werkzeug comes with moto's Flask

    raw = get_input_stream(environ, max_content_length=None).read(MAX_CALL_BYTES + 1)
    if len(raw) > MAX_CALL_BYTES:
        return None
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    return raw


@functools.lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    from botocore.session import get_session  # noqa: PLC0415

    return get_session().get_service_model(MODEL_NAMES.get(service, service))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# -- after moto -------------------------------------------------------------------------------------------------
def _refused_answer(environ: dict[str, Any], service: str, status: str) -> AwsError | None:
    """moto's answers AWS never gives: 404 with nothing for an operation moto lacks, and any 5xx."""
    code = int(status.split()[0])
    if code == 404 and service in ("sts", "logs", autoscaling.SERVICE):
        operation = environ.get("HTTP_X_AMZ_TARGET") or "this action"
        return AwsError(service, 400, "InvalidAction" if service == "sts" else "UnknownOperationException",
                        f"The emulator's {_title(service)} (moto) does not implement {operation[:100]}.")
    if code >= 500:
        return _refused_after(environ, service, status)
    return None


def _refused_after(environ: dict[str, Any], service: str, failure: str) -> AwsError:
    """What AWS answers to the request moto failed on (`failure`, its exception or status, is named in the message)."""
    said = f"The emulator's embedded {_title(service)} (moto) could not read this request ({failure[:300]})."
    if service in JSON_TARGETS:
        return AwsError(service, 400, JSON_TARGETS[service][1], said)
    if service == "sts":
        return AwsError("sts", 400, "ValidationError", said)
    if service == "monitoring":
        return AwsError(service, 400, "InvalidParameterValue", said)
    return _s3_failure(environ, said)


def _s3_failure(environ: dict[str, Any], said: str) -> AwsError:
    method, query = environ.get("REQUEST_METHOD", ""), parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    in_bucket = "/" in environ.get("PATH_INFO", "").strip("/")
    if "uploadId" in query:
        return AwsError(S3, 404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                        "or the upload may have been aborted or completed.")
    if "max-keys" in query:
        return AwsError(S3, 400, "InvalidArgument", "Provided max-keys not an integer or within integer range.")
    if "acl" in query:
        return AwsError(S3, 400, "MalformedACLError", "The XML you provided was not well-formed or did not validate "
                        f"against our published schema. {said}")
    if method == "POST" and not query:
        if in_bucket:
            return _method_not_allowed("OBJECT")
        return AwsError(S3, 400, "MalformedPOSTRequest", "The body of your POST request is not well-formed "
                        f"multipart/form-data. {said}")
    if method in ("PUT", "POST"):
        return AwsError(S3, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                        f"our published schema. {said}")
    return AwsError(S3, 400, "InvalidRequest", said)


def _method_not_allowed(resource: str) -> AwsError:
    return AwsError(S3, 405, "MethodNotAllowed", f"The specified method is not allowed against this resource "
                    f"({resource}).")
