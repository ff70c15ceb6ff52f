"""``FileStore``: sessions in one JSON file, shared safely by the processes of one machine.

Two files live side by side: the data file (``session.json``) and its lock file
(``session.json.lock``).

* Every change is a read-modify-write under an exclusive ``flock`` of the lock file, and
  reads the data file afresh under that lock, so writers in different processes never
  lose each other's keys. The data file is replaced atomically (a 0600 temporary file,
  flushed to disk, renamed over the old one), so readers need no lock and a crash leaves
  the old or the new content, never half of each.
* Plain reads use the content cached from the last read as long as the data file is the
  same file (inode, size and times unchanged); another process's write replaces it and
  is read on the next call.
* Leases (:class:`~cloudbase_async.auth.SharedSessionStore`) are records in the lock
  file: a random token and an expiry on the wall clock, which every process of the
  machine shares. A record that expired, or that claims more time than a lease is ever
  given (the clock was set back), counts as free. The lock file itself is never replaced
  (``flock`` locks an inode), only rewritten in place under its lock.

File I/O runs in worker threads; waiting for the lock is bounded by ``timeout``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, TypeVar

import anyio
import anyio.to_thread
import attrs

from .._core.errors import SessionStoreError
from ._lease import StoreState, new_token, positive_seconds

__all__ = ["FileStore"]

log: Final = logging.getLogger("cloudbase_async")
T = TypeVar("T")

#: A file does not forget its content by itself: its epoch never changes.
_EPOCH: Final = "file"
#: Seconds between looks while another process holds a lease.
_POLL: Final = 0.02
#: Seconds between attempts at the lock file while another process has it.
_LOCK_POLL: Final = 0.002
#: A lease outlives the holder's work by this much on top of the lock timeout.
_LEASE_SLACK: Final = 1.0


@attrs.frozen
class _Version:
    """What tells one version of the data file from another (it is replaced, not edited)."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


@attrs.frozen
class _Lease:
    token: str
    until: float  # wall clock
    span: float  # the lease's whole length, to catch a clock set back

    def live(self, now: float) -> bool:
        return now < self.until and self.until - now <= self.span


def _version(path: Path) -> _Version | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return _Version(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _parse_leases(raw: bytes, now: float) -> dict[str, _Lease]:
    """The live lease records in the lock file's content; unreadable content has none
    (it can only come from a holder that died while writing)."""
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        return {}
    leases: dict[str, _Lease] = {}
    if isinstance(data, dict):
        for key, record in data.items():
            try:
                lease = _Lease(str(record["token"]), float(record["until"]), float(record["span"]))
            except (TypeError, KeyError, ValueError):
                continue
            if lease.live(now):
                leases[str(key)] = lease
    return leases


def _dump_leases(leases: dict[str, _Lease]) -> bytes:
    return json.dumps({key: attrs.asdict(lease) for key, lease in leases.items()}).encode()


class FileStore:
    """Keeps everything in one JSON file, readable and writable by its owner only.

    Several processes of one machine may share the file (gunicorn ``-w 4``, a worker
    beside a web app): changes are serialised by an OS file lock, each process sees the
    others' writes, and the lease of the shared-store protocol lets them refresh a shared
    session once between them. It does not work across machines (use ``RedisStore``) or
    on network file systems without working ``flock``.

    :param path: the data file; its lock file is ``<path>.lock`` beside it.
    :param timeout: seconds an operation waits for another process to release the file
        lock before raising :class:`~cloudbase_async.SessionStoreError`.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout = positive_seconds(timeout, "timeout")
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._cache: tuple[_Version, dict[str, str]] | None = None
        # One task of this process at a time in the file (the cache is not thread-safe).
        self._lock = anyio.Lock()

    # -- SessionStore ----------------------------------------------------------------

    async def get(self, key: str) -> str | None:
        return (await self._run(self._load, False)).get(key)

    async def set(self, key: str, value: str) -> None:
        await self._run(self._change, key, value)

    async def delete(self, key: str) -> None:
        await self._run(self._change, key, None)

    # -- SharedSessionStore ----------------------------------------------------------

    async def snapshot(self, key: str) -> StoreState:
        return StoreState((await self._run(self._load, False)).get(key), _EPOCH)

    async def claim(self, key: str, expected: str | None, ttl: float) -> StoreState:
        return await self._run(self._claim, key, expected, ttl)

    async def commit(
        self,
        key: str,
        expected: str | None,
        value: str | None,
        lease: str | None,
        *,
        defer: bool = False,
    ) -> StoreState:
        return await self._run(self._commit, key, expected, value, lease, defer)

    async def release(self, key: str, lease: str) -> None:
        await self._run(self._release, key, lease)

    async def wait(self, key: str, expected: str | None, timeout: float) -> None:
        # Another process cannot signal this one: look again every _POLL seconds.
        with anyio.move_on_after(timeout):
            while True:
                if await self._run(self._settled, key, expected):
                    return
                await anyio.sleep(_POLL)

    # -- in the worker thread --------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        async with self._lock:
            try:
                return await anyio.to_thread.run_sync(fn, *args)
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                raise SessionStoreError(
                    f"The session file {str(self.path)!r} could not be used ({reason})."
                ) from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The lock file, open and exclusively locked (``flock``) for the block."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise SessionStoreError(
                            f"Another process held the lock of {str(self.path)!r} for "
                            f"longer than {self.timeout:g} s."
                        ) from None
                    time.sleep(_LOCK_POLL)
            yield fd
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _load(self, fresh: bool) -> dict[str, str]:
        """The data file's content: cached while the file is unchanged, unless ``fresh``."""
        version = _version(self.path)
        if version is None:
            self._cache = None
            return {}
        if not fresh and self._cache is not None and self._cache[0] == version:
            return self._cache[1]
        data = self._read()
        # Taken before the read: a file replaced in between shows as changed next time.
        self._cache = (version, data)
        return data

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
        """Replace the data file atomically; only ever called under the file lock."""
        directory = self.path.parent
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
        # Under the lock nobody else writes, so this is the version just written.
        version = _version(self.path)
        self._cache = None if version is None else (version, data)

    def _put(self, data: dict[str, str], key: str, value: str | None) -> None:
        if data.get(key) == value:
            return  # nothing changes: no write, no fsync
        changed = dict(data)
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
        self._write(changed)

    def _change(self, key: str, value: str | None) -> None:
        with self._locked():
            self._put(self._load(True), key, value)

    def _claim(self, key: str, expected: str | None, ttl: float) -> StoreState:
        with self._locked() as fd:
            value = self._load(True).get(key)
            if value != expected:
                return StoreState(value, _EPOCH)
            now = time.time()
            leases = _parse_leases(os.pread(fd, 1 << 20, 0), now)
            held = leases.get(key)
            if held is not None:
                return StoreState(value, _EPOCH, held_for=held.until - now)
            span = ttl + self.timeout + _LEASE_SLACK
            token = new_token()
            leases[key] = _Lease(token, now + span, span)
            self._save_leases(fd, leases)
            return StoreState(value, _EPOCH, lease=token)

    def _commit(
        self, key: str, expected: str | None, value: str | None, lease: str | None, defer: bool
    ) -> StoreState:
        with self._locked() as fd:
            data = self._load(True)
            current = data.get(key)
            if current != expected:
                return StoreState(current, _EPOCH)
            now = time.time()
            leases = _parse_leases(os.pread(fd, 1 << 20, 0), now)
            holder = leases.get(key)
            if defer and holder is not None and holder.token != lease:
                return StoreState(current, _EPOCH, held_for=holder.until - now)
            self._put(data, key, value)
            if holder is not None and holder.token == lease:
                del leases[key]
                self._save_leases(fd, leases)
            return StoreState(value, _EPOCH, written=True)

    def _release(self, key: str, lease: str) -> None:
        with self._locked() as fd:
            leases = _parse_leases(os.pread(fd, 1 << 20, 0), time.time())
            holder = leases.get(key)
            if holder is not None and holder.token == lease:
                del leases[key]
                self._save_leases(fd, leases)

    def _settled(self, key: str, expected: str | None) -> bool:
        """Whether ``key`` no longer holds ``expected`` or its lease is free (no lock:
        a half-written lease record reads as free, and the caller then looks again
        under the lock)."""
        if self._load(False).get(key) != expected:
            return True
        try:
            raw = self._lock_path.read_bytes()
        except FileNotFoundError:
            return True
        return key not in _parse_leases(raw, time.time())

    @staticmethod
    def _save_leases(fd: int, leases: dict[str, _Lease]) -> None:
        payload = _dump_leases(leases)
        os.ftruncate(fd, 0)
        os.pwrite(fd, payload, 0)

    def __repr__(self) -> str:
        return f"FileStore({str(self.path)!r})"
