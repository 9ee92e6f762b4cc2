"""The booking service's errors, one per answer a client can get besides success.

::

    BookingError                      (code: the "error" field of the JSON reply)
    +-- InvalidRequest                400  bad body, missing Idempotency-Key
    +-- NotFound                      404  unknown event, section, hold or booking
    +-- Conflict                      409  sold out, hold expired or already purchased
    +-- DatabaseUnavailable           503  acquire timeout, connection or statement failure,
                                           circuit breaker open (all with Retry-After)

The store raises them; only the HTTP layer turns them into status codes.
"""

from __future__ import annotations


class BookingError(Exception):
    """Base of every error the service answers with; ``code`` is machine-readable."""

    status = 500

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def payload(self) -> dict[str, object]:
        """The JSON body of the reply."""
        return {"error": self.code, "message": self.message, **self.details}


class InvalidRequest(BookingError):
    """The request itself is malformed."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__("bad_request", message)


class NotFound(BookingError):
    """The thing named in the path does not exist."""

    status = 404


class Conflict(BookingError):
    """The request is well-formed but the current state refuses it."""

    status = 409


class DatabaseUnavailable(BookingError):
    """The database could not serve the request in time; retrying later may succeed.

    ``reason`` says why: ``acquire_timeout`` (no pooled connection free in time),
    ``statement_timeout``, ``database_error`` (connection failed or broke) or
    ``breaker_open`` (refused at once by the circuit breaker). ``retry_after`` is the
    ``Retry-After`` header, in seconds.
    """

    status = 503

    def __init__(self, message: str, reason: str, retry_after: int = 1) -> None:
        super().__init__("database_unavailable", message, reason=reason)
        self.reason = reason
        self.retry_after = retry_after
