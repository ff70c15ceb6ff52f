"""The HTTP side of a request, read as PostgREST 12 reads it: ``Prefer``, ``Accept``,
``Range``, ``Content-Type`` and the profile headers.

Everything here is a pure function of header values, so each rule is unit-tested on
its own. Deliberate differences from PostgREST, because the CloudBase gateway (and so
the official js-sdk) differs: ``Content-Type: application/json, application/json`` and
a missing ``Content-Type`` are read as JSON.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Final, Literal, TypeAlias, cast

import attrs

from ._errors import RdbError, unsupported
from ._query import QueryParams

__all__ = [
    "Preferences",
    "body_is_json",
    "header_range",
    "negotiate",
    "parse_preferences",
    "root_range_of",
]

Count: TypeAlias = Literal["exact", "planned", "estimated"]
Resolution: TypeAlias = Literal["merge-duplicates", "ignore-duplicates"]
Representation: TypeAlias = Literal["minimal", "representation"]
Handling: TypeAlias = Literal["lenient", "strict"]


@attrs.frozen
class Preferences:
    """The ``Prefer`` values the engine acts on (unknown ones are ignored, as PostgREST
    does unless ``handling=strict``)."""

    resolution: Resolution | None = None
    missing_default: bool = False
    missing: str | None = None
    representation: Representation | None = None
    count: Count | None = None
    handling: Handling | None = None
    timezone: str | None = None

    def applied(self, *, insert: bool, write: bool) -> str | None:
        """``Preference-Applied``: what was honoured, in PostgREST's order."""
        parts = []
        if insert and self.resolution:
            parts.append(f"resolution={self.resolution}")
        if insert and self.missing:
            parts.append(f"missing={self.missing}")
        if write and self.representation:
            parts.append(f"return={self.representation}")
        if self.count:
            parts.append(f"count={self.count}")
        if self.handling:
            parts.append(f"handling={self.handling}")
        if self.timezone:
            parts.append(f"timezone={self.timezone}")
        return ", ".join(parts) or None


_KNOWN: Final[dict[str, tuple[str, ...]]] = {
    "resolution": ("merge-duplicates", "ignore-duplicates"),
    "missing": ("default", "null"),
    "return": ("minimal", "representation", "headers-only"),
    "count": ("exact", "planned", "estimated"),
    "handling": ("lenient", "strict"),
}
_UTC: Final = frozenset({"UTC", "Etc/UTC", "utc", "etc/utc", "GMT", "Etc/GMT", "Zulu"})


def parse_preferences(values: Sequence[str]) -> Preferences:
    """Read every ``Prefer`` header value; the first valid setting of each kind wins."""
    found: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            key, _, setting = item.strip().partition("=")
            key, setting = key.strip(), setting.strip()
            if key in found:
                continue
            if (key in _KNOWN and setting in _KNOWN[key]) or (key == "timezone" and setting):
                found[key] = setting
    if found.get("return") == "headers-only":
        raise unsupported("Prefer: return=headers-only")
    if found.get("handling") == "strict":
        raise unsupported("Prefer: handling=strict")
    timezone = found.get("timezone")
    if timezone is not None and timezone not in _UTC:
        raise unsupported("Prefer: timezone other than UTC (answers are in UTC)", timezone)
    # The values were checked against _KNOWN: the casts only tell mypy so.
    return Preferences(
        resolution=cast(Resolution | None, found.get("resolution")),
        missing_default=found.get("missing") == "default",
        missing=found.get("missing"),
        representation=cast(Representation | None, found.get("return")),
        count=cast(Count | None, found.get("count")),
        handling=cast(Handling | None, found.get("handling")),
        timezone=timezone,
    )


# --- media types --------------------------------------------------------------------

MediaType = Literal["json", "object"]
_ANSWERED: Final[dict[str, MediaType]] = {
    "application/json": "json",
    "*/*": "json",
    "application/vnd.pgrst.object+json": "object",
    "application/vnd.pgrst.object": "object",
}
#: Media types PostgREST answers and the engine does not.
_REFUSED: Final = frozenset(
    {
        "text/csv",
        "text/plain",
        "text/xml",
        "application/octet-stream",
        "application/geo+json",
        "application/openapi+json",
        "application/vnd.pgrst.plan",
        "application/vnd.pgrst.plan+json",
        "application/vnd.pgrst.plan+text",
        "application/vnd.pgrst.array+json",
    }
)


def negotiate(accept: str | None) -> MediaType:
    """The answer's media type for ``Accept`` (by q-value, then order)."""
    if accept is None or not accept.strip():
        return "json"
    offered: list[tuple[float, int, str, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        rest = []
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif param:
                rest.append(param)
        if quality > 0:
            offered.append((-quality, position, media.lower(), ";".join(rest)))
    for _, _, media, extra in sorted(offered):
        if media in _REFUSED:
            raise unsupported(f"the media type {media}")
        if media in _ANSWERED:
            if extra:
                raise unsupported(f"media type parameters ({media};{extra})")
            return _ANSWERED[media]
    names = ", ".join(media for _, _, media, _ in offered) or accept
    raise RdbError(415, "PGRST107", f"None of these media types are available: {names}")


def body_is_json(content_type: str | None) -> None:
    """Accept a JSON body; refuse the body types PostgREST also reads; reject the rest."""
    if content_type is None or not content_type.strip():
        return
    kinds = {part.split(";")[0].strip().lower() for part in content_type.split(",")}
    if kinds <= {"application/json", ""}:
        return
    if kinds & {"text/csv", "application/x-www-form-urlencoded", "application/octet-stream"}:
        raise unsupported(f"request bodies of type {content_type}")
    raise RdbError(400, "PGRST102", f"Content-Type not acceptable: {content_type}")


# --- Range --------------------------------------------------------------------------

_RANGE: Final = re.compile(r"^([0-9]+)-([0-9]*)$")


def header_range(headers: Mapping[str, str]) -> tuple[int, int | None] | None:
    """``Range: 0-9`` as (offset, limit); ``None`` when absent or not a range."""
    value = headers.get("range")
    if value is None:
        return None
    match = _RANGE.match(value.strip())
    if match is None:
        return None
    lower = int(match.group(1))
    if not match.group(2):
        return lower, None
    upper = int(match.group(2))
    if lower > upper:
        raise RdbError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            details=(
                "The lower boundary must be lower than or equal to the upper boundary "
                "in the Range header."
            ),
        )
    return lower, upper - lower + 1


def root_range_of(query: QueryParams, headers: Mapping[str, str]) -> tuple[int, int | None]:
    """(offset, limit) of the root: ``limit``/``offset`` intersected with ``Range``.

    A negative ``limit`` is PostgREST's 416; a negative ``offset`` is ignored.
    """
    offset, limit = 0, None
    for path, lim, off in query.limits:
        if path == ():
            offset, limit = max(off or 0, 0), lim
    if limit is not None and limit < 0:
        raise RdbError(
            416,
            "PGRST103",
            "Requested range not satisfiable",
            details="Limit should be greater than or equal to zero.",
        )
    ranged = header_range(headers)
    if ranged is None:
        return offset, limit
    low, count = ranged
    high = math.inf if count is None else low + count - 1
    mine = math.inf if limit is None else offset + limit - 1
    start, end = max(offset, low), min(high, mine)
    return start, None if end == math.inf else max(int(end) - start + 1, 0)
