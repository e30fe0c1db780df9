"""The chain's typed failures, and the one place that turns them into SageMaker's wire errors."""

from __future__ import annotations

import json

from emulator.front.wire_errors import traced_failure, wire_error
from emulator.outcomes import (ContainerError, ContainerTimedOut, ContainerUnreachable, Hop, InvalidRequest,
                               PayloadTooLarge)

ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/e"


def test_a_container_error_is_a_model_error_with_the_original_status_and_message():
    error = wire_error(ContainerError("e", "two", 415, "no csv"))
    assert (error.code, error.status) == ("ModelError", 424)
    assert error.message == f'Received client error (415) from two with message "no csv". See {ARN} for more information.'
    assert json.loads(error.body()) == {"__type": "ModelError", "Message": error.message, "OriginalStatusCode": 415,
                                        "OriginalMessage": "no csv", "LogStreamArn": ARN}


def test_no_answer_is_a_server_model_error_with_status_zero():
    for failure in (ContainerTimedOut("e", "primary"), ContainerUnreachable("e", "primary", "refused")):
        error = wire_error(failure)
        assert (error.code, error.status, error.original_status) == ("ModelError", 424, 0)
        assert error.message.startswith("Received server error (0) from primary")
        assert error.original_message == failure.answer
    assert "Your invocation timed out while waiting for a response from container primary" in str(
        ContainerTimedOut("e", "primary"))


def test_invalid_requests_are_validation_errors():
    for failure in (InvalidRequest("no target"), PayloadTooLarge(51, 50), PayloadTooLarge(51, 50, "one", "two")):
        error = wire_error(failure)
        assert (error.code, error.status, error.message) == ("ValidationError", 400, str(failure))
    assert str(PayloadTooLarge(51, 50, "one", "two")).startswith("The request payload from one to two is 51 bytes")


def test_the_traced_failure_keeps_the_hops_and_the_typed_reason():
    failure = ContainerError("e", "two", 500, "boom")
    failure.hops = [Hop("one", "text/csv", None, 3, status=200), Hop("two", "text/csv", None, 3, status=500)]
    traced = traced_failure(failure)
    assert traced["error"]["__type"] == "ModelError" and traced["status"] == 424
    assert [hop["status"] for hop in traced["hops"]] == [200, 500]
    assert traced["failure"] == {"kind": "container_error", "message": str(failure), "endpoint": "e",
                                 "container": "two", "status": 500, "answer": "boom"}
