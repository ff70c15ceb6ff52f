"""Storage round trips in a fresh process, so their peak RSS is their own (#8 and #13).

``python -m benchmarks._storage_child URL SRC DST [trio]`` uploads SRC through
``cb.storage.upload`` and downloads it back to DST through ``cb.storage.download``,
then streams it once more without writing it anywhere (``cb.storage.stream``), and
prints JSON: seconds for each step and the peak RSS growth. The peak is reset
(``/proc/self/clear_refs``) after the client is built and warmed with a tiny round trip,
so the growth is what the transfer itself needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterable, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from cloudbase_async import CloudBase


def write_file(path: Path, size: int) -> None:
    """``size`` bytes of a repeating 1 MiB pattern (not all zeros) to ``path``."""
    block = bytes(range(256)) * 4096
    with path.open("wb") as f:
        left = size
        while left:
            piece = block[: min(left, len(block))]
            f.write(piece)
            left -= len(piece)


def proc_status(field: str) -> int:
    """A ``/proc/self/status`` figure in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> int:
    """Reset VmHWM to the current RSS and return that RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return proc_status("VmRSS")


def _same_size(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size


@dataclass(frozen=True)
class Flow:
    """How one storage API uploads (``name, source -> ref``), downloads and streams."""

    upload: Callable[[str, Path | bytes], Awaitable[str]]
    download: Callable[[str, Path], Awaitable[object]]
    stream: Callable[[str], AbstractAsyncContextManager[AsyncIterable[bytes]]]


def classic(cb: CloudBase) -> Flow:
    """Classic storage: ``cb.storage``, objects under ``bench/``."""

    async def upload(name: str, source: Path | bytes) -> str:
        return (await cb.storage.upload(f"bench/{name}", source)).cloud_id

    return Flow(upload, cb.storage.download, cb.storage.stream)


async def round_trip(flow: Flow, src: Path, dst: Path) -> dict[str, float]:
    """Warm up with a tiny object, reset the peak RSS, then time an upload of ``src``,
    its download to ``dst`` and one more read of it streamed to nowhere."""
    warm = await flow.upload("warm.bin", b"x" * 1024)
    await flow.download(warm, dst)
    os.unlink(dst)
    rss0 = reset_peak()
    t0 = time.perf_counter()
    ref = await flow.upload("big.bin", src)
    t1 = time.perf_counter()
    await flow.download(ref, dst)
    t2 = time.perf_counter()
    async with flow.stream(ref) as body:
        async for _chunk in body:
            pass
    t3 = time.perf_counter()
    peak = proc_status("VmHWM")
    if not _same_size(src, dst):
        raise RuntimeError("downloaded size differs from the upload")
    return {
        "upload_s": t1 - t0,
        "download_s": t2 - t1,
        "stream_s": t3 - t2,
        "rss_growth": peak - rss0,
    }


async def main(url: str, src: Path, dst: Path) -> dict[str, float]:
    async with CloudBase(
        env="bench", api_key="bench-key", endpoints={"storage": url + "/v1/storages"}
    ) as cb:
        return await round_trip(classic(cb), src, dst)


if __name__ == "__main__":
    args = (sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
    if len(sys.argv) > 4 and sys.argv[4] == "trio":
        import anyio

        result = anyio.run(main, *args, backend="trio")
    else:
        result = asyncio.run(main(*args))
    print(json.dumps(result))
