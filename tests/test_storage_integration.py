"""Storage over real HTTP: a loopback gateway handing out URLs of a real S3 store (rclone)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import os
import random
import threading
import time
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from cloudbase_async import (
    APIError,
    CloudBase,
    DeletedObject,
    ItemError,
    NotFoundError,
    PermissionDeniedError,
    StorageBatchError,
)
from tests.support.pool import checked_out
from tests.support.rclone import S3Store, rclone_s3
from tests.support.server import serve
from tests.support.storage_gateway import StorageGateway

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

MiB = 1024 * 1024
# 256 MiB by default (the size); CLOUDBASE_TEST_LARGE_MIB lowers it on slow boxes.
LARGE_MIB = int(os.environ.get("CLOUDBASE_TEST_LARGE_MIB", "256"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    with rclone_s3(tmp_path_factory.mktemp("s3")) as running:
        yield running


@pytest.fixture(scope="module")
def gateway(store: S3Store) -> StorageGateway:
    return StorageGateway(store)


@pytest.fixture(scope="module")
def gateway_url(gateway: StorageGateway) -> Iterator[str]:
    with serve(gateway) as url:
        yield url


@pytest.fixture
def tamper(gateway: StorageGateway) -> Iterator[StorageGateway]:
    yield gateway
    gateway.tamper = None


def client(url: str) -> CloudBase:
    return CloudBase(env="test-env", base_url=url, api_key="test-key", max_retries=0)


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def read_all(cb: CloudBase, cloud_id: str) -> bytes:
    async with cb.storage.stream(cloud_id, chunk_size=7) as body:
        return b"".join([chunk async for chunk in body])


async def test_every_source_kind_round_trips(gateway_url: str, tmp_path: Path) -> None:
    source_file = tmp_path / "source.bin"
    source_file.write_bytes(b"from a path " * 1000)

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"async ", b"iterable ", b"bytes"):
            yield piece

    async with client(gateway_url) as cb:
        storage = cb.storage.with_options(chunk_size=1000)
        cases = [
            ("kinds/bytes.txt", b"hello bytes", {}),
            ("kinds/path.bin", source_file, {}),
            ("kinds/file object.bin", io.BytesIO(b"from a file object"), {}),
            ("kinds/async iterable.bin", pieces(), {"size": 20}),
            ("kinds/ünïcode name ☃.txt", b"x" * 3, {}),
        ]
        for cloud_path, source, kwargs in cases:
            result = await storage.upload(cloud_path, source, **kwargs)  # type: ignore[arg-type]
            assert result.cloud_id == f"cloud://test-env.bucket/{cloud_path}"
            expected = source_file.read_bytes() if isinstance(source, Path) else None
            got = await read_all(cb, result.cloud_id)
            if expected is not None:
                assert got == expected
            assert result.size == len(got)
        assert await read_all(cb, "cloud://test-env.bucket/kinds/async iterable.bin") == (
            b"async iterable bytes"
        )
        assert checked_out(cb) == 0


async def test_leaving_a_stream_early_frees_the_connection(gateway_url: str) -> None:
    async with client(gateway_url) as cb:
        uploaded = await cb.storage.upload("early/exit.bin", b"z" * (3 * MiB))
        async with cb.storage.stream(uploaded.cloud_id, chunk_size=1024) as body:
            async for chunk in body:
                assert chunk == b"z" * 1024
                break
        assert checked_out(cb) == 0  # at once, no garbage collection needed


@contextlib.contextmanager
def left_to_the_gc(*names: str) -> Iterator[list[str]]:
    """Collects the ResourceWarnings about this SDK's async generators (trio reports
    every one that is garbage collected unfinished) and unclosed files named ``names``.

    httpx's and httpcore's own nested generators are not this SDK's to close; their
    warnings are left out.
    """
    found: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        yield found
        gc.collect()
    for warning in seen:
        text = str(warning.message)
        if issubclass(warning.category, ResourceWarning) and (
            "cloudbase_async" in text or any(name in text for name in names)
        ):
            found.append(text)


async def fail_while_reading(cb: CloudBase, cloud_id: str) -> None:
    async with cb.storage.stream(cloud_id) as body:
        async for _ in body:
            raise LookupError


async def test_leaving_a_stream_early_leaves_nothing_to_the_gc(gateway_url: str) -> None:
    async with client(gateway_url) as cb:
        uploaded = await cb.storage.upload("early/gc.bin", b"g" * (3 * MiB))
        with left_to_the_gc() as found:
            async with cb.storage.stream(uploaded.cloud_id, chunk_size=1024) as body:
                async for _ in body:
                    break
            with pytest.raises(LookupError):
                await fail_while_reading(cb, uploaded.cloud_id)
            with anyio.CancelScope() as scope:
                async with cb.storage.stream(uploaded.cloud_id) as body:
                    async for _ in body:
                        scope.cancel()
        assert found == []
        assert checked_out(cb) == 0


async def test_a_cancelled_upload_closes_its_file(gateway_url: str, tmp_path: Path) -> None:
    source = tmp_path / "cancelled-source.bin"
    source.write_bytes(b"c" * (8 * MiB))

    def cancel_after_a_mib(sent: int, total: int | None) -> None:
        if sent >= MiB:
            scope.cancel()

    async with client(gateway_url) as cb:
        storage = cb.storage.with_options(chunk_size=64 * 1024)
        with left_to_the_gc(source.name) as found:
            with anyio.CancelScope() as scope:
                await storage.upload("cancelled.bin", source, on_progress=cancel_after_a_mib)
            assert scope.cancelled_caught
        assert found == []
        assert checked_out(cb) == 0


async def test_progress_and_download_to_directory(gateway_url: str, tmp_path: Path) -> None:
    data = random.Random(1).randbytes(3 * MiB + 5)
    calls: list[tuple[int, int | None]] = []
    async with client(gateway_url) as cb:
        result = await cb.storage.upload(
            "progress/data.bin", data, on_progress=lambda s, t: calls.append((s, t))
        )
        downloaded = await cb.storage.download(result.cloud_id, tmp_path)
        assert checked_out(cb) == 0
    assert calls[0] == (0, len(data))
    assert calls[-1] == (len(data), len(data))
    assert [sent for sent, _ in calls] == sorted(sent for sent, _ in calls)
    assert downloaded.path == tmp_path / "data.bin"
    assert downloaded.path.read_bytes() == data
    assert downloaded.size == len(data)
    assert listing(tmp_path) == ["data.bin"]  # no temp file left


async def test_unsized_async_iterable_is_refused_by_the_store(gateway_url: str) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"no length"

    async with client(gateway_url) as cb:
        with pytest.raises(APIError) as caught:
            await cb.storage.upload("unsized.bin", pieces())
        assert checked_out(cb) == 0
    assert caught.value.status_code == 411
    assert caught.value.code == "MissingContentLength"
    assert "unsized.bin" in caught.value.message


@pytest.mark.parametrize("how", ["signature", "content-type"])
async def test_a_bad_signature_fails_clearly(
    gateway_url: str, tamper: StorageGateway, how: str
) -> None:
    tamper.tamper = how
    async with client(gateway_url) as cb:
        with pytest.raises(PermissionDeniedError) as caught:
            await cb.storage.upload("tampered.txt", b"payload", content_type="text/plain")
        assert checked_out(cb) == 0
    error = caught.value
    assert error.status_code == 403
    assert error.code == "SignatureDoesNotMatch"
    assert error.message.startswith("Upload of 'tampered.txt' refused: The request signature")
    assert not (tamper.store.root / "bucket" / "tampered.txt").exists()


async def test_missing_objects_and_batch_delete(gateway_url: str, tmp_path: Path) -> None:
    async with client(gateway_url) as cb:
        kept = await cb.storage.upload("del/a.txt", b"a")
        gone = "cloud://test-env.bucket/del/never-there.txt"
        with pytest.raises(NotFoundError) as caught:
            await cb.storage.download(gone, tmp_path / "x")
        assert caught.value.code == "OBJECT_NOT_EXIST"
        assert listing(tmp_path) == []

        result = await cb.storage.with_options(batch_size=1).delete([kept.cloud_id, gone])
        assert result[0] == DeletedObject(kept.cloud_id, request_id=result[0].request_id)
        failed = result[1]
        assert isinstance(failed, ItemError)
        assert (failed.key, failed.code) == (gone, "OBJECT_NOT_EXIST")
        with pytest.raises(StorageBatchError) as batch_error:
            result.raise_for_errors()
        assert batch_error.value.errors == (failed,)
        assert checked_out(cb) == 0


class RssSampler:
    """Samples this process's resident set size every few ms (Linux ``/proc``)."""

    def __init__(self) -> None:
        self.baseline = self.peak = self.current()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current() -> int:
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.current())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def _write_random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    rng = random.Random(42)
    with path.open("wb") as file:
        for _ in range(size // MiB):
            block = rng.randbytes(MiB)
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MiB):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_large_round_trip_in_constant_memory(
    gateway_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = LARGE_MIB * MiB
    source = tmp_path / "large.bin"
    source_hash = _write_random_file(source, size)
    target = tmp_path / "copy.bin"
    progress: list[int] = []

    async with client(gateway_url) as cb:
        with RssSampler() as rss:
            tracemalloc.start()
            try:
                baseline, _ = tracemalloc.get_traced_memory()
                started = time.perf_counter()
                uploaded = await cb.storage.upload(
                    "large/large.bin", source, on_progress=lambda sent, _: progress.append(sent)
                )
                upload_s = time.perf_counter() - started

                started = time.perf_counter()
                streamed = hashlib.sha256()
                async with cb.storage.stream(uploaded.cloud_id) as body:
                    async for chunk in body:
                        streamed.update(chunk)
                stream_s = time.perf_counter() - started

                started = time.perf_counter()
                await cb.storage.download(uploaded.cloud_id, target)
                download_s = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert checked_out(cb) == 0

    assert uploaded.size == size
    assert progress[-1] == size
    assert streamed.hexdigest() == source_hash
    assert _hash_file(target) == source_hash
    growth = peak - baseline
    with capsys.disabled():
        print(
            f"\n[{LARGE_MIB} MiB] upload {upload_s:.1f} s, stream {stream_s:.1f} s, "
            f"download {download_s:.1f} s; traced peak growth {growth / MiB:.1f} MiB, "
            f"peak RSS growth {rss.growth / MiB:.1f} MiB"
        )
    assert growth < 32 * MiB  # Python heap
    assert rss.growth < 32 * MiB  # the whole process, C buffers and threads included


async def test_upload_from_an_anyio_file(gateway_url: str, tmp_path: Path) -> None:
    path = tmp_path / "async-file.bin"
    path.write_bytes(b"read through anyio")
    async with client(gateway_url) as cb:
        async with await anyio.open_file(path, "rb") as file:
            result = await cb.storage.upload("async-file.bin", file, size=18)
        assert await read_all(cb, result.cloud_id) == b"read through anyio"
