"""The storage engine: one object store, served as classic storage and PG-mode storage."""

from __future__ import annotations

from pathlib import Path

from ._classic import ClassicStorage
from ._pg import PgStorage
from ._signing import Signer
from ._store import ObjectStore

__all__ = ["StorageEngine"]


class StorageEngine:
    """Storage of the local gateway; bytes and metadata persist under ``data_dir``.

    :param env: the environment id in cloud ids (``cloud://{env}.{bucket}/path``).
    :param secret: the key every URL and token is signed with (derived per purpose).
    :param bucket: the classic flow's bucket name.
    :param upload_url_lifetime: seconds a classic upload grant stays valid.
    :param download_url_lifetime: seconds a classic download URL stays valid unless
        the item asks for another ``maxAge``.
    :param signed_upload_lifetime: seconds a PG-mode signed upload URL stays valid
        (the server decides; hosted Supabase uses 2 hours, CloudBase's value is unknown).

    ``engine.classic`` and ``engine.pg`` are the two APIs; no HTTP in either.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        env: str,
        secret: bytes,
        bucket: str = "local-bucket",
        upload_url_lifetime: int = 900,
        download_url_lifetime: int = 86_400,
        signed_upload_lifetime: int = 7_200,
    ) -> None:
        self.store = ObjectStore(Path(data_dir) / "storage")
        signer = Signer(secret)
        self.classic = ClassicStorage(
            self.store,
            signer,
            env=env,
            bucket=bucket,
            upload_lifetime=upload_url_lifetime,
            download_lifetime=download_url_lifetime,
        )
        self.pg = PgStorage(self.store, signer, signed_upload_lifetime=signed_upload_lifetime)

    def __repr__(self) -> str:
        return f"<StorageEngine env={self.classic.env!r} root={str(self.store.root)!r}>"

    def reset(self) -> None:
        """Forget every object and bucket (blocking: it removes files)."""
        self.store.reset()

    def close(self) -> None:
        self.store.close()
