"""Bytes on disk and what is known about them, for both storage flavours.

Object bytes are *blobs*: files under ``blobs/`` named by a fresh id, never changed
once written. An upload streams into ``incoming/`` (constant memory: the body is
read and written a batch at a time, off the event loop), then the finished file is
renamed into ``blobs/`` and the metadata row is switched to it in one SQLite
transaction; the blob it replaced is deleted afterwards. A reader that opened the
old blob keeps reading it (POSIX), and a failed upload leaves nothing behind.
Because blobs never change, a copy is a hard link.

Metadata (buckets, objects) lives in ``storage.sqlite3``. Objects are keyed by
``(space, bucket, name)``: the classic flow and PG-mode buckets are separate spaces.
SQLite is blocking, so every call runs in a worker thread, one at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import AsyncIterable, Callable
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import anyio
import anyio.to_thread
import attrs

__all__ = ["Blob", "BucketRecord", "Exists", "ObjectRecord", "ObjectStore", "TooLarge", "now_text"]

T = TypeVar("T")
Space = Literal["classic", "pg"]

#: Bytes gathered before each hop to the writer thread.
_WRITE_BATCH: Final = 1 << 20

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS buckets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT, public INTEGER NOT NULL,
    file_size_limit INTEGER, allowed_mime_types TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    space TEXT NOT NULL, bucket TEXT NOT NULL, name TEXT NOT NULL,
    id TEXT NOT NULL, version TEXT NOT NULL, size INTEGER NOT NULL,
    content_type TEXT NOT NULL, cache_control TEXT, etag TEXT NOT NULL,
    metadata TEXT NOT NULL, owner TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_accessed_at TEXT NOT NULL,
    PRIMARY KEY (space, bucket, name)
);
"""


def now_text() -> str:
    """Now, as the JSON APIs write times: ISO 8601, milliseconds, ``Z``."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TooLarge(Exception):
    """The body went past the size limit (the partial file is gone already)."""


@attrs.frozen
class Blob:
    """Bytes received into a file not yet published: ``path``, ``size``, md5 ``etag``."""

    path: Path
    size: int
    etag: str


@attrs.frozen
class ObjectRecord:
    space: Space
    bucket: str
    name: str
    id: str
    version: str  # the blob's file name
    size: int
    content_type: str
    cache_control: str | None
    etag: str
    metadata: dict[str, Any]
    owner: str | None
    created_at: str
    updated_at: str
    last_accessed_at: str


@attrs.frozen
class BucketRecord:
    id: str
    name: str
    owner: str | None
    public: bool
    file_size_limit: int | None
    allowed_mime_types: list[str] | None
    created_at: str
    updated_at: str


class Exists(Exception):
    """The target object exists and overwriting was not allowed."""


def _object_row(row: sqlite3.Row) -> ObjectRecord:
    values = dict(row)
    values["metadata"] = json.loads(values["metadata"])
    return ObjectRecord(**values)


def _bucket_row(row: sqlite3.Row) -> BucketRecord:
    values = dict(row)
    values["public"] = bool(values["public"])
    mime = values["allowed_mime_types"]
    values["allowed_mime_types"] = None if mime is None else json.loads(mime)
    return BucketRecord(**values)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


class ObjectStore:
    """Blobs and metadata under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        for sub in ("blobs", "incoming"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for stale in (self.root / "incoming").iterdir():  # uploads cut off by a stop
            stale.unlink(missing_ok=True)
        db = sqlite3.connect(self.root / "storage.sqlite3", check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.executescript(_SCHEMA)
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def reset(self) -> None:
        """Forget every bucket and object (blocking)."""
        with self._lock:
            self._db.close()
            shutil.rmtree(self.root, ignore_errors=True)
            self._db = self._open()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock, self._db:  # one transaction per call
                return work(self._db)

        return await anyio.to_thread.run_sync(locked)

    def blob_path(self, record: ObjectRecord) -> Path:
        return self.root / "blobs" / record.version

    # ------------------------------------------------------------------------ blobs

    async def receive(self, chunks: AsyncIterable[bytes], *, limit: int | None = None) -> Blob:
        """Write ``chunks`` to a new file; :class:`TooLarge` past ``limit`` bytes."""
        path = self.root / "incoming" / uuid.uuid4().hex
        digest = hashlib.md5(usedforsecurity=False)
        size = 0

        def write(file: Any, data: bytes) -> None:
            digest.update(data)
            file.write(data)

        async def copy_into(file: anyio.AsyncFile[bytes]) -> None:
            nonlocal size
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise TooLarge(f"more than {limit} bytes")
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= _WRITE_BATCH:
                    await anyio.to_thread.run_sync(write, file.wrapped, b"".join(pending))
                    pending.clear()
                    pending_size = 0
            if pending:
                await anyio.to_thread.run_sync(write, file.wrapped, b"".join(pending))

        try:
            async with await anyio.open_file(path, "xb") as file:
                await copy_into(file)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(path).unlink(missing_ok=True)
            raise
        return Blob(path, size, digest.hexdigest())

    async def discard(self, blob: Blob) -> None:
        await anyio.Path(blob.path).unlink(missing_ok=True)

    # ---------------------------------------------------------------------- objects

    async def get(self, space: Space, bucket: str, name: str) -> ObjectRecord | None:
        def work(db: sqlite3.Connection) -> ObjectRecord | None:
            row = db.execute(
                "SELECT * FROM objects WHERE space=? AND bucket=? AND name=?",
                (space, bucket, name),
            ).fetchone()
            return None if row is None else _object_row(row)

        return await self._run(work)

    async def publish(
        self,
        blob: Blob,
        *,
        space: Space,
        bucket: str,
        name: str,
        content_type: str,
        cache_control: str | None = None,
        metadata: dict[str, Any] | None = None,
        owner: str | None = None,
        mode: Literal["create", "replace", "upsert"] = "upsert",
    ) -> ObjectRecord:
        """Make ``blob`` the object ``name``. ``mode`` says whether it may exist already.

        Raises :class:`Exists` (``create`` on an existing object) or :class:`KeyError`
        (``replace`` on a missing one), having discarded the blob.
        """
        version = uuid.uuid4().hex
        target = self.root / "blobs" / version
        await anyio.Path(blob.path).rename(target)
        stamp = now_text()

        def work(db: sqlite3.Connection) -> tuple[ObjectRecord, ObjectRecord | None]:
            row = db.execute(
                "SELECT * FROM objects WHERE space=? AND bucket=? AND name=?",
                (space, bucket, name),
            ).fetchone()
            old = None if row is None else _object_row(row)
            if old is not None and mode == "create":
                raise Exists(name)
            if old is None and mode == "replace":
                raise KeyError(name)
            record = ObjectRecord(
                space=space,
                bucket=bucket,
                name=name,
                id=uuid.uuid4().hex if old is None else old.id,
                version=version,
                size=blob.size,
                content_type=content_type,
                cache_control=cache_control,
                etag=blob.etag,
                metadata=dict(metadata or {}),
                owner=owner if old is None or owner is not None else old.owner,
                created_at=stamp if old is None else old.created_at,
                updated_at=stamp,
                last_accessed_at=stamp,
            )
            _write_object(db, record)
            return record, old

        try:
            record, old = await self._run(work)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(target).unlink(missing_ok=True)
            raise
        if old is not None:
            await anyio.Path(self.blob_path(old)).unlink(missing_ok=True)
        return record

    async def copy(
        self,
        source: ObjectRecord,
        *,
        space: Space,
        bucket: str,
        name: str,
        overwrite: bool,
        metadata: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> ObjectRecord:
        """Copy ``source`` to ``name`` (a hard link: blobs never change)."""
        incoming = self.root / "incoming" / uuid.uuid4().hex
        await anyio.to_thread.run_sync(_link_or_copy, self.blob_path(source), incoming)
        blob = Blob(incoming, source.size, source.etag)
        return await self.publish(
            blob,
            space=space,
            bucket=bucket,
            name=name,
            content_type=source.content_type,
            cache_control=source.cache_control,
            metadata=source.metadata if metadata is None else metadata,
            owner=owner,
            mode="upsert" if overwrite else "create",
        )

    async def rename(self, source: ObjectRecord, *, bucket: str, name: str) -> ObjectRecord:
        """Move ``source`` to ``name`` in ``bucket`` (same space); :class:`Exists` if taken."""

        def work(db: sqlite3.Connection) -> ObjectRecord:
            taken = db.execute(
                "SELECT 1 FROM objects WHERE space=? AND bucket=? AND name=?",
                (source.space, bucket, name),
            ).fetchone()
            if taken is not None:
                raise Exists(name)
            moved = attrs.evolve(source, bucket=bucket, name=name, updated_at=now_text())
            changed = db.execute(
                "UPDATE objects SET bucket=?, name=?, updated_at=?"
                " WHERE space=? AND bucket=? AND name=? AND version=?",
                (
                    bucket,
                    name,
                    moved.updated_at,
                    source.space,
                    source.bucket,
                    source.name,
                    source.version,
                ),
            ).rowcount
            if not changed:
                raise KeyError(source.name)
            return moved

        return await self._run(work)

    async def delete(self, space: Space, bucket: str, names: list[str]) -> list[ObjectRecord]:
        """Delete the objects of ``names`` that exist; return what was deleted."""

        def work(db: sqlite3.Connection) -> list[ObjectRecord]:
            gone = []
            for name in dict.fromkeys(names):
                row = db.execute(
                    "DELETE FROM objects WHERE space=? AND bucket=? AND name=? RETURNING *",
                    (space, bucket, name),
                ).fetchone()
                if row is not None:
                    gone.append(_object_row(row))
            return gone

        deleted = await self._run(work)
        for record in deleted:
            await anyio.Path(self.blob_path(record)).unlink(missing_ok=True)
        return deleted

    async def with_prefix(self, space: Space, bucket: str, prefix: str) -> list[ObjectRecord]:
        """Every object of ``bucket`` whose name starts with ``prefix``, by name."""

        def work(db: sqlite3.Connection) -> list[ObjectRecord]:
            rows = db.execute(
                "SELECT * FROM objects WHERE space=? AND bucket=? AND substr(name, 1, ?) = ?"
                " ORDER BY name",
                (space, bucket, len(prefix), prefix),
            ).fetchall()
            return [_object_row(row) for row in rows]

        return await self._run(work)

    async def count(self, space: Space, bucket: str) -> int:
        def work(db: sqlite3.Connection) -> int:
            row = db.execute(
                "SELECT count(*) FROM objects WHERE space=? AND bucket=?", (space, bucket)
            ).fetchone()
            return int(row[0])

        return await self._run(work)

    # ---------------------------------------------------------------------- buckets

    async def bucket(self, bucket_id: str) -> BucketRecord | None:
        def work(db: sqlite3.Connection) -> BucketRecord | None:
            row = db.execute("SELECT * FROM buckets WHERE id=?", (bucket_id,)).fetchone()
            return None if row is None else _bucket_row(row)

        return await self._run(work)

    async def buckets(self) -> list[BucketRecord]:
        def work(db: sqlite3.Connection) -> list[BucketRecord]:
            return [_bucket_row(row) for row in db.execute("SELECT * FROM buckets ORDER BY id")]

        return await self._run(work)

    async def save_bucket(self, record: BucketRecord, *, create: bool) -> None:
        """Insert (``create``; :class:`Exists` if taken) or update a bucket."""

        def work(db: sqlite3.Connection) -> None:
            exists = db.execute("SELECT 1 FROM buckets WHERE id=?", (record.id,)).fetchone()
            if create and exists:
                raise Exists(record.id)
            if not create and not exists:
                raise KeyError(record.id)
            mime = record.allowed_mime_types
            db.execute(
                "INSERT OR REPLACE INTO buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.owner,
                    int(record.public),
                    record.file_size_limit,
                    None if mime is None else json.dumps(mime),
                    record.created_at,
                    record.updated_at,
                ),
            )

        await self._run(work)

    async def delete_bucket(self, bucket_id: str) -> Literal["deleted", "missing", "not empty"]:
        def work(db: sqlite3.Connection) -> Literal["deleted", "missing", "not empty"]:
            used = db.execute(
                "SELECT 1 FROM objects WHERE space='pg' AND bucket=? LIMIT 1", (bucket_id,)
            ).fetchone()
            if used is not None:
                return "not empty"
            gone = db.execute("DELETE FROM buckets WHERE id=?", (bucket_id,)).rowcount
            return "deleted" if gone else "missing"

        return await self._run(work)


def _write_object(db: sqlite3.Connection, record: ObjectRecord) -> None:
    db.execute(
        "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.space,
            record.bucket,
            record.name,
            record.id,
            record.version,
            record.size,
            record.content_type,
            record.cache_control,
            record.etag,
            json.dumps(record.metadata, ensure_ascii=False),
            record.owner,
            record.created_at,
            record.updated_at,
            record.last_accessed_at,
        ),
    )
