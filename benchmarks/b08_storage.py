"""Storage: upload then download 1 GiB (64 MiB with --quick); throughput and peak RSS growth.

Ours runs ``cb.storage.upload(path)`` and ``cb.storage.download(cloud_id, to=path)`` in
a fresh process (so the peak RSS measured is its own), under asyncio and again under
trio; curl PUTs and GETs the same object URLs the gateway hands out (``curl -T`` /
``curl -o``). The server process
discards uploads and streams downloads from memory, so the disk and the clients are
what is measured. Files live in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ._harness import OURS, Result, Stopwatch, median, spread
from ._runner import Context, Skip
from ._servers import ROOT
from ._storage_child import write_file

BENCH = "8 storage"
CURL = "curl (same URLs)"
RAW = "raw httpx aiter_raw() (floor; to a file: blocking writes, no fsync)"
TRIO = "cloudbase_async under trio (httpx's own transport)"


def _ours(url: str, src: Path, dst: Path, backend: str = "asyncio") -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._storage_child", url, str(src), str(dst), backend],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"storage child failed: {proc.stderr[-2000:]}")
    dst.unlink()
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _curl(url: str, src: Path, dst: Path) -> dict[str, float]:
    blob = f"{url}/_blob/curl-{src.name}"
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-T", str(src), blob], check=True, capture_output=True)
    t1 = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", str(dst), blob], check=True)
    t2 = time.perf_counter()
    if dst.stat().st_size != src.stat().st_size:
        raise RuntimeError("curl download size differs")
    dst.unlink()
    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", blob], check=True)
    t3 = time.perf_counter()
    return {"upload_s": t1 - t0, "download_s": t2 - t1, "stream_s": t3 - t2}


def _pop_size(path: Path) -> int:
    """The file's size; the file is deleted."""
    size = path.stat().st_size
    path.unlink()
    return size


async def _raw(url: str, src: Path, dst: Path, size: int) -> dict[str, float]:
    """The floor: raw httpx passing on its network reads, dropped or written as they come.

    To a file it writes each read with a plain blocking ``write()`` on the event loop
    (what a short script does; nothing else runs meanwhile) and neither flushes to disk
    nor renames: the least a Python download can do.
    """
    blob = f"{url}/_blob/curl-{src.name}"  # uploaded by curl just before
    async with httpx.AsyncClient() as client:
        with Stopwatch() as to_nowhere:
            received = 0
            async with client.stream("GET", blob) as response:
                async for chunk in response.aiter_raw():
                    received += len(chunk)
        with Stopwatch() as to_file:
            async with client.stream("GET", blob) as response:
                with open(dst, "wb") as f:  # noqa: ASYNC230 - the point of this floor
                    async for chunk in response.aiter_raw():
                        f.write(chunk)
    if received != size or _pop_size(dst) != size:
        raise RuntimeError("raw httpx read a different size")
    return {"stream_s": to_nowhere.elapsed, "download_s": to_file.elapsed}


def _target(step: str, medians: dict[str, float]) -> tuple[str, bool]:
    """Downloads to a file aim at the raw-httpx floor (issue 19); the rest at 0.7× curl."""
    if step == "download":
        return "≥ the raw-httpx floor", medians[OURS] >= medians[RAW]
    return "≥0.7× curl", medians[OURS] >= 0.7 * medians[CURL]


def run(ctx: Context) -> list[Result]:
    if shutil.which("curl") is None:
        raise Skip("curl is not installed")
    size = ctx.n(64 << 20, 1 << 30)
    label = f"{size >> 20} MiB" if size < 1 << 30 else f"{size >> 30} GiB"
    work = Path(tempfile.mkdtemp(prefix="cb-bench-storage-"))
    try:
        src, dst = work / "src.bin", work / "dst.bin"
        write_file(src, size)
        runs: dict[str, list[dict[str, float]]] = {OURS: [], CURL: [], RAW: [], TRIO: []}
        with ctx.server() as server:
            for r in range(ctx.n(1, 3)):
                order = [(OURS, _ours), (CURL, _curl)]
                for name, fn in order if r % 2 == 0 else order[::-1]:
                    runs[name].append(fn(server.url, src, dst))
                runs[RAW].append(asyncio.run(_raw(server.url, src, dst, size)))
                runs[TRIO].append(_ours(server.url, src, dst, "trio"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = []
    mb = size / 1e6
    steps = {
        "upload": "upload {} (file on disk), loopback",
        "download": "download {} to a file, loopback",
        "stream": "download {} to nowhere (ours: storage.stream(); curl -o /dev/null)",
    }
    for step, case in steps.items():
        rates = {
            k: [mb / r[f"{step}_s"] for r in v] for k, v in runs.items() if f"{step}_s" in v[0]
        }
        medians = {k: median(v) for k, v in rates.items()}
        rows.append(
            Result(
                BENCH,
                case.format(label),
                "MB/s",
                "higher",
                medians,
                {k: spread(v) for k, v in rates.items()},
                *_target(step, medians),
                "ours flushes and fsyncs the file before renaming it into place; curl does not"
                if step == "download"
                else "",
            )
        )
    growth = [r["rss_growth"] / (1 << 20) for r in runs[OURS]]
    rows.append(
        Result(
            BENCH,
            f"peak RSS growth during upload + download of {label}",
            "MiB",
            "lower",
            {OURS: median(growth)},
            {OURS: spread(growth)},
            "≤64 MiB",
            median(growth) <= 64,
            "VmHWM reset after the client is built and warmed; curl's RSS not measured",
        )
    )
    return rows
