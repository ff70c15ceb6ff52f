"""The package works with only what it declares: its dependencies, or one extra's.

The dev environment holds every extra and every test tool, so a module the package
imports without declaring it (``sniffio``, once) passes every other test and breaks
``pip install cloudbase-async`` at the first import. Here each case runs in a fresh
interpreter without site-packages (``python -S``), whose path holds links to exactly
the distributions ``pyproject.toml`` asks for (followed through their own requirements,
as pip would resolve them) and to the package itself.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]

pytestmark = pytest.mark.integration


def _requirements(extras: tuple[str, ...]) -> list[Requirement]:
    declared = list(PROJECT["dependencies"])
    for extra in extras:
        declared += PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in declared]


def _closure(extras: tuple[str, ...]) -> set[str]:
    """The distributions pip would install for ``cloudbase-async[extras]``."""

    def applies(req: Requirement, extras: frozenset[str]) -> bool:
        if req.marker is None:
            return True
        return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))

    # (distribution, its extras asked for), markers already judged where they were read.
    declared = [r for r in _requirements(extras) if applies(r, frozenset())]
    wanted = [(req.name, frozenset(req.extras)) for req in declared]
    seen: set[tuple[str, frozenset[str]]] = set()
    while wanted:
        name, name_extras = wanted.pop()
        name = canonicalize_name(name)
        if name == "cloudbase-async":  # an extra naming another of ours
            wanted += [(r.name, frozenset(r.extras)) for r in _requirements(tuple(name_extras))]
            continue
        if (name, name_extras) in seen:
            continue
        seen.add((name, name_extras))
        for text in importlib.metadata.requires(name) or []:
            sub = Requirement(text)
            if applies(sub, name_extras):
                wanted.append((sub.name, frozenset(sub.extras)))
    return {name for name, _ in seen}


def _site(tmp_path: Path, extras: tuple[str, ...]) -> Path:
    """A directory linking to the installed files of exactly those distributions."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "cloudbase_async").symlink_to(ROOT / "cloudbase_async")
    for name in _closure(extras):
        dist = importlib.metadata.distribution(name)
        tops = {Path(str(file)).parts[0] for file in dist.files or []}
        for top in tops:
            source = Path(str(dist.locate_file(top)))
            target = site / top
            outside = top in ("..", "__pycache__") or top.endswith(".pth")
            if source.exists() and not target.exists() and not outside:
                target.symlink_to(source)
    return site


def _run(tmp_path: Path, extras: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    site = _site(tmp_path, extras)
    prelude = f"import sys; sys.path.insert(0, {str(site)!r})\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDBASE_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, "-S", "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )


# A function call through the default transport, to a stdlib server in the same process.
_CALL = """
    import http.server, json, sys, threading
    import anyio
    import cloudbase_async
    from cloudbase_async import CloudBase

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    async def main():
        url = f"http://127.0.0.1:{server.server_port}"
        async with CloudBase(env="install-test", api_key="key", base_url=url) as cb:
            print(await cb.functions.invoke("hello", {"name": "x"}))

    anyio.run(main, backend=BACKEND)
    for name in ("auth", "rdb", "nosql", "storage", "ai", "functions", "cloudrun", "ejson"):
        __import__(f"cloudbase_async.{name}")
    print(sorted(m for m in ("aiohttp", "cloudbase_async.local", "trio") if m in sys.modules))
"""


def test_the_sdk_runs_with_only_its_dependencies(tmp_path: Path) -> None:
    done = _run(tmp_path, (), "BACKEND = 'asyncio'\n" + textwrap.dedent(_CALL))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["{'ok': True}", "[]"]


def test_the_aiohttp_extra_carries_the_call(tmp_path: Path) -> None:
    done = _run(tmp_path, ("aiohttp",), "BACKEND = 'asyncio'\n" + textwrap.dedent(_CALL))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["{'ok': True}", "['aiohttp']"]


def test_the_readmes_first_two_commands_run_the_demo_offline(tmp_path: Path) -> None:
    """``pip install -e '.[local]'`` then ``python -m cloudbase_async demo``."""
    done = _run(
        tmp_path,
        ("local",),
        """
        import runpy, sys
        sys.argv = ["cloudbase_async", "demo"]
        runpy.run_module("cloudbase_async", run_name="__main__")
        """,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all steps ran in" in done.stdout


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ("redis", "from cloudbase_async.auth import RedisStore; RedisStore.from_url('redis://x')"),
        (
            "tickets",
            """
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa
            from cloudbase_async.auth import TicketCredentials, create_ticket

            pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            key = TicketCredentials("key-id", pem.decode(), "install-test")
            assert create_ticket("user-1", credentials=key).startswith("key-id/@@/")
            """,
        ),
    ],
)
def test_each_extra_brings_what_its_feature_imports(tmp_path: Path, extra: str, code: str) -> None:
    done = _run(tmp_path, (extra,), code)
    assert done.returncode == 0, done.stderr
