"""The serial and direct chain, and SageMaker's header rules, against tiny in-process HTTP servers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulator.invocation.chain import BATCH_LIMITS, REALTIME_LIMITS, CallPolicy, Chain, PayloadLimits, Route
from emulator.invocation.content_types import base_type, charset_warning, hop_headers
from emulator.seam.wire_errors import wire_error
from emulator.invocation.outcomes import AnswerTooLarge, InvocationFailed
from emulator.invocation.request import InvocationRequest


class FakeContainer(BaseHTTPRequestHandler):
    """Answers /invocations with what it received, as JSON, and a fixed status and content type."""
    status = 200
    content_type = "application/json"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = {"name": self.server.name, "content_type": self.headers.get("Content-Type"),
                "accept": self.headers.get("Accept"), "body": body.decode()}
        answer = json.dumps(seen).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", self.server.content_type)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def containers():
    servers = []

    def start(name: str, status: int = 200, content_type: str = "application/json") -> Route:
        server = ThreadingHTTPServer(("127.0.0.1", 0), FakeContainer)
        server.name, server.status, server.content_type = name, status, content_type
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Route(name, f"http://127.0.0.1:{server.server_address[1]}")

    yield start
    for server in servers:
        server.shutdown()


def test_hop_headers_give_accept_only_to_the_last():
    forwarded = InvocationRequest(custom_attributes="a", inference_id="i").forwarded()
    first = hop_headers(0, 3, "text/csv", "application/json", forwarded)
    last = hop_headers(2, 3, "text/csv", "application/json", InvocationRequest().forwarded())
    assert "Accept" not in first and first["X-Amzn-SageMaker-Custom-Attributes"] == "a"
    assert last == {"Content-Type": "text/csv", "Accept": "application/json"}


def test_charset_warning_only_for_parameters():
    assert charset_warning("text/csv", "a", "b") is None
    assert "b receives it verbatim" in charset_warning("text/csv; charset=utf-8", "a", "b")
    assert base_type("Text/CSV; charset=utf-8") == "text/csv"


def test_serial_chain_passes_each_response_on(containers):
    chain = Chain("e", [containers("one", content_type="text/csv; charset=utf-8"), containers("two")])
    result = chain.invoke(InvocationRequest.of(b"raw", content_type="text/plain", accept="application/json"))
    last = json.loads(result.body)
    assert last["name"] == "two" and last["accept"] == "application/json"
    assert last["content_type"] == "text/csv; charset=utf-8"  # verbatim, parameters included
    assert json.loads(last["body"]) == {"name": "one", "content_type": "text/plain", "accept": None, "body": "raw"}
    assert [hop.container for hop in result.hops] == ["one", "two"]
    assert result.hops[1].warning and result.hops[0].bytes_in == 3


def test_a_failing_second_container_is_a_model_error_naming_it(containers):
    chain = Chain("e", [containers("one"), containers("two", status=415)])
    with pytest.raises(InvocationFailed) as caught:
        chain.invoke(InvocationRequest.of(b"x", content_type="text/plain"))
    error = wire_error(caught.value)
    assert (error.code, error.status, error.original_status) == ("ModelError", 424, 415)
    assert error.message.startswith("Received client error (415) from two with message")
    assert [hop.status for hop in caught.value.hops] == [200, 415]


def test_single_container_is_called_primary(containers):
    with pytest.raises(InvocationFailed) as caught:
        Chain("e", [containers("primary", status=503)]).invoke(InvocationRequest.of(b"x"))
    assert wire_error(caught.value).message.startswith("Received server error (503) from primary")


def test_unreachable_container_fails_at_once_with_its_name():
    with pytest.raises(InvocationFailed) as caught:
        Chain("e", [Route("gone", "http://127.0.0.1:9")]).invoke(InvocationRequest.of(b"x"))
    assert wire_error(caught.value).original_status == 0 and "Container primary is not reachable" in wire_error(caught.value).message


def test_direct_mode_routes_by_hostname_and_validates(containers):
    chain = Chain("e", [containers("a"), containers("b")], "Direct")
    assert json.loads(chain.invoke(InvocationRequest.of(b"x", target_container_hostname="b")).body)["name"] == "b"
    for target, words in ((None, "must set TargetContainerHostname"), ("c", "not found")):
        with pytest.raises(InvocationFailed, match=words) as caught:
            chain.invoke(InvocationRequest.of(b"x", target_container_hostname=target))
        assert wire_error(caught.value).code == "ValidationError"


def test_payload_limits_request_between_containers_and_response(containers):
    chain = Chain("e", [containers("one"), containers("two")])
    policy = CallPolicy(limits=PayloadLimits(request=50, between=45, response=None))
    with pytest.raises(InvocationFailed, match="exceeds the maximum of 50 bytes") as caught:
        chain.invoke(InvocationRequest.of(b"x" * 51), policy=policy)
    assert wire_error(caught.value).code == "ValidationError"
    # one answers its JSON view of the request (over 45 bytes) to two: SageMaker's ModelError
    with pytest.raises(AnswerTooLarge) as caught:
        chain.invoke(InvocationRequest.of(b"x"), policy=policy)
    error = wire_error(caught.value)
    assert (error.code, error.status, error.original_status) == ("ModelError", 424, 200)
    assert error.message.startswith("Received response from one with status code 200. However, the request payload "
                                    "from one to two is ")
    assert "which has exceeded the maximum limit of 45 bytes. See https://" in error.message
    # the last container's answer to the caller
    chain = Chain("e", [containers("one"), containers("two")])
    policy = CallPolicy(limits=PayloadLimits(request=None, between=None, response=60))
    with pytest.raises(AnswerTooLarge, match="However, the response payload from two is .* bytes"):
        chain.invoke(InvocationRequest.of(b"x"), policy=policy)


def test_realtime_limits_are_sagemakers():
    assert (REALTIME_LIMITS.request, REALTIME_LIMITS.between, REALTIME_LIMITS.response) == (6_291_456, 5 << 20, 6_291_456)
    assert BATCH_LIMITS == PayloadLimits(None, None, None)
