"""The local server every benchmark talks to, run in a separate process.

A benchmark measures the *client*. A server sharing the client's process (uvicorn in a
thread, say) steals the client's CPU and the GIL, so the numbers would mostly measure
the server. This one is a small HTTP/1.1 server on raw asyncio, started with
``python -m benchmarks._servers``, and every answer it gives is prepared in advance
(SSE bodies are built once per shape and written with one ``write()``), so it spends
next to nothing per request and the client is what the timer sees.

It speaks exactly the paths the benchmarks need, each shaped like CloudBase's (and, for
chat, OpenAI's) API, so our SDK and the peers call the same URLs:

=====================================  ===================================================
``POST /v1/functions/echo``            a small JSON result (functions.invoke)
``POST /v1/functions/sleep-<ms>``      the same, after ``ms`` milliseconds
``GET  /json`` (``?sleep=<ms>``)       a small JSON body
``GET  /rest/<table>`` (any query)     three PostgREST-style rows
``POST /v1/chat/completions``          SSE chat stream; the request's ``model`` picks the
``POST /{provider}/chat/completions``  shape: ``chunks-N``, ``event-BYTES``,
                                       ``sized-BYTES-COUNT``, ``hold``
``POST /v1/storages/get-objects-*``    storage upload/download info pointing at ``/_blob``
``PUT  /_blob/<key>``                  counts and discards the body (chunked or not)
``GET  /_blob/<key>``                  streams back as many bytes as were uploaded
``POST /auth/v1/token``                token refresh (counted; ``/_stats`` reports it)
``GET  /_stats`` / ``POST /_reset``    counters
=====================================  ===================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------- bodies

FUNCTION_RESULT = json.dumps(
    {"ok": True, "items": [{"id": i, "name": f"item-{i}", "price": 9.5 + i} for i in range(3)]},
    separators=(",", ":"),
).encode()
ROWS = json.dumps(
    [{"id": i, "title": f"course {i}", "level": 3, "price": 12.5} for i in range(3)],
    separators=(",", ":"),
).encode()
CHUNK_ID = "chatcmpl-bench"
CHAT_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "bench-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    },
    separators=(",", ":"),
).encode()
CREATED = 1_700_000_000
BLOCK = (b"0123456789abcdef" * 65536)[: 1 << 20]  # 1 MiB of download filler


def _chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
    """One OpenAI ``chat.completion.chunk`` as an SSE ``data:`` event."""
    body = {
        "id": CHUNK_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "bench-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def chat_events(model: str) -> list[bytes]:
    """The SSE events for a request whose ``model`` names the shape.

    ``chunks-N``: a role chunk, N-2 content chunks, a finish chunk with usage, ``[DONE]``.
    ``event-BYTES``: one content chunk whose text is BYTES long, then the finish.
    ``sized-BYTES-COUNT``: COUNT content chunks of BYTES each.
    """
    kind, _, arg = model.partition("-")
    events = [_chunk({"role": "assistant", "content": ""})]
    if kind == "chunks":
        n = max(int(arg) - 2, 0)
        events += [_chunk({"content": f"tok{i % 10} "}) for i in range(n)]
    elif kind == "event":
        events.append(_chunk({"content": "x" * int(arg)}))
    elif kind == "sized":
        size, _, count = arg.partition("-")
        text = "y" * int(size)
        one = _chunk({"content": text})
        events += [one] * int(count)
    events.append(
        _chunk(
            {},
            "stop",
            usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        )
    )
    events.append(b"data: [DONE]\n\n")
    return events


def chunked(events: list[bytes], batch: int = 64) -> bytes:
    """``events`` in HTTP/1.1 chunked framing, ``batch`` events per HTTP chunk."""
    out = []
    for i in range(0, len(events), batch):
        data = b"".join(events[i : i + batch])
        out.append(b"%x\r\n%s\r\n" % (len(data), data))
    out.append(b"0\r\n\r\n")
    return b"".join(out)


# ---------------------------------------------------------------------------- server


class _Request:
    __slots__ = ("headers", "method", "path", "query", "reader")

    def __init__(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
    ) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = parse_qs(parts.query)
        self.headers = headers
        self.reader = reader

    async def body_chunks(self) -> Any:
        """The request body in pieces, whether sized or chunked; never buffered whole."""
        length = self.headers.get("content-length")
        if length is not None:
            left = int(length)
            while left:
                data = await self.reader.read(min(left, 1 << 20))
                if not data:
                    raise ConnectionError("body cut short")
                left -= len(data)
                yield data
        elif "chunked" in self.headers.get("transfer-encoding", ""):
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readline()) not in (b"\r\n", b""):
                        pass
                    return
                left = size
                while left:
                    data = await self.reader.read(min(left, 1 << 20))
                    if not data:
                        raise ConnectionError("body cut short")
                    left -= len(data)
                    yield data
                await self.reader.readexactly(2)

    async def body(self) -> bytes:
        return b"".join([piece async for piece in self.body_chunks()])

    async def drain(self) -> int:
        total = 0
        async for piece in self.body_chunks():
            total += len(piece)
        return total


def _head(status: int, content_type: str, length: int | None, extra: str = "") -> bytes:
    reason = {200: "OK", 201: "Created", 404: "Not Found", 400: "Bad Request"}.get(status, "OK")
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n{framing}\r\n"
        f"x-request-id: srv-bench\r\n{extra}\r\n"
    ).encode()


def _json(status: int, body: bytes, extra: str = "") -> bytes:
    return _head(status, "application/json", len(body), extra) + body


class BenchServer:
    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()
        self.blobs: dict[str, int] = {}
        self.sse_cache: dict[str, bytes] = {}
        self.token_serial = 0
        self.live_refresh = {"refresh-0"}  # refresh tokens are single-use, as CloudBase's

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                if headers.get("expect", "").lower() == "100-continue":
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits 1 s without it
                request = _Request(method, target, headers, reader)
                self.stats["requests"] += 1
                keep = await self.route(request, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def route(self, req: _Request, writer: asyncio.StreamWriter) -> bool:
        path = req.path
        if path.startswith("/v1/functions/"):
            await req.drain()
            name = path.rsplit("/", 1)[1]
            if name.startswith("sleep-"):
                await asyncio.sleep(int(name[6:]) / 1000)
            writer.write(_json(200, FUNCTION_RESULT))
        elif path == "/json":
            await req.drain()
            if "sleep" in req.query:
                await asyncio.sleep(int(req.query["sleep"][0]) / 1000)
            writer.write(_json(200, FUNCTION_RESULT))
        elif path.startswith("/rest/"):
            await req.drain()
            writer.write(_json(200, ROWS, "content-range: 0-2/*\r\n"))
        elif path.endswith("/chat/completions"):
            return await self.chat(req, writer)
        elif path.startswith("/v1/storages/"):
            await self.storage_info(req, writer)
        elif path.startswith("/_blob/"):
            await self.blob(req, writer)
        elif path.startswith("/auth/v1/token") or path == "/token":
            await self.token(req, writer)
        elif path == "/_stats":
            await req.drain()
            writer.write(_json(200, json.dumps(dict(self.stats)).encode()))
        elif path == "/_reset":
            await req.drain()
            self.stats.clear()
            self.live_refresh = {"refresh-0"}
            writer.write(_json(200, b"{}"))
        else:
            await req.drain()
            writer.write(_json(404, b'{"code":"NOT_FOUND","message":"no such path"}'))
        await writer.drain()
        return True

    async def chat(self, req: _Request, writer: asyncio.StreamWriter) -> bool:
        request = json.loads(await req.body())
        model = request.get("model", "chunks-10")
        self.stats["chat"] += 1
        if not request.get("stream"):
            writer.write(_json(200, CHAT_COMPLETION))
            await writer.drain()
            return True
        if model == "hold":
            # One chunk, then silence until the client goes away: an open, idle stream.
            writer.write(
                _head(200, "text/event-stream", None) + chunked(chat_events("chunks-2")[:1])[:-5]
            )
            await writer.drain()
            with contextlib.suppress(Exception):
                while await req.reader.read(65536):
                    pass
            return False
        body = self.sse_cache.get(model)
        if body is None:
            body = self.sse_cache[model] = chunked(chat_events(model))
        writer.write(_head(200, "text/event-stream", None, "cache-control: no-cache\r\n") + body)
        await writer.drain()
        return True

    async def storage_info(self, req: _Request, writer: asyncio.StreamWriter) -> None:
        items = json.loads(await req.body())
        host = req.headers.get("host", "127.0.0.1")
        out = []
        for item in items:
            key = item.get("objectId") or item.get("cloudObjectId", "").rpartition("/")[2]
            key = key.rpartition("/")[2]
            url = f"http://{host}/_blob/{key}"
            out.append(
                {
                    "objectId": key,
                    "cloudObjectId": f"cloud://bench.bucket/{key}",
                    "uploadUrl": url,
                    "downloadUrl": url,
                    "downloadUrlEncoded": url,
                    "token": "t",
                    "authorization": "a",
                    "cloudObjectMeta": "m",
                }
            )
        writer.write(_json(200, json.dumps(out).encode()))

    async def blob(self, req: _Request, writer: asyncio.StreamWriter) -> None:
        key = req.path.rpartition("/")[2]
        if req.method == "PUT":
            self.blobs[key] = await req.drain()
            self.stats["uploaded"] += self.blobs[key]
            writer.write(_json(200, b"{}"))
            return
        await req.drain()
        size = self.blobs.get(key, int(req.query.get("size", ["0"])[0]))
        writer.write(_head(200, "application/octet-stream", size))
        left = size
        while left:
            piece = BLOCK if left >= len(BLOCK) else BLOCK[:left]
            writer.write(piece)
            left -= len(piece)
            await writer.drain()

    async def token(self, req: _Request, writer: asyncio.StreamWriter) -> None:
        raw = await req.body()
        self.stats["refresh"] += 1
        await asyncio.sleep(0.02)  # a refresh is a real round trip upstream
        used = (json.loads(raw) if raw else {}).get("refresh_token")
        if used not in self.live_refresh:
            self.stats["refresh_rejected"] += 1
            error = {
                "error": "invalid_grant",
                "error_description": "refresh token already used",
                "code": 400,
                "error_code": "refresh_token_already_used",
                "msg": "Invalid Refresh Token: Already Used",
            }
            writer.write(_json(400, json.dumps(error).encode()))
            return
        self.live_refresh.discard(used)
        self.token_serial += 1
        serial = self.token_serial
        self.live_refresh.add(f"refresh-{serial}")
        now = int(time.time())
        body = {
            "token_type": "Bearer",
            "access_token": _jwt(serial, now + 3600),
            "refresh_token": f"refresh-{serial}",
            "expires_in": 3600,
            "expires_at": now + 3600,
            "scope": "user",
            "sub": "user-1",
            "user": _USER,
        }
        writer.write(_json(200, json.dumps(body).encode()))


_USER = {
    "id": "user-1",
    "aud": "authenticated",
    "role": "authenticated",
    "email": "bench@example.com",
    "app_metadata": {},
    "user_metadata": {},
    "created_at": "2024-01-01T00:00:00Z",
}


def _jwt(serial: int, exp: int) -> str:
    """An unsigned JWT with ``exp`` and ``sub``: clients read the claims, never verify."""
    import base64

    def part(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {"sub": "user-1", "exp": exp, "iat": exp - 3600, "role": "authenticated"}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl-{serial}"


def raise_fd_limit() -> None:
    """1,000 concurrent connections need more descriptors than some defaults allow."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def _main() -> None:
    raise_fd_limit()
    app = BenchServer()
    server = await asyncio.start_server(app.handle, "127.0.0.1", 0, backlog=4096, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    print(f"LISTENING {port}", flush=True)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------------------- client side


class ServerProcess:
    """A handle on the server subprocess: its base URL and its counters."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    def stats(self) -> dict[str, int]:
        return httpx.get(self.url + "/_stats").json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        httpx.post(self.url + "/_reset")


@contextlib.contextmanager
def bench_server() -> Iterator[ServerProcess]:
    """Start the server in its own process on a free loopback port; stop it by PID."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._servers"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield ServerProcess(proc, f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
