"""Saving a stream to disk: atomically, with disk writes overlapping network reads.

Bytes go to a temporary file next to the target, which is flushed to disk and renamed
over the target only once complete: the target never holds a partial download, and an
error, a cancellation or an answer that is not the object (a redirect, an error status)
leaves whatever was there before untouched.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO, Final

import anyio
import anyio.to_thread

from ._bodies import ProgressCallback
from ._models import DownloadedFile
from ._stream import ObjectStream

__all__ = ["save", "target_path"]

#: Bytes gathered per hop to the writer thread, and batches that may wait for it.
_WRITE_BATCH: Final = 1 << 20
_WRITE_QUEUE: Final = 4


async def target_path(to: str | os.PathLike[str], name: str) -> Path:
    """Where a download to ``to`` lands: ``to`` itself, or ``to / name`` if it is a
    directory."""
    target = Path(to)
    if await anyio.Path(target).is_dir():
        return target / name
    return target


async def save(
    body: ObjectStream, target: Path, on_progress: ProgressCallback | None
) -> DownloadedFile:
    """Write the whole of the open stream ``body`` to ``target``, atomically."""
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        async with await anyio.open_file(partial, "xb") as file:
            await _write_while_reading(body, file.wrapped, on_progress)
            await file.flush()
            await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
        await anyio.Path(partial).replace(target)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(partial).unlink(missing_ok=True)
        raise
    return DownloadedFile(target, body.received, body.content_type, body.request_id)


async def _write_while_reading(
    body: ObjectStream, file: IO[bytes], on_progress: ProgressCallback | None
) -> None:
    """Copy ``body`` into ``file`` with disk writes overlapping network reads.

    One writer thread drains a small bounded queue of ~1 MiB batches, so memory stays
    under ``(_WRITE_QUEUE + 2) * _WRITE_BATCH`` and a slow disk slows the reader down
    instead of filling memory. An error on either side cancels the other.
    """
    send, receive = anyio.create_memory_object_stream[list[bytes]](_WRITE_QUEUE)

    async def write_all() -> None:
        async with receive:
            async for batch in receive:
                # The reads as they came, not joined: joining would copy every byte.
                await anyio.to_thread.run_sync(file.writelines, batch)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_all)
            async with send:
                pending: list[bytes] = []
                pending_size = 0
                async for chunk in body:
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if on_progress is not None:
                        on_progress(body.received, body.size)
                    if pending_size >= _WRITE_BATCH:
                        await send.send(pending)
                        pending = []
                        pending_size = 0
                if pending:
                    await send.send(pending)
    except BaseExceptionGroup as group:
        # One side failed and the other was cancelled: raise that failure itself
        # (an APIConnectionError, an OSError), not the task group's wrapper.
        if len(group.exceptions) == 1:
            raise group.exceptions[0]  # noqa: B904 (its own __cause__ is the story)
        raise
