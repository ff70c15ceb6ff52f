"""Durable state: an append-only journal of changes, replayed at start.

Every committed write appends one line per changed document (``put`` with the whole
document, or ``del`` with its id) and collection creations and drops. At start the
journal is replayed into mongomock and rewritten as a snapshot (one ``put`` per live
document), so it never grows beyond the data plus the writes of one run.

Lines are Strict EJSON, so every BSON type survives a restart. A line cut short by a
crash mid-append is the last one; it is dropped on replay.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Final, Literal, TypeAlias

import attrs

from ... import ejson
from ._values import from_store, to_store

__all__ = ["Change", "DatabaseKey", "Journal"]

log: Final = logging.getLogger("cloudbase_async.local")

#: ``(instance, database)``.
DatabaseKey: TypeAlias = tuple[str, str]


@attrs.frozen
class Change:
    """One committed change: a document written (``doc``) or removed (``doc is None``),
    or, with ``op`` ``"create"``/``"drop"``, a collection made or dropped."""

    database: DatabaseKey
    collection: str
    op: Literal["put", "del", "create", "drop"]
    doc_id: Any = None  # stored form
    doc: dict[str, Any] | None = None  # stored form

    def to_line(self) -> str:
        record: dict[str, Any] = {"op": self.op, "db": list(self.database), "c": self.collection}
        if self.op == "put":
            record["doc"] = from_store(self.doc)
        elif self.op == "del":
            record["id"] = from_store(self.doc_id)
        return ejson.dumps(record, mode="strict")

    @classmethod
    def from_line(cls, line: str) -> Change:
        record = ejson.loads(line)
        database = (str(record["db"][0]), str(record["db"][1]))
        op = record["op"]
        if op == "put":
            doc = to_store(record["doc"])
            return cls(database, record["c"], "put", doc["_id"], doc)
        if op == "del":
            return cls(database, record["c"], "del", to_store(record["id"]))
        if op in ("create", "drop"):
            return cls(database, record["c"], op)
        raise ValueError(f"unknown journal record {op!r}")


class Journal:
    """The journal file under the data directory (thread-safe appends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def replay(self) -> Iterator[Change]:
        """The recorded changes in order (blocking; used once, at start)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    yield Change.from_line(line)
                except (ValueError, KeyError, IndexError, TypeError, json.JSONDecodeError):
                    log.warning(
                        "%s: line %d is damaged; ignoring it and the rest", self.path, number
                    )
                    return

    def rewrite(self, changes: Iterable[Change]) -> None:
        """Replace the journal with ``changes`` atomically (blocking)."""
        with self._lock:
            self._close_file()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".compacting")
            with partial.open("w", encoding="utf-8") as file:
                for change in changes:
                    file.write(change.to_line() + "\n")
                file.flush()
                os.fsync(file.fileno())
            partial.replace(self.path)

    def append(self, changes: Iterable[Change]) -> None:
        """Append ``changes`` (blocking: call it from a worker thread)."""
        text = "".join(change.to_line() + "\n" for change in changes)
        if not text:
            return
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()

    def clear(self) -> None:
        with self._lock:
            self._close_file()
            self.path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
