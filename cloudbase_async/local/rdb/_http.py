"""The sans-HTTP request and response of the engine, and helpers shared by handlers."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .._identity import Caller
from ._errors import RdbError

__all__ = ["JSON", "OBJECT", "RdbRequest", "RdbResponse", "error_response"]

JSON = "application/json; charset=utf-8"
OBJECT = "application/vnd.pgrst.object+json; charset=utf-8"


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {key.lower(): value for key, value in headers.items()}


@attrs.frozen
class RdbRequest:
    """One request to ``/v1/rdb/rest``.

    ``path`` is what follows ``/v1/rdb/rest`` (``/people``, ``/rpc/fn``), still
    percent-encoded; ``query`` the raw query string; ``headers`` lower-cased names (a
    header sent several times joined with ``", "``); ``caller`` who is asking (by
    default nobody: the anonymous role, the least privilege).
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    body: bytes = b""
    caller: Caller = attrs.field(factory=lambda: Caller("anon"))


@attrs.frozen
class RdbResponse:
    """An answer: status, headers (a name may repeat) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def error_response(error: RdbError, extra: tuple[tuple[str, str], ...] = ()) -> RdbResponse:
    return RdbResponse(error.status, (*extra, ("content-type", JSON), *error.headers), error.body())
