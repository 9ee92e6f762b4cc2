"""Errors of the fault proxy, each carrying the HTTP status Toxiproxy answers with.

::

    ProxyError                      base of everything raised by harness.proxy
    +-- ApiError(message, status)   an error the HTTP API reports as {"error","status"}

The messages are Toxiproxy 2.12's, word for word, because clients match on them
(the Go client prints ``Create: HTTP 400: missing required field: name``). Errors that
Toxiproxy does not map (bind, address and resolve errors) use status 500 and Go's
error text, which :mod:`harness.proxy.netaddr` produces.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ProxyError",
    "bad_request_body",
    "internal",
    "invalid_stream",
    "invalid_toxic_type",
    "missing_field",
    "proxy_already_exists",
    "proxy_not_found",
    "toxic_already_exists",
    "toxic_not_found",
]


class ProxyError(Exception):
    """Base class of the fault proxy's errors."""


class ApiError(ProxyError):
    """An error with the HTTP status code the API replies with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        return f"ApiError({self.message!r}, {self.status})"


def bad_request_body(detail: str) -> ApiError:
    """A body that is not JSON or has a wrong type: ``bad request body: <Go error>``."""
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(field: str) -> ApiError:
    """A required field is empty: ``missing required field: name``."""
    return ApiError(f"missing required field: {field}", 400)


def internal(message: str) -> ApiError:
    """An error Toxiproxy has no status for (socket, address, resolve errors)."""
    return ApiError(message, 500)


# Fixed errors are built fresh on each use: re-raising one shared instance would keep
# growing its traceback.
def proxy_not_found() -> ApiError:
    """No proxy has the name in the path."""
    return ApiError("proxy not found", 404)


def proxy_already_exists() -> ApiError:
    """A proxy with that name exists already."""
    return ApiError("proxy already exists", 409)


def invalid_stream() -> ApiError:
    """The toxic's ``stream`` is neither upstream nor downstream (any case)."""
    return ApiError("stream was invalid, can be either upstream or downstream", 400)


def invalid_toxic_type() -> ApiError:
    """The toxic's ``type`` is unknown or missing."""
    return ApiError("invalid toxic type", 400)


def toxic_already_exists() -> ApiError:
    """A toxic of that name exists on the proxy, in either stream."""
    return ApiError("toxic already exists", 409)


def toxic_not_found() -> ApiError:
    """The proxy has no toxic of that name."""
    return ApiError("toxic not found", 404)
