"""nginx on loopback as the benchmark server: so fast that the client is all the timer sees.

Python servers (ours in ``_servers.py`` included) spend a few hundred microseconds of
CPU per request; at thousands of requests per second that is a core, on a machine that
has two. nginx answers the same function call for a few microseconds, so the
concurrency benchmark (#4) can run it instead (``--server nginx``).

It needs Debian's ``nginx-light`` and ``libnginx-mod-http-echo`` (for ``echo_sleep``, a
delayed answer that costs nginx nothing while it waits); ``scripts/install-peers.sh``
installs them. :func:`nginx_server` writes its own configuration into a temporary
directory, starts nginx in the foreground on a free loopback port and stops it by PID.

Paths (the function result is ``_servers.FUNCTION_RESULT``, with a ``Content-Length``):

==================================  ================================================
``POST /v1/functions/echo``         the result at once
``POST /v1/functions/sleep-<ms>``   the result after ``ms`` milliseconds (the values
                                    passed to :func:`nginx_server`)
==================================  ================================================
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._servers import FUNCTION_RESULT

NGINX = "/usr/sbin/nginx"
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"


def available() -> str | None:
    """Why nginx cannot run here, or ``None`` if it can."""
    if shutil.which("nginx") is None and not Path(NGINX).exists():
        return "nginx is not installed (bash scripts/install-peers.sh)"
    if not Path(ECHO_MODULE).exists():
        return "the nginx echo module is not installed (bash scripts/install-peers.sh)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(root: Path, port: int, sleeps_ms: Sequence[int]) -> str:
    """The whole ``nginx.conf``: one worker, no logs, everything under ``root``."""
    body = FUNCTION_RESULT.decode().replace("'", "\\'")
    sleeps = "\n".join(
        f"""
        location = /v1/functions/sleep-{ms} {{
            echo_read_request_body;
            echo_sleep {ms / 1000:g};
            echo_exec /_result;
        }}"""
        for ms in sleeps_ms
    )
    return f"""
load_module {ECHO_MODULE};
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_buffer_size 1m;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /_result {{
            internal;
            default_type application/json;
            add_header x-request-id srv-bench;
            return 200 '{body}';
        }}
        location = /v1/functions/echo {{
            echo_read_request_body;
            echo_exec /_result;
        }}{sleeps}
    }}
}}
"""


class NginxProcess:
    """A running nginx: its base URL and PID."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str) -> None:
        self.proc = proc
        self.url = url

    @property
    def pid(self) -> int:
        return self.proc.pid


def _wait_listening(port: int, proc: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (root / "error.log").read_text() if (root / "error.log").exists() else ""
            raise RuntimeError(f"nginx exited ({proc.returncode}): {log[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening within 10 s")


@contextlib.contextmanager
def nginx_server(sleeps_ms: Sequence[int] = (10,)) -> Iterator[NginxProcess]:
    """Start nginx (foreground, own config in a temporary directory); stop it by PID."""
    why = available()
    if why:
        raise RuntimeError(why)
    root = Path(tempfile.mkdtemp(prefix="cb-bench-nginx-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        port = _free_port()
        conf = root / "nginx.conf"
        conf.write_text(config(root, port, sleeps_ms), encoding="utf-8")
        proc = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(root),
                "-c",
                str(conf),
                "-e",
                str(root / "error.log"),
                "-g",
                "daemon off; master_process on;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(port, proc, root)
        yield NginxProcess(proc, f"http://127.0.0.1:{port}")
    finally:
        if proc is not None:
            proc.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)
