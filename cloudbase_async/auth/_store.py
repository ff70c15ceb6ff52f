"""Where sessions and the device id are kept between calls and between runs.

A store maps string keys to JSON strings; the SDK uses ``credentials_<client_id>`` for
the session and ``device_id`` for the device id it sends as ``x-device-id`` (the same
keys the official JS SDK uses). Implement :class:`SessionStore` to keep them anywhere
(Redis, a database, a keyring); :class:`MemoryStore` is the default and
:class:`FileStore` keeps them in a JSON file across restarts.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

import anyio
import anyio.to_thread

__all__ = ["FileStore", "MemoryStore", "SessionStore"]

log = logging.getLogger("cloudbase_async")


@runtime_checkable
class SessionStore(Protocol):
    """Async key → JSON-string storage for sessions.

    Writes must be durable once ``set`` returns: refresh tokens are single-use, so the
    SDK stores the rotated one before anything uses it.
    """

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryStore:
    """Keeps everything in this process's memory (the default): gone at exit."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self._data.get(key)

    async def set(self, key: str, value: str) -> None:
        self._data[key] = value

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __repr__(self) -> str:
        return f"MemoryStore(keys={sorted(self._data)!r})"


class FileStore:
    """Keeps everything in one JSON file, readable and writable by its owner only.

    Every change rewrites the file atomically: a temporary file in the same directory
    (mode 0600 from the start, never world-readable for an instant) is written, flushed
    to disk and renamed over the old one, so a crash leaves either the old or the new
    content, never half of each. File I/O runs in a worker thread. Meant for one process
    (a CLI, a desktop tool, a worker); processes sharing a file do not see each other's
    writes until they restart.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: dict[str, str] | None = None
        self._lock = anyio.Lock()

    async def _load(self) -> dict[str, str]:
        if self._data is None:
            self._data = await anyio.to_thread.run_sync(self._read)
        return self._data

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
            data = json.loads(text) if text.strip() else {}
        except FileNotFoundError:
            return {}
        except (ValueError, RecursionError):  # not UTF-8, not JSON
            data = None
        if not isinstance(data, dict):
            # A damaged file must not stop every call: start empty (sign in again), and
            # the next write replaces it.
            log.warning(
                "ignoring the unreadable session file %s; it is replaced on the next write",
                self.path,
            )
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            # mkstemp creates the file 0600; chmod anyway in case of an unusual umask/OS.
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, ensure_ascii=False, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> str | None:
        async with self._lock:
            return (await self._load()).get(key)

    async def set(self, key: str, value: str) -> None:
        async with self._lock:
            data = dict(await self._load())
            data[key] = value
            await anyio.to_thread.run_sync(self._write, data)
            self._data = data

    async def delete(self, key: str) -> None:
        async with self._lock:
            data = dict(await self._load())
            if data.pop(key, None) is None:
                return
            await anyio.to_thread.run_sync(self._write, data)
            self._data = data

    def __repr__(self) -> str:
        return f"FileStore({str(self.path)!r})"
