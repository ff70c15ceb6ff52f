"""PG-mode storage: upload then download 1 GiB (64 MiB with --quick) beside the classic flow.

Both flows run against the same server, the local gateway (``LocalCloudBase``), which
serves classic storage (signed URLs to its COS-style blob routes) and PG-mode storage
(``/v1/storages/object/...``) over the same files on disk, so the difference between
them is the flow, not the server. Ours runs each flow in a fresh process (so the peak
RSS measured is its own): ``cb.storage.bucket(b).upload(path)``, ``.download(name,
to=path)`` and ``.stream(name)`` for PG, ``cb.storage.upload/download/stream`` for
classic. curl POSTs and GETs the PG routes with the same key (``curl -T`` / ``curl
-o``): the floor for this server. The server's own cost (it writes every upload to
disk) is in every figure; files live in temporary directories removed afterwards.

``python -m benchmarks.b13_storage_pg child URL KEY FLOW SRC DST`` is the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._harness import OURS, Result, median, spread
from ._runner import Context, Skip
from ._servers import ROOT
from ._storage_child import Flow, classic, round_trip, write_file

BENCH = "13 storage-pg"
CLASSIC = "classic flow (cb.storage, same gateway)"
CURL = "curl (same PG routes)"
BUCKET = "bench"


def _child(url: str, key: str, flow: str, src: Path, dst: Path) -> dict[str, float]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.b13_storage_pg",
            "child",
            url,
            key,
            flow,
            str(src),
            str(dst),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"storage-pg child ({flow}) failed: {proc.stderr[-2000:]}")
    if dst.stat().st_size != src.stat().st_size:
        raise RuntimeError(f"{flow}: downloaded size differs from the upload")
    dst.unlink()
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _curl(url: str, key: str, src: Path, dst: Path) -> dict[str, float]:
    blob = f"{url}/v1/storages/object/{BUCKET}/curl-{src.name}"
    auth = ["-H", f"Authorization: Bearer {key}"]
    t0 = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "-f", "-X", "POST", "-T", str(src), *auth, "-H", "x-upsert: true",
         "-H", "Content-Type: application/octet-stream", "-o", "/dev/null", blob],
        check=True,
    )  # fmt: skip
    t1 = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", *auth, "-o", str(dst), blob], check=True)
    t2 = time.perf_counter()
    if dst.stat().st_size != src.stat().st_size:
        raise RuntimeError("curl download size differs")
    dst.unlink()
    subprocess.run(["curl", "-sS", "-f", *auth, "-o", "/dev/null", blob], check=True)
    t3 = time.perf_counter()
    return {"upload_s": t1 - t0, "download_s": t2 - t1, "stream_s": t3 - t2}


def run(ctx: Context) -> list[Result]:
    if shutil.which("curl") is None:
        raise Skip("curl is not installed")
    try:
        from cloudbase_async.local import LocalCloudBase
    except ImportError as exc:
        raise Skip(f"the local gateway is not installed ({exc}); pip install '.[local]'") from exc
    size = ctx.n(64 << 20, 1 << 30)
    label = f"{size >> 20} MiB" if size < 1 << 30 else f"{size >> 30} GiB"
    work = Path(tempfile.mkdtemp(prefix="cb-bench-storage-pg-"))
    runs: dict[str, list[dict[str, float]]] = {OURS: [], CLASSIC: [], CURL: []}
    try:
        src, dst = work / "src.bin", work / "dst.bin"
        write_file(src, size)
        with LocalCloudBase(data_dir=work / "gateway") as local:
            url, key = local.url, local.api_key
            for r in range(ctx.n(1, 3)):
                order = [
                    (OURS, lambda: _child(url, key, "pg", src, dst)),
                    (CLASSIC, lambda: _child(url, key, "classic", src, dst)),
                    (CURL, lambda: _curl(url, key, src, dst)),
                ]
                for name, fn in order[r % 3 :] + order[: r % 3]:
                    runs[name].append(fn())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _rows(runs, size, label)


def _rows(runs: dict[str, list[dict[str, float]]], size: int, label: str) -> list[Result]:
    rows = []
    mb = size / 1e6
    steps = {
        "upload": "PG upload {} (file on disk), loopback",
        "download": "PG download {} to a file, loopback",
        "stream": "PG download {} to nowhere (ours: bucket.stream(); curl -o /dev/null)",
    }
    for step, case in steps.items():
        rates = {k: [mb / r[f"{step}_s"] for r in v] for k, v in runs.items()}
        medians = {k: median(v) for k, v in rates.items()}
        rows.append(
            Result(
                BENCH,
                case.format(label),
                "MB/s",
                "higher",
                medians,
                {k: spread(v) for k, v in rates.items()},
                "≥0.7× curl",
                medians[OURS] >= 0.7 * medians[CURL],
                "ours flushes and fsyncs the file before renaming it into place; curl does not"
                if step == "download"
                else "",
            )
        )
    growth = {k: [r["rss_growth"] / (1 << 20) for r in runs[k]] for k in (OURS, CLASSIC)}
    rows.append(
        Result(
            BENCH,
            f"peak RSS growth during upload + download of {label}",
            "MiB",
            "lower",
            {k: median(v) for k, v in growth.items()},
            {k: spread(v) for k, v in growth.items()},
            "≤64 MiB",
            median(growth[OURS]) <= 64,
            "VmHWM reset after the client is built and warmed; curl's RSS not measured",
        )
    )
    return rows


# --- the child: one round trip in a fresh process ---------------------------------------


async def _round_trip(url: str, key: str, flow: str, src: Path, dst: Path) -> dict[str, float]:
    from cloudbase_async import CloudBase, ConflictError

    async with CloudBase(env="local-dev", base_url=url, api_key=key) as cb:
        if flow != "pg":
            return await round_trip(classic(cb), src, dst)
        with contextlib.suppress(ConflictError):  # made by an earlier run
            await cb.storage.buckets.create(BUCKET)
        bucket = cb.storage.bucket(BUCKET)

        async def upload(name: str, source: Path | bytes) -> str:
            await bucket.upload(name, source, upsert=True)
            return name

        return await round_trip(Flow(upload, bucket.download, bucket.stream), src, dst)


if __name__ == "__main__":
    _, _command, _url, _key, _flow, _src, _dst = sys.argv
    print(json.dumps(asyncio.run(_round_trip(_url, _key, _flow, Path(_src), Path(_dst)))))
