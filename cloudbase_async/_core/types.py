"""Type aliases and the one sentinel shared by every layer."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Final, TypeAlias

import httpx

__all__ = ["UNSET", "Content", "ParamValue", "QueryParams", "Timeout", "Unset"]

#: A per-call timeout: seconds, an ``httpx.Timeout``, or ``None`` for the client's.
Timeout: TypeAlias = float | httpx.Timeout | None
#: One query-string value (``None`` sends the key with an empty value).
ParamValue: TypeAlias = str | int | float | bool | None
QueryParams: TypeAlias = Mapping[str, ParamValue] | list[tuple[str, ParamValue]] | None
#: A raw request body: bytes, or an async iterable streamed as it is produced.
Content: TypeAlias = bytes | AsyncIterable[bytes] | None


class Unset:
    """The type of :data:`UNSET`: "not given", where ``None`` is a real value (JSON null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"  # one instance, also after a copy or a pickle round trip


UNSET: Final = Unset()
