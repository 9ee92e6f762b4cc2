"""What happened to one request, as one word the SLIs can count.

Every request gets exactly one `Outcome`:

- ``ok``: a 1xx-3xx answer the journey accepted;
- ``expected``: a 4xx/5xx answer the journey marked as a success (409 sold_out on a hold is
  a normal answer during a concert release, not a failure of the service);
- ``client_error`` / ``server_error``: any other 4xx / 5xx answer;
- ``timeout``: no answer within the client's timeout;
- ``connection_error``: the connection was refused, reset or closed before an answer;
- ``other_error``: anything else (a malformed body the journey rejected, a parse error).

The inputs are what Locust's request event carries: the response's status code (0 when
there is no response) and the exception (None when Locust counts the request as a
success). No Locust or gevent import here: exceptions are recognised by the builtin
classes and, for gevent and geventhttpclient ones, by class name.
"""

from __future__ import annotations

import errno
from enum import Enum


class Outcome(str, Enum):
    """The closed set of request outcomes; the value is the name written to the stats."""

    OK = "ok"
    EXPECTED = "expected"
    CLIENT_ERROR = "client_error"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    OTHER_ERROR = "other_error"


FAILURES = frozenset(Outcome) - {Outcome.OK, Outcome.EXPECTED}
"""Outcomes that count against availability."""

# geventhttpclient wraps the real cause of a failed request in RetriesExceeded(original=...)
# even with max_retries=0; gevent's Timeout is not an OSError. Matched by class name so this
# module stays importable without gevent.
_TIMEOUT_NAMES = frozenset({"Timeout", "timeout"})
_CLOSED_NAMES = frozenset({"HTTPConnectionClosed", "EmptyResponse"})
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ENOTCONN,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
    }
)
_MAX_UNWRAP = 5


def classify(status: int, exception: BaseException | None) -> Outcome:
    """The outcome of one request from its status code (0: none) and Locust's verdict."""
    if exception is None:
        return Outcome.OK if status < 400 else Outcome.EXPECTED
    if status >= 500:
        return Outcome.SERVER_ERROR
    if status >= 400:
        return Outcome.CLIENT_ERROR
    return classify_exception(exception)


def classify_exception(exception: BaseException) -> Outcome:
    """`Outcome.TIMEOUT`, `Outcome.CONNECTION_ERROR` or `Outcome.OTHER_ERROR` for an error."""
    cause = _unwrap(exception)
    if isinstance(cause, TimeoutError) or _named(cause, _TIMEOUT_NAMES):
        return Outcome.TIMEOUT
    if isinstance(cause, ConnectionError) or _named(cause, _CLOSED_NAMES):
        return Outcome.CONNECTION_ERROR
    if isinstance(cause, OSError) and cause.errno in _CONNECTION_ERRNOS:
        return Outcome.CONNECTION_ERROR
    if isinstance(cause, OSError) and cause.errno == errno.ETIMEDOUT:
        return Outcome.TIMEOUT
    return Outcome.OTHER_ERROR


def _unwrap(exception: BaseException) -> BaseException:
    for _ in range(_MAX_UNWRAP):
        inner = getattr(exception, "original", None)
        if not isinstance(inner, BaseException):
            break
        exception = inner
    return exception


def _named(exception: BaseException, names: frozenset[str]) -> bool:
    return any(cls.__name__ in names for cls in type(exception).__mro__)
