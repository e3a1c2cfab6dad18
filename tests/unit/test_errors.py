from __future__ import annotations

import pytest

from ionstack import errors


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (errors.BadRequest(), 400, "Bad Request"),
        (errors.Unauthorized(), 401, "Unauthorized Error"),
        (errors.Forbidden(), 403, "Forbidden"),
        (errors.NotFound(), 404, "Not Found Error"),
        (errors.PayloadTooLarge(), 413, "Request Entity Too Large"),
        (errors.TooManyRequests(), 429, "Too Many Requests"),
        (errors.IonstackError(), 500, "Internal Server Error"),
    ],
    ids=["400", "401", "403", "404", "413", "429", "500"],
)
def test_every_error_renders_the_spec_body(
    exc: errors.IonstackError, status: int, error: str
) -> None:
    body = exc.body()
    assert body["statusCode"] == status
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert "validation" not in body


def test_spec_messages_for_401_404_500() -> None:
    assert errors.Unauthorized().message == errors.UNAUTHORIZED_MESSAGE
    assert errors.NotFound().message == errors.NOT_FOUND_MESSAGE
    assert errors.IonstackError().message == errors.INTERNAL_MESSAGE


def test_validation_block_names_source_and_keys() -> None:
    body = errors.BadRequest('"shots" must be positive', keys=["shots"], source="payload").body()
    assert body["validation"] == {"source": "payload", "keys": ["shots"]}


def test_job_failure_carries_the_failure_object() -> None:
    failure = errors.JobFailure("InvalidInput", "input.circuit[0].target: out of range")
    assert failure.failure() == {
        "code": "InvalidInput",
        "message": "input.circuit[0].target: out of range",
    }
