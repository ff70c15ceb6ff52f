"""Batch calls: every answer item paired with the item it answers.

The gateway's storage calls take a JSON array of items and answer an array of as many,
in order, where each answer is a success or an error of its own (``{code, message}``,
the one rule of :func:`~cloudbase_async._core.codec.body_error`). :func:`pair` matches
them up; a :class:`BatchResult` keeps the outcomes in input order, failed items as
:class:`ItemError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

import attrs

from .._core.codec import body_error
from .._core.errors import (
    APIConnectionError,
    APIError,
    CloudBaseError,
    ResponseValidationError,
    make_api_error,
)
from .._core.redact import redact
from .._core.responses import Response
from ._models import structure_item, wire

__all__ = [
    "BatchResult",
    "ItemError",
    "Parse",
    "StorageBatchError",
    "failed",
    "in_chunks",
    "pair",
    "unwrap",
]

T = TypeVar("T")

#: Builds a success from one answer item and the response it came in.
Parse: TypeAlias = Callable[[Mapping[str, Any], Response], T]


@attrs.frozen
class ItemError:
    """One item of a batch call that failed.

    ``key`` is what the item was about (the cloud id or path you passed). ``code`` and
    ``message`` come from the item's ``{code, message}``; when the whole request for the
    item's chunk failed instead, ``exception`` holds that error.
    """

    key: str
    code: str | None = attrs.field(metadata=wire("code"))
    message: str = attrs.field(metadata=wire("message"))
    request_id: str | None = attrs.field(metadata=wire("requestId"))
    exception: CloudBaseError | None = attrs.field(default=None, repr=False)
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False)

    def to_exception(self) -> CloudBaseError:
        """The error to raise for this item (``OBJECT_NOT_EXIST`` → ``NotFoundError``...)."""
        if self.exception is not None:
            return self.exception
        return make_api_error(
            200,
            {"code": self.code, "message": f"{self.key}: {self.message}"},
            request_id=self.request_id,
        )


class StorageBatchError(CloudBaseError):
    """Raised by :meth:`BatchResult.raise_for_errors` when some items failed.

    ``errors`` are the failed items; ``result`` the whole :class:`BatchResult`.
    """

    def __init__(self, result: BatchResult[Any]) -> None:
        self.result = result
        self.errors: tuple[ItemError, ...] = tuple(result.failed)
        shown = "; ".join(f"{e.key!r}: {e.code or 'ERROR'} {e.message}" for e in self.errors[:3])
        more = f"; and {len(self.errors) - 3} more" if len(self.errors) > 3 else ""
        super().__init__(f"{len(self.errors)} of {len(result)} items failed: {shown}{more}")


@attrs.frozen
class BatchResult(Generic[T]):
    """Per-item outcomes of a batch call, in the order the items were given."""

    items: tuple[T | ItemError, ...]

    def __iter__(self) -> Iterator[T | ItemError]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T | ItemError:
        return self.items[index]

    @property
    def succeeded(self) -> list[T]:
        return [item for item in self.items if not isinstance(item, ItemError)]

    @property
    def failed(self) -> list[ItemError]:
        return [item for item in self.items if isinstance(item, ItemError)]

    @property
    def ok(self) -> bool:
        return not any(isinstance(item, ItemError) for item in self.items)

    def raise_for_errors(self) -> list[T]:
        """Every item's result, or :class:`StorageBatchError` if any item failed."""
        if not self.ok:
            raise StorageBatchError(self)
        return self.succeeded


def pair(
    body: object,
    response: Response,
    keys: Sequence[str],
    parse: Parse[T],
    *,
    secret: Collection[str] = (),
) -> list[T | ItemError]:
    """Each of ``keys`` with its answer item in ``body``: parsed, or an :class:`ItemError`.

    :raises ResponseValidationError: ``body`` is not a list of as many JSON objects.
        Values under the ``secret`` keys are left out of the error's ``body``.
    """
    if (
        not isinstance(body, list)
        or len(body) != len(keys)
        or not all(isinstance(item, Mapping) for item in body)
    ):
        count = f"{len(body)} items" if isinstance(body, list) else type(body).__name__
        raise ResponseValidationError(
            f"Storage answered {count} for {len(keys)} items; expected a list of as many objects.",
            status_code=response.status_code,
            request_id=response.request_id,
            body=_hidden(body, secret) if secret else body,
        )
    return [
        parse(item, response)
        if (error := body_error(response.status_code, item, None)) is None
        # The item's own requestId wins (body_error read it), else the call's.
        else item_error(key, item, error, response)
        for key, item in zip(keys, body, strict=True)
    ]


def item_error(key: str, item: Mapping[str, Any], error: APIError, response: Response) -> ItemError:
    """The :class:`ItemError` for ``key`` whose answer ``item`` reads as ``error``."""
    return structure_item(
        ItemError,
        item,
        response,
        key=key,
        code=error.code,
        message=error.message,
        request_id=error.request_id or response.request_id,
    )


def _hidden(body: object, secret: Collection[str]) -> object:
    """``body`` with the values under ``secret`` keys replaced, in it or in its items."""
    if isinstance(body, Mapping):
        return {k: redact(str(v)) if k in secret else v for k, v in body.items()}
    if isinstance(body, list):
        return [_hidden(item, secret) for item in body]
    return body


def failed(key: str, exc: APIError | APIConnectionError) -> ItemError:
    """``key``'s outcome when the request for its chunk failed as a whole."""
    code = exc.code if isinstance(exc, APIError) else type(exc).__name__
    message = exc.message if isinstance(exc, APIError) else str(exc)
    return ItemError(key=key, code=code, message=message, request_id=exc.request_id, exception=exc)


#: Sends the items of one chunk (``keys[part]``) and returns their outcomes in order.
SendChunk: TypeAlias = Callable[[slice], Awaitable[list[T | ItemError]]]


async def in_chunks(keys: Sequence[str], size: int, send: SendChunk[T]) -> BatchResult[T]:
    """The outcomes for ``keys``, sent ``size`` at a time through ``send``.

    A request that fails as a whole (an error status, a broken connection, an answer
    of the wrong shape) raises when nothing has been done yet. Once an earlier chunk
    went through, the failure is recorded on the remaining items instead (and no more
    chunks are sent), so the outcome of the done ones is kept.
    """
    results: list[T | ItemError] = []
    for start in range(0, len(keys), size):
        try:
            results.extend(await send(slice(start, start + size)))
        except (APIError, APIConnectionError) as exc:
            if start == 0:
                raise
            results.extend(failed(key, exc) for key in keys[start:])
            break
    return BatchResult(tuple(results))


def unwrap(outcome: T | ItemError) -> T:
    """A single item's success, or its error raised."""
    if isinstance(outcome, ItemError):
        raise outcome.to_exception()
    return outcome
