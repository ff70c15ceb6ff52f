"""One storage round trip in a fresh process, so its peak RSS is its own (benchmark #8).

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
from pathlib import Path

from cloudbase_async import CloudBase


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS and return that RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _same_size(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size


async def main(url: str, src: Path, dst: Path) -> dict[str, float]:
    async with CloudBase(
        env="bench", api_key="bench-key", endpoints={"storage": url + "/v1/storages"}
    ) as cb:
        warm = await cb.storage.upload("bench/warm.bin", b"x" * 1024)
        await cb.storage.download(warm.cloud_id, dst)
        os.unlink(dst)
        rss0 = _reset_peak()
        t0 = time.perf_counter()
        up = await cb.storage.upload("bench/big.bin", src)
        t1 = time.perf_counter()
        await cb.storage.download(up.cloud_id, dst)
        t2 = time.perf_counter()
        async with cb.storage.stream(up.cloud_id) as body:
            async for _chunk in body:
                pass
        t3 = time.perf_counter()
        peak = _status("VmHWM")
    if not _same_size(src, dst):
        raise RuntimeError("downloaded size differs from the upload")
    return {
        "upload_s": t1 - t0,
        "download_s": t2 - t1,
        "stream_s": t3 - t2,
        "rss_growth": peak - rss0,
    }


if __name__ == "__main__":
    args = (sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
    if len(sys.argv) > 4 and sys.argv[4] == "trio":
        import anyio

        result = anyio.run(main, *args, backend="trio")
    else:
        result = asyncio.run(main(*args))
    print(json.dumps(result))
