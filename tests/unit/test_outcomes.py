"""The chain's typed failures, and the one place that turns them into SageMaker's wire errors."""

from __future__ import annotations

import json

from emulator.seam.wire_errors import ValidationError, traced_failure, wire_error
from emulator.invocation.outcomes import (AnswerTooLarge, ContainerError, ContainerTimedOut, ContainerUnreachable, Hop, InvalidRequest,
                               PayloadTooLarge)

ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/e"
SEE = ("See https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:"
       "group=/aws/sagemaker/Endpoints/e in account 123456789012 for more information.")


def test_a_container_error_is_a_model_error_with_the_original_status_and_message():
    error = wire_error(ContainerError("e", "two", 415, "no csv"))
    assert (error.code, error.status) == ("ModelError", 424)
    assert error.message == f'Received client error (415) from two with message "no csv". {SEE}'
    assert json.loads(error.body()) == {"__type": "ModelError", "Message": error.message, "OriginalStatusCode": 415,
                                        "OriginalMessage": "no csv", "LogStreamArn": ARN}


def test_no_answer_is_a_server_model_error_with_status_zero():
    for failure in (ContainerTimedOut("e", "primary"), ContainerUnreachable("e", "primary", "refused")):
        error = wire_error(failure)
        assert (error.code, error.status, error.original_status) == ("ModelError", 424, 0)
        assert error.message.startswith("Received server error (0) from primary")
        assert error.original_message == failure.answer
    assert ("Your invocation timed out while waiting for a response from container primary. Review the latency "
            "metrics for each container in Amazon CloudWatch, resolve the issue, and try again.") in str(
        ContainerTimedOut("e", "primary"))


def test_model_errors_end_as_sagemakers_and_are_cut_at_the_models_2048_characters():
    for failure in (ContainerError("e", "two", 500, "boom"), ContainerTimedOut("e", "primary"),
                    ContainerUnreachable("e", "primary", "refused"), AnswerTooLarge("e", "one", 6_000_000, 5 << 20, "two")):
        assert failure.message.endswith(SEE)
    error = wire_error(ContainerError("e", "two", 500, "y" * 5000))
    assert len(error.message) == len(error.original_message) == 2048
    assert len(ValidationError("z" * 3000).to_dict()["Message"]) == 2048


def test_an_answer_too_large_between_containers_is_sagemakers_model_error():
    error = wire_error(AnswerTooLarge("e", "one", 6_000_000, 5 << 20, "two"))
    assert (error.code, error.status, error.original_status) == ("ModelError", 424, 200)
    assert error.message == ("Received response from one with status code 200. However, the request payload from one "
                             f"to two is 6000000 bytes, which has exceeded the maximum limit of 5 MB. {SEE}")


def test_invalid_requests_are_validation_errors():
    for failure in (InvalidRequest("no target"), PayloadTooLarge(51, 50)):
        error = wire_error(failure)
        assert (error.code, error.status, error.message) == ("ValidationError", 400, str(failure))


def test_the_traced_failure_keeps_the_hops_and_the_typed_reason():
    failure = ContainerError("e", "two", 500, "boom")
    failure.hops = [Hop("one", "text/csv", None, 3, status=200), Hop("two", "text/csv", None, 3, status=500)]
    traced = traced_failure(failure)
    assert traced["error"]["__type"] == "ModelError" and traced["status"] == 424
    assert [hop["status"] for hop in traced["hops"]] == [200, 500]
    assert traced["failure"] == {"kind": "container_error", "message": str(failure), "endpoint": "e",
                                 "container": "two", "status": 500, "answer": "boom"}
