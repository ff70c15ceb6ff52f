"""The benchmarks still run (no timing is asserted: numbers live in benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_list_names_every_benchmark() -> None:
    proc = _run("--list")
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[1] for line in proc.stdout.splitlines() if line.strip()]
    assert names == [
        "overhead",
        "sse",
        "big-event",
        "concurrency",
        "refresh-storm",
        "stream-memory",
        "abandoned-stream",
        "storage",
        "import",
        "rdb-postgrest",
        "sse-decoder",
        "session-store",
        "storage-pg",
    ]


def test_unknown_benchmark_is_refused() -> None:
    proc = _run("no-such-benchmark")
    assert proc.returncode != 0
    assert "unknown benchmark 'no-such-benchmark'" in proc.stderr


@pytest.mark.integration
def test_quick_overhead_runs_and_writes_results(tmp_path: Path) -> None:
    """#1 against the mock transport and its own server process, then the table."""
    out = tmp_path / "RESULTS.md"
    out.write_text("old tables\n<!-- notes: everything below this line is kept when the "
                   "results are rewritten -->\nhand-written notes\n")  # fmt: skip
    proc = _run("--quick", "overhead", "--write", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "POST JSON (function call), in-memory" in proc.stdout
    assert "GET rdb select, 3 filters, loopback" in proc.stdout
    text = out.read_text()
    assert "`python -m benchmarks --quick overhead --write" in text
    assert "| 1 overhead | POST JSON (function call), in-memory" in text
    assert "| **cloudbase_async** |" in text
    assert "old tables" not in text
    assert text.endswith("hand-written notes\n")


def test_every_benchmark_is_labelled_with_its_number_and_its_children_exist() -> None:
    """A renumbered benchmark keeps its label and the module its child process runs."""
    from benchmarks._runner import BENCHMARKS

    for number, (_, module_name) in BENCHMARKS.items():
        module = importlib.import_module(f"benchmarks.{module_name}")
        assert module.BENCH.split()[0] == str(number), module_name
        source = Path(module.__file__ or "").read_text()
        for child in re.findall(r'"benchmarks\.(\w+)"', source):
            assert (ROOT / "benchmarks" / f"{child}.py").exists(), (module_name, child)
