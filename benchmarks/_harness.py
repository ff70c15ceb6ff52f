"""Timing, results and the Markdown table: what every benchmark shares.

A benchmark produces :class:`Result` rows: one measured case (``"POST JSON, loopback"``)
with one median per client, the first client being ours. Ratios are always
``ours / that client`` of the medians, whichever direction is better; ``better`` says
which direction that is so the table can say whether a target was met.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

T = TypeVar("T")

OURS = "cloudbase_async"


@dataclass(frozen=True)
class Result:
    bench: str  # "1 overhead"
    case: str  # what was measured, including size and transport
    unit: str  # "µs/request", "chunks/s", "ms", "KiB/stream"...
    better: Literal["lower", "higher"]
    medians: dict[str, float]  # client -> median; ours first
    spreads: dict[str, tuple[float, float]] = field(default_factory=dict)  # min, max
    target: str = ""  # the target, in words
    met: bool | None = None  # None: nothing to judge (information only)
    note: str = ""

    def ratio(self, client: str) -> float | None:
        ours, theirs = self.medians.get(OURS), self.medians.get(client)
        if ours is None or theirs is None or theirs == 0 or math.isinf(theirs):
            return None
        return ours / theirs


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> tuple[float, float]:
    return (min(values), max(values))


def rotate(items: Sequence[T], k: int) -> list[T]:
    """``items`` starting at index ``k``: each repeat runs the clients in another order,
    so drift in the machine's load (it is shared) does not favour whoever goes first."""
    k %= len(items)
    return [*items[k:], *items[:k]]


async def interleaved(
    runners: dict[str, Callable[[], Awaitable[float]]],
    *,
    repeats: int,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Run each client's timed function ``repeats`` times, alternating clients.

    A runner returns its own figure (seconds for a batch, chunks/s...), so it can keep
    set-up out of the timing. Warm-up rounds run first and are discarded. The GC is
    collected between samples and left enabled during them (it is part of real cost).
    """
    names = list(runners)
    for _ in range(warmup):
        for name in names:
            await runners[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in rotate(names, r):
            gc.collect()
            samples[name].append(await runners[name]())
    return samples


def summarize(
    samples: dict[str, list[float]],
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    return (
        {name: median(v) for name, v in samples.items()},
        {name: spread(v) for name, v in samples.items()},
    )


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.elapsed`` in seconds (perf_counter)."""

    __slots__ = ("elapsed", "started")

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.started


# ---------------------------------------------------------------------------- the table


def _fmt(value: float) -> str:
    if value != value:  # NaN: not measured
        return "—"
    if math.isinf(value):
        return "∞"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _verdict(result: Result) -> str:
    if result.met is None:
        return "info"
    return "**met**" if result.met else "**missed**"


def markdown_table(results: Sequence[Result]) -> str:
    """One row per (case, client): the median, the min–max, and ours/this client."""
    lines = [
        "| # | Case | Client | Median | Min–max | Ours / client | Target | Verdict |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for res in results:
        for i, (client, value) in enumerate(res.medians.items()):
            lo, hi = res.spreads.get(client, (float("nan"), float("nan")))
            range_text = "—" if lo != lo else f"{_fmt(lo)}–{_fmt(hi)}"
            ratio = res.ratio(client)
            ratio_text = "—" if client == OURS or ratio is None else f"{ratio:.2f}×"
            name = f"**{client}**" if client == OURS else client
            first = i == 0
            lines.append(
                "| {} | {} | {} | {} {} | {} | {} | {} | {} |".format(
                    res.bench if first else "",
                    res.case if first else "",
                    name,
                    _fmt(value),
                    res.unit,
                    range_text,
                    ratio_text,
                    res.target if first else "",
                    _verdict(res) if first else "",
                )
            )
    return "\n".join(lines)


def summary_table(results: Sequence[Result]) -> str:
    """One row per case: our median, our ratio to each other client, target, verdict."""
    lines = [
        "| # | Case | Ours | Ours / each other client | Target | Verdict |",
        "|---|---|---:|---|---|---|",
    ]
    for res in results:
        ours = res.medians.get(OURS)
        ratios = []
        for client, value in res.medians.items():
            if client == OURS:
                continue
            ratio = res.ratio(client)
            ratios.append(f"{client}: {_fmt(value) if ratio is None else f'{ratio:.2f}×'}")
        lines.append(
            f"| {res.bench} | {res.case} | "
            f"{'—' if ours is None else _fmt(ours)} {res.unit} | {'; '.join(ratios)} | "
            f"{res.target} | {_verdict(res)} |"
        )
    return "\n".join(lines)


def console_table(results: Sequence[Result]) -> str:
    out = []
    for res in results:
        verdict = {None: "", True: "  [met]", False: "  [MISSED]"}[res.met]
        out.append(f"{res.bench} | {res.case}  ({res.unit}, {res.better} is better){verdict}")
        for client, value in res.medians.items():
            ratio = res.ratio(client)
            tail = "" if client == OURS or ratio is None else f"   ours/this = {ratio:.2f}x"
            out.append(f"    {client:<34} {_fmt(value):>12}{tail}")
        if res.note:
            out.append(f"    note: {res.note}")
    return "\n".join(out)


def machine() -> dict[str, str]:
    """Cores, CPU model, Python and OS: the facts a reader needs to compare numbers."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": model or platform.processor() or "unknown",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
