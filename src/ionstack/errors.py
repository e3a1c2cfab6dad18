"""The one exception root of ionstack and its families.

Every error the service raises on purpose is an :class:`IonstackError`. The HTTP layer has one
handler for the root that renders the spec's error body
``{"statusCode", "error", "message", "validation": {"source", "keys"}}``; domain modules never
import the web framework. The class docstring is the default message (procrastinate's habit).

:class:`JobFailure` is different: it is not an HTTP error but the reason a created job ends in
``failed`` with ``failure: {code, message}`` (semantics.md §5.4). The quantum core raises it for
circuits that are well-formed JSON but not runnable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

ValidationSource = Literal["payload", "query", "params", "headers"]

NOT_FOUND_MESSAGE = (
    "Resource not found. See https://docs.ionq.com/ for details, or email support@ionq.co for help."
)
UNAUTHORIZED_MESSAGE = (
    "Invalid key provided. See https://docs.ionq.com/#authentication for details, "
    "or email support@ionq.co for help."
)
INTERNAL_MESSAGE = "Internal service outage. Visit https://status.ionq.co/ to track this incident."


class IonstackError(Exception):
    """Internal service outage. Visit https://status.ionq.co/ to track this incident."""

    status_code: ClassVar[int] = 500
    error: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        message: str | None = None,
        *,
        keys: Sequence[str] = (),
        source: ValidationSource | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or (self.__doc__ or self.error).strip()
        self.keys = list(keys)
        self.source = source
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        """The spec's error body for this error."""
        out: dict[str, object] = {
            "statusCode": self.status_code,
            "error": self.error,
            "message": self.message,
        }
        if self.source is not None or self.keys:
            out["validation"] = {"source": self.source or "payload", "keys": self.keys}
        return out


class BadRequest(IonstackError):
    """The request is invalid."""

    status_code = 400
    error = "Bad Request"


class Unauthorized(IonstackError):
    """Invalid key provided. See https://docs.ionq.com/#authentication for details, or email support@ionq.co for help."""  # noqa: E501

    status_code = 401
    error = "Unauthorized Error"


class Forbidden(IonstackError):
    """The API key does not grant access to this resource."""

    status_code = 403
    error = "Forbidden"


class NotFound(IonstackError):
    """Resource not found. See https://docs.ionq.com/ for details, or email support@ionq.co for help."""  # noqa: E501

    status_code = 404
    error = "Not Found Error"


class MethodNotAllowed(IonstackError):
    """Method not allowed."""

    status_code = 405
    error = "Method Not Allowed"


class Conflict(IonstackError):
    """The request conflicts with the current state of the resource."""

    status_code = 409
    error = "Conflict"


class PayloadTooLarge(IonstackError):
    """Request body exceeds the maximum size of 10 MB."""

    status_code = 413
    error = "Request Entity Too Large"


class TooManyRequests(IonstackError):
    """Rate limit exceeded. Retry after the number of seconds in the Retry-After header."""

    status_code = 429
    error = "Too Many Requests"


class ServiceUnavailable(IonstackError):
    """The service is not ready yet."""

    status_code = 503
    error = "Service Unavailable"


class ConfigurationError(IonstackError):
    """The server configuration is invalid."""


FailureCode = Literal[
    "InvalidInput",
    "PreflightError",
    "UnsupportedGate",
    "NotEnoughQubits",
    "TooManyShots",
    "TooManyGates",
    "TooManyControls",
    "TooLongPredictedExecutionTime",
    "QuantumCircuitComplexityError",
    "CompilationError",
    "OptimizationError",
    "SimulationError",
    "SimulationTimeout",
    "QuantumComputerError",
    "DebiasingError",
    "QuotaExhaustedError",
    "ContractExpiredError",
    "UnknownBillingError",
    "SystemCancel",
    "InternalError",
]


class JobFailure(IonstackError):
    """The job could not be run."""

    status_code = 400
    error = "Bad Request"

    def __init__(self, code: FailureCode, message: str, *, key: str | None = None) -> None:
        super().__init__(message, keys=[key] if key else (), source="payload" if key else None)
        self.code: FailureCode = code
        self.key = key

    def failure(self) -> dict[str, str]:
        """The job's ``failure`` object (semantics.md §5.4)."""
        return {"code": self.code, "message": self.message}
