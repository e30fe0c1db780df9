"""IAM as the emulator treats credentials: every role exists, is trusted by sagemaker.amazonaws.com and may do
everything. The SageMaker SDK checks a role before a deploy (v3's ModelBuilder: SimulatePrincipalPolicy, then
GetRole for its trust policy; v2: GetRole for a role given by name); these calls must succeed unchanged.

Why moto's IAM, extended: it speaks IAM's query protocol as botocore expects (form-encoded requests, XML
answers, its errors) and keeps the roles, policies and users a script creates. Alone it does not fit: a role
never created is NoSuchEntity, and it has no SimulatePrincipalPolicy. So GetRole of an unknown role creates
it (trusted by SageMaker) before answering, and SimulatePrincipalPolicy allows every action asked about.

STS is moto's too, but a caller with credentials moto did not issue (the dummy ones) is the role
`sagemaker-emulator`, assumed, rather than moto's IAM user: the SDK v3 takes the caller's role when none is given.

Every other query-protocol service the emulator does not answer gets an XML error (`unanswered`), so an
AWS SDK raises its service error (a botocore ClientError) instead of failing to parse a JSON answer.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

SERVICE = "iam"
CALLER_ROLE, CALLER_SESSION = "sagemaker-emulator", "emulator"  # who the caller is: a role, assumed
QUERY_PROTOCOL = "query-protocol"  # mount name: query-protocol requests of services without a mount of their own
SERVICE_KEY = "emulator.service"  # the environ entry where the owner's server names the service it routed to
SAGEMAKER_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ANSWERED = "sagemaker, sagemaker-runtime, s3, sts, logs (CloudWatch Logs) and iam"
MAX_FORM_BYTES = 1024 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_log = logging.getLogger(__name__)


def create_app() -> WsgiApp:
    """IAM's query API: moto's, with every role existing and every action allowed."""
    return _moto_app("IAM", _iam_responses)


def create_sts_app() -> WsgiApp:
    """STS: moto's, where the caller (any credentials moto did not issue) is a role, assumed: SageMaker's SDK v3
    takes the caller's role as the execution role when none is given, and refuses an IAM user."""
    return _moto_app("STS", _sts_responses)


def _moto_app(label: str, responses_class: Callable[[], type]) -> WsgiApp:
    """A WSGI app answering with the moto responses class `responses_class()` builds. moto is imported at the
    first request, so an emulator that never sees one pays nothing."""
    responses: list[type] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.wrappers import Request  # noqa: PLC0415 - with moto, at the first request

        if not responses:
            responses.append(responses_class())
        request = Request(environ)
        try:
            status, headers, body = responses[0].dispatch(request, request.url, dict(request.headers))
        except NotImplementedError:
            action = request.values.get("Action", "")[:100]
            return _answer(start_response, 400, _error_body(
                "InvalidAction", f"The emulator does not answer {label}'s {action}. It answers every {label} call "
                "moto implements, with every role existing and allowed. Fix: leave the call out when it runs here, "
                f"or send {label} calls to AWS (AWS_ENDPOINT_URL_{label}=https://{label.lower()}.amazonaws.com)."))
        except Exception as exc:  # a moto bug must not take the owner's server down or print a traceback
            _log.exception("%s (moto) failed on %s", label, request.values.get("Action"))
            return _answer(start_response, 500, _error_body(
                "ServiceFailure", f"The emulator's {label} (moto) failed on this request: {str(exc)[:300]}. Fix: "
                "retry; if it persists, leave the call out when it runs here."))
        body = body.encode() if isinstance(body, str) else body
        headers = {name: str(value) for name, value in headers.items() if name.lower() not in ("status", "content-length")}
        return _answer(start_response, int(status), body, headers)

    return app


def unanswered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A query-protocol request (Action=...) for a service the emulator does not answer: an XML error naming it."""
    service = environ.get(SERVICE_KEY) or "this service"
    action = _action(environ)
    return _answer(start_response, 400, _error_body(
        "InvalidAction", f"The emulator does not answer {service}{f' ({action})' if action else ''}: it answers "
        f"{ANSWERED}. Fix: send {service} calls elsewhere with the service's own endpoint variable "
        "(AWS_ENDPOINT_URL_<SERVICE>, which takes precedence over AWS_ENDPOINT_URL)."))


def _iam_responses() -> type:
    from moto.iam.exceptions import NotFoundException  # noqa: PLC0415 - heavy
    from moto.iam.responses import IamResponse  # noqa: PLC0415

    class EveryRoleAllowed(IamResponse):
        def get_role(self) -> Any:
            name = self._get_param("RoleName")
            try:
                self.backend.get_role(name)
            except NotFoundException:  # a role the script never created exists the first time it is asked for
                self.backend.create_role(role_name=name, assume_role_policy_document=SAGEMAKER_TRUST, path="/",
                                         permissions_boundary=None, tags=[], max_session_duration=None,
                                         description="A role the SageMaker emulator took as existing")
            return super().get_role()

        def simulate_principal_policy(self) -> Any:
            from moto.core.responses import ActionResult  # noqa: PLC0415

            actions = self._get_param("ActionNames", [])
            resources = self._get_param("ResourceArns") or ["*"]
            return ActionResult({"IsTruncated": False, "EvaluationResults": [
                {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": "allowed",
                 "MatchedStatements": [], "MissingContextValues": []}
                for action in actions for resource in resources]})

    return EveryRoleAllowed


def _sts_responses() -> type:
    from moto.core.responses import ActionResult  # noqa: PLC0415 - heavy
    from moto.iam.models import iam_backends  # noqa: PLC0415
    from moto.sts.responses import TokenResponse  # noqa: PLC0415

    class CallerIsARole(TokenResponse):
        def get_caller_identity(self) -> Any:
            key = self.get_access_key()
            if (self.backend.get_assumed_role_from_access_key(key)
                    or iam_backends[self.current_account][self.partition].get_user_from_access_key_id(key)):
                return super().get_caller_identity()  # credentials moto issued: their own identity
            return ActionResult({"UserId": f"AROAEMULATOREXAMPLE:{CALLER_SESSION}", "Account": self.current_account,
                                 "Arn": f"arn:{self.partition}:sts::{self.current_account}:assumed-role/"
                                        f"{CALLER_ROLE}/{CALLER_SESSION}"})

    return CallerIsARole


def _action(environ: dict[str, Any]) -> str:
    """The Action of a query-protocol request, from its query string or its form body."""
    fields = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" not in fields and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        try:
            length = max(0, min(int(environ.get("CONTENT_LENGTH") or 0), MAX_FORM_BYTES))
        except ValueError:
            length = 0
        fields = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
    return fields.get("Action", [""])[0][:100]


def _error_body(code: str, message: str) -> bytes:
    """The query protocol's error document, as botocore's and every AWS SDK's query parser read it."""
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}"
            f"</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()


def _answer(start_response: Callable[..., Any], status: int, body: bytes,
            headers: dict[str, str] | None = None) -> list[bytes]:
    headers = {"Content-Type": "text/xml", **(headers or {}), "Content-Length": str(len(body))}
    start_response(f"{status} {'OK' if status < 400 else 'Error'}", list(headers.items()))
    return [body]
