"""The aiohttp-backed default transport, over real sockets on loopback.

Most of the suite drives the SDK through respx (which patches httpcore, so those calls
take httpx's own transport) or through uvicorn servers; these tests aim at what the
aiohttp path must get right on its own: whether a failure may have been sent, bodies
framed and checked as httpx would, nothing added or undone on the way, and no
connection left behind after cancellation or a timeout.

The server is a small raw-socket one, so it can misbehave on purpose (drop the
connection after reading a request, cut a body short, never answer).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
import anyio
import httpx
import pytest
import respx

from cloudbase_async import (
    APIConnectionError,
    APITimeoutError,
    CloudBase,
    InvalidRequestError,
    RedirectError,
    StreamInterruptedError,
)
from cloudbase_async._core import aiohttp_transport
from cloudbase_async._core.aiohttp_transport import map_error
from cloudbase_async._core.default_transport import DefaultTransport, intercepted
from cloudbase_async._core.transport import Request
from tests.support.pool import checked_out

pytestmark = pytest.mark.anyio

OK_BODY = b'{"ok":true}'


@dataclass
class RawServer:
    """Answers by path; ``seen`` records each request's head (method, path, headers)."""

    url: str = ""
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(head, body, rest of the buffer), reading what is missing; None at EOF."""
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            return None
        buffer += data
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    headers = _headers(head)
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(buffer) < size:
            data = conn.recv(65536)
            if not data:
                return None
            buffer += data
        return head, buffer[:size], buffer[size:]
    if "chunked" in headers.get("transfer-encoding", ""):
        body = b""
        while True:
            while b"\r\n" not in buffer:
                buffer += _more(conn)
            line, _, buffer = buffer.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(buffer) < size + 2:
                buffer += _more(conn)
            body, buffer = body + buffer[:size], buffer[size + 2 :]
            if size == 0:
                return head, body, buffer
    return head, b"", buffer


def _more(conn: socket.socket) -> bytes:
    data = conn.recv(65536)
    if not data:
        raise ConnectionError("the client went away mid-body")
    return data


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _answer(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", *extra, "", ""]
    return "\r\n".join(head).encode() + body


def _serve_connection(server: RawServer, conn: socket.socket) -> None:
    buffer = b""
    with conn, contextlib.suppress(ConnectionError):
        while not server.stop.is_set():
            request = _read_request(conn, buffer)
            if request is None:
                return
            head, body, buffer = request
            method, path, _ = head.decode("latin-1").split("\r\n")[0].split(" ", 2)
            server.seen.append((method, path, _headers(head), body))
            if path.endswith("/drop"):
                return  # read the request, close without a word
            if path.endswith("/hang"):
                server.stop.wait(5)
                return
            if path.endswith("/cut"):
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 10)
                return
            if path.endswith("/redirect"):
                conn.sendall(_answer("302 Found", b"", "location: /elsewhere"))
            elif path.endswith("/gzip"):
                packed = gzip.compress(OK_BODY)
                conn.sendall(
                    _answer(
                        "200 OK", packed, "content-type: application/json", "content-encoding: gzip"
                    )
                )
            else:
                conn.sendall(_answer("200 OK", OK_BODY, "content-type: application/json"))


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def accept() -> None:
        while not server.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_connection, args=(server, conn), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        listener.close()


def client(server: RawServer, **kwargs: object) -> CloudBase:
    return CloudBase("env-1", base_url=server.url, api_key="k", **kwargs)  # type: ignore[arg-type]


def uses_aiohttp(cb: CloudBase) -> bool:
    """Whether a request went over aiohttp (its session exists once one did)."""
    transport = cb._transport.pool.http._transport
    return (
        isinstance(transport, DefaultTransport)
        and transport._aiohttp is not None
        and transport._aiohttp._session is not None
    )


# ----------------------------------------------------------------- errors: sent or not


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp.ConnectionTimeoutError(), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError(), httpx.ReadTimeout),
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None),
                OSError(111, "refused"),
            ),
            httpx.ConnectError,
        ),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut"), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ClientConnectionResetError(), httpx.ReadError),
        (ConnectionResetError(), httpx.ReadError),
        (ValueError("not ours"), type(None)),
    ],
)
def test_only_connecting_failures_count_as_never_sent(
    error: BaseException, expected: type[object]
) -> None:
    # ServerDisconnectedError and ClientOSError happen after the request went out: they
    # must not become ConnectError/ConnectTimeout, which the SDK retries for any method.
    mapped = map_error(error)
    assert type(mapped) is expected


async def test_a_post_dropped_after_sending_is_not_retried(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        with pytest.raises(APIConnectionError):
            await cb.functions.invoke("drop", {"a": 1})
        assert uses_aiohttp(cb)
    assert [path for _, path, _, _ in raw_server.seen] == ["/v1/functions/drop"]


async def test_a_get_dropped_after_sending_is_retried(raw_server: RawServer) -> None:
    async with client(raw_server, max_retries=2) as cb:
        with pytest.raises(APIConnectionError):
            await cb._transport.send(Request("GET", "functions", "/drop"))
    assert len(raw_server.seen) == 3


async def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    async with CloudBase("env-1", base_url=f"http://127.0.0.1:{port}", max_retries=1) as cb:
        with pytest.raises(APIConnectionError) as caught:
            await cb.functions.invoke("fn", {})
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_body_cut_short_is_an_interrupted_stream(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        with pytest.raises(APIConnectionError):
            await cb.functions.invoke("cut")
        response = await cb._transport.open_stream(Request("GET", "functions", "/cut"))
        try:
            with pytest.raises(StreamInterruptedError):
                async for _ in response.aiter_bytes():
                    pass
        finally:
            await response.aclose()
        assert checked_out(cb) == 0


# ------------------------------------------------------------- bytes as httpx built them


async def test_headers_are_httpxs_and_nothing_is_added(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        await cb.functions.request("fn", "POST", content=b"raw bytes")
    _, path, headers, body = raw_server.seen[0]
    assert path == "/v1/functions/fn?webfn=true"
    assert body == b"raw bytes"
    assert headers["user-agent"].startswith("python-httpx/")
    assert headers["content-length"] == "9"
    assert "content-type" not in headers  # aiohttp would add application/octet-stream


async def test_an_encoded_path_and_query_are_sent_as_encoded(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        await cb.functions.request("fn", "GET", "/a b/%2F", params={"q": "x y&z"})
    assert raw_server.seen[0][1] == "/v1/functions/fn/a%20b/%252F?webfn=true&q=x+y%26z"


async def test_gzip_is_undone_by_httpx_and_raw_reads_see_the_wire(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        assert await cb.functions.invoke("gzip") == {"ok": True}
        response = await cb._transport.open_stream(Request("GET", "functions", "/gzip"))
        try:
            raw = b"".join([chunk async for chunk in response.aiter_bytes(raw=True)])
        finally:
            await response.aclose()
    assert gzip.decompress(raw) == OK_BODY


async def test_redirects_are_not_followed(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        with pytest.raises(RedirectError):
            await cb.functions.invoke("redirect")
    assert len(raw_server.seen) == 1


async def test_a_streamed_body_is_sent_chunked(raw_server: RawServer) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"one,"
        yield b"two"

    async with client(raw_server) as cb:
        await cb.functions.request("fn", "PUT", content=body())
    _, _, headers, received = raw_server.seen[0]
    assert headers["transfer-encoding"] == "chunked"
    assert received == b"one,two"


async def test_a_body_shorter_than_its_content_length_is_refused(raw_server: RawServer) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"12345"

    async with client(raw_server) as cb:
        with pytest.raises(InvalidRequestError, match="Content-Length"):
            await cb._transport.send(
                Request("PUT", "functions", "/f", content=body(), headers={"Content-Length": "10"})
            )
        assert checked_out(cb) == 0


async def test_a_failing_body_raises_its_own_error(raw_server: RawServer) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"start"
        raise OSError("the disk went away")

    async with client(raw_server) as cb:
        with pytest.raises(OSError, match="the disk went away"):
            await cb.functions.request("fn", "PUT", content=body())
        assert checked_out(cb) == 0


# ------------------------------------------------------------ time limits, cancellation


async def test_a_silent_server_hits_the_deadline_and_frees_the_connection(
    raw_server: RawServer,
) -> None:
    async with client(raw_server, max_retries=0) as cb:
        with anyio.fail_after(5), pytest.raises(APITimeoutError):
            await cb.functions.invoke("hang", timeout=0.3)
        assert checked_out(cb) == 0


async def test_a_cancelled_call_leaves_nothing_checked_out(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        with anyio.move_on_after(0.3) as scope:
            await cb.functions.invoke("hang")
        assert scope.cancelled_caught
        assert checked_out(cb) == 0
        assert await cb.functions.invoke("fn") == {"ok": True}


# ----------------------------------------------------------------- which transport, when


async def test_respx_still_intercepts_a_default_client() -> None:
    assert not intercepted()
    with respx.mock(base_url="https://gw.test") as router:
        assert intercepted()
        router.post("/v1/functions/fn").respond(json={"mocked": True})
        async with CloudBase("env-1", base_url="https://gw.test") as cb:
            assert await cb.functions.invoke("fn") == {"mocked": True}
            assert not uses_aiohttp(cb)
    assert not intercepted()


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_takes_httpx_own_transport(raw_server: RawServer) -> None:
    async with client(raw_server) as cb:
        assert await cb.functions.invoke("fn") == {"ok": True}
        transport = cb._transport.pool.http._transport
        assert isinstance(transport, DefaultTransport)
        assert transport._aiohttp is None
        assert transport.connections() == (0, 1)


def test_a_client_built_outside_a_loop_takes_aiohttp_under_asyncio(raw_server: RawServer) -> None:
    cb = client(raw_server)  # no event loop running: httpx's transport is built, as httpx does

    async def use() -> None:
        async with cb:
            assert await cb.functions.invoke("fn") == {"ok": True}
            assert uses_aiohttp(cb)

    anyio.run(use, backend="asyncio")


async def test_an_aiohttp_older_than_3_10_is_left_alone(
    raw_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aiohttp_transport, "SUPPORTED", False)
    async with client(raw_server) as cb:
        assert await cb.functions.invoke("fn") == {"ok": True}
        transport = cb._transport.pool.http._transport
        assert isinstance(transport, DefaultTransport)
        assert transport._aiohttp is None
        assert transport.connections() == (0, 1)  # httpx's own pool carried it


async def test_building_a_client_opens_nothing() -> None:
    cb = CloudBase("env-1", base_url="http://127.0.0.1:9")
    transport = cb._transport.pool.http._transport
    assert isinstance(transport, DefaultTransport)
    assert transport.connections() == (0, 0)
    await cb.aclose()
