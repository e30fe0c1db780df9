"""SessionId on the runtime's invocations, as SageMaker routes stateful sessions (emulator.seam.sessions).

NEW_SESSION goes to any copy, and the container's `X-Amzn-SageMaker-New-Session-Id` answer records the session on
that copy; a session's id goes to its copy and nowhere else; `X-Amzn-SageMaker-Closed-Session-Id` ends it.
InvokeEndpointWithResponseStream may use a session but not open one (botocore's model refuses it). The texts of the refusals are the emulator's:
SageMaker refuses these calls with a ValidationError too, in words UNCONFIRMED.
"""

from __future__ import annotations

import urllib3
from flask import Response

from emulator.invocation.outcomes import InvocationResult, StreamedResult
from emulator.invocation.request import InvocationRequest
from emulator.seam.owner import OwnerClient
from emulator.seam.serving import ServedCopy, ServedVariant, ServingTable
from emulator.seam.sessions import CLOSE_PATH, NEW_SESSION, OPEN_PATH, parse_new_session
from emulator.seam.wire_errors import ValidationError

ASK_TIMEOUT = urllib3.Timeout(connect=2.0, read=10.0)
NEW_SESSION_HEADER, CLOSED_SESSION_HEADER = "X-Amzn-SageMaker-New-Session-Id", "X-Amzn-SageMaker-Closed-Session-Id"


def copy_for(table: ServingTable, endpoint: str, variant: ServedVariant, request: InvocationRequest) -> ServedCopy | None:
    """The copy a call of a session must go to; None: any copy (no session, or one being opened; streaming's
    SessionId cannot be NEW_SESSION, its pattern in botocore's model refuses it)."""
    session_id = request.session_id
    if session_id is None or session_id == NEW_SESSION:
        return None
    session = table.session(endpoint, session_id)
    if session is None or session.expired():
        why = "it expired" if session is not None else "it is unknown to the endpoint, or was closed"
        raise ValidationError(f"Session {session_id} of endpoint {endpoint} is not open: {why}. Fix: open a new one "
                              f"with SessionId {NEW_SESSION}.")
    if session.target != _target(variant):
        raise ValidationError(f"Session {session_id} belongs to {session.target} of endpoint {endpoint}, not to "
                              f"{_target(variant)}. Fix: call {session.target} with it.")
    copy = variant.copy(session.copy) if session.copy else variant.pick()
    if copy is None:  # its copy was removed (a lower count) or is down: the session's state went with it
        raise ValidationError(f"Session {session_id} of endpoint {endpoint} is lost: its copy {session.copy} no longer "
                              f"serves. Fix: open a new one with SessionId {NEW_SESSION}.")
    return copy


def record(owner: OwnerClient, endpoint: str, variant: ServedVariant, copy: ServedCopy,
           result: InvocationResult | StreamedResult) -> None:
    """What the container said of its sessions, recorded by the owner for both workers."""
    if result.new_session_id:
        session_id, expires = parse_new_session(result.new_session_id)
        owner.ask(OPEN_PATH, {"endpoint": endpoint.lower(), "id": session_id, "target": _target(variant),
                              "copy": copy.name or "", "expires": expires}, ASK_TIMEOUT)
    if result.closed_session_id:
        owner.ask(CLOSE_PATH, {"endpoint": endpoint.lower(), "id": result.closed_session_id.strip()}, ASK_TIMEOUT)


def answer_headers(response: Response, result: InvocationResult | StreamedResult) -> None:
    """NewSessionId and ClosedSessionId, as botocore reads them."""
    if result.new_session_id:
        response.headers[NEW_SESSION_HEADER] = result.new_session_id
    if result.closed_session_id:
        response.headers[CLOSED_SESSION_HEADER] = result.closed_session_id


def _target(variant: ServedVariant) -> str:
    return variant.component or variant.name
