"""The SSE decoder (pure) and the event reader over a streamed response (respx)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable

import anyio
import httpx
import pytest
import respx
from hypothesis import given, settings, strategies as st

from cloudbase_async import (
    APITimeoutError,
    CloudBase,
    EventSource,
    EventTooLargeError,
    ServerSentEvent,
    StreamClosedError,
    StreamError,
    StreamInterruptedError,
)
from cloudbase_async._core.sse import DEFAULT_MAX_EVENT_SIZE, SSEDecoder
from cloudbase_async._core.transport import Request
from tests.support.pool import checked_out


def decode(*chunks: bytes, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> list[ServerSentEvent]:
    decoder = SSEDecoder(max_event_size=max_event_size)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events


def splits(data: bytes) -> Iterable[tuple[bytes, bytes]]:
    for i in range(len(data) + 1):
        yield data[:i], data[i:]


STREAM = (
    b"\xef\xbb\xbf: hello\r\n"
    b"event: greet\r\nid: 7\r\ndata: line one\r\ndata:line two\r\n\r\n"
    b'data: {"a": 1}\r\r'
    b"retry: 1500\ndata: caf\xc3\xa9\n\n"
    b": keep-alive\n\n"
    b"data\n\n"
)
EXPECTED = [
    ServerSentEvent("line one\nline two", "greet", "7"),
    ServerSentEvent('{"a": 1}', "message", "7"),
    ServerSentEvent("café", "message", "7", 1500),
    ServerSentEvent("", "message", "7"),
]


class TestDecoder:
    def test_whole_stream(self) -> None:
        assert decode(STREAM) == EXPECTED

    def test_every_two_way_split(self) -> None:
        for head, tail in splits(STREAM):
            assert decode(head, tail) == EXPECTED, (head, tail)

    def test_every_three_way_split_of_crlf_and_bom_regions(self) -> None:
        data = b"\xef\xbb\xbfdata: a\r\n\r\ndata: b\r\r"
        want = [ServerSentEvent("a"), ServerSentEvent("b")]
        for i in range(len(data) + 1):
            for j in range(i, len(data) + 1):
                assert decode(data[:i], data[i:j], data[j:]) == want, (i, j)

    def test_byte_by_byte(self) -> None:
        assert decode(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == EXPECTED

    @pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"])
    def test_each_line_ending(self, newline: bytes) -> None:
        data = newline.join([b"data: x", b"data: y", b"", b"data: z", b"", b""])
        assert [e.data for e in decode(data)] == ["x\ny", "z"]

    def test_bom_only_stripped_at_start(self) -> None:
        events = decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n")
        # A second BOM is part of the first line's field name, so that line is ignored.
        assert events == []
        assert decode(b"data: \xef\xbb\xbfx\n\n")[0].data == "\ufeffx"

    def test_comments_and_unknown_fields_are_ignored(self) -> None:
        assert decode(b": c\nfoo: bar\ndata: x\n: c2\n\n") == [ServerSentEvent("x")]

    def test_empty_events_are_not_dispatched(self) -> None:
        assert decode(b"\n\n\nevent: ping\n\nid: 3\n\n") == []

    def test_empty_data_line_dispatches_empty_data(self) -> None:
        assert decode(b"data:\n\n") == [ServerSentEvent("")]

    def test_only_one_leading_space_is_removed(self) -> None:
        assert decode(b"data:  two\n\n")[0].data == " two"

    def test_event_name_resets_after_dispatch(self) -> None:
        events = decode(b"event: a\ndata: 1\n\ndata: 2\n\n")
        assert [e.event for e in events] == ["a", "message"]

    def test_id_with_nul_is_ignored_and_id_persists(self) -> None:
        events = decode(b"id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n")
        assert [e.id for e in events] == ["1", "1"]

    def test_invalid_retry_is_ignored(self) -> None:
        assert decode(b"retry: 10s\ndata: a\n\n")[0].retry is None

    def test_invalid_utf8_is_replaced(self) -> None:
        assert decode(b"data: \xff\n\n")[0].data == "\ufffd"

    def test_utf8_split_inside_a_character(self) -> None:
        data = "data: 你好\n\n".encode()
        for head, tail in splits(data):
            assert decode(head, tail)[0].data == "你好"

    def test_incomplete_event_is_pending_not_dispatched(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n\ndata: b\n") == [ServerSentEvent("a")]
        assert decoder.pending
        complete = SSEDecoder()
        complete.feed(b"data: a\n\n")
        assert not complete.pending

    def test_done_followed_by_junk_is_decoded_as_is(self) -> None:
        # Meaning ([DONE] ends a chat stream) is the caller's business.
        assert [e.data for e in decode(b"data: [DONE]\n\n\x00garbage\n\n")] == ["[DONE]"]

    def test_four_mib_event_in_small_reads_is_linear(self) -> None:
        payload = b"x" * (4 * 1024 * 1024)
        data = b"data: " + payload + b"\n\n"
        started = time.perf_counter()
        events = decode(*(data[i : i + 1024] for i in range(0, len(data), 1024)))
        elapsed = time.perf_counter() - started
        assert len(events) == 1
        assert len(events[0].data) == len(payload)
        # Quadratic buffering takes seconds here; linear takes milliseconds. The bound is
        # loose on purpose (shared CI machines) but a quadratic decoder cannot meet it.
        assert elapsed < 1.0

    def test_multi_line_four_mib_event(self) -> None:
        line = b"data: " + b"y" * 1023 + b"\n"
        data = line * 4096 + b"\n"
        events = decode(*(data[i : i + 4000] for i in range(0, len(data), 4000)))
        assert len(events) == 1
        assert len(events[0].data) == 4096 * 1024 - 1

    def test_event_larger_than_the_limit_is_refused(self) -> None:
        with pytest.raises(EventTooLargeError) as info:
            decode(b"data: " + b"x" * 100 + b"\n\n", max_event_size=64)
        assert info.value.code == "EVENT_TOO_LARGE"
        assert isinstance(info.value, StreamError)

    def test_limit_counts_across_reads_and_lines(self) -> None:
        with pytest.raises(EventTooLargeError):
            decode(*[b"data: " + b"x" * 20 + b"\n"] * 5, max_event_size=64)
        with pytest.raises(EventTooLargeError):
            decode(*[b"x" * 20] * 5, max_event_size=64)  # one unterminated line

    def test_limit_is_per_event(self) -> None:
        events = decode(*[b"data: " + b"x" * 40 + b"\n\n"] * 10, max_event_size=64)
        assert len(events) == 10


# -- EventSource over a real (mocked) streamed response -------------------------------


def every(pause: float, part: bytes, times: int) -> list[bytes | float]:
    """``part`` ``times`` times, each after a ``pause`` (a script for :class:`Chunks`)."""
    return [pause, part] * times


class Chunks(httpx.AsyncByteStream):
    """A response body from a script: bytes, or a float meaning "sleep this long"."""

    def __init__(self, script: list[bytes | float], error: Exception | None = None) -> None:
        self.script = script
        self.error = error
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for item in self.script:
            if isinstance(item, float):
                await anyio.sleep(item)
            else:
                yield item
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


URL = "https://env-1.api.tcloudbasegateway.com/v1/cloudrun/svc/events"


async def open_source(cb: CloudBase, body: Chunks, **kwargs: float | int | None) -> EventSource:
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream", "x-request-id": "rid"}, stream=body
        )
    )
    response = await cb._transport.open_stream(Request("GET", "cloudrun", "/svc/events"))
    return EventSource(response, **kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
@respx.mock
async def test_reads_events_and_closes_at_the_end() -> None:
    body = Chunks([b"data: a\n\nda", b"ta: b\n\n"])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body)
        assert [e.data async for e in source] == ["a", "b"]
        assert body.closed
        assert source.closed
        assert not source.ended_incomplete
        assert source.request_id == "rid"


@pytest.mark.asyncio
@respx.mock
async def test_body_ending_mid_event_is_flagged() -> None:
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, Chunks([b"data: a\n\ndata: b"]))
        assert [e.data async for e in source] == ["a"]
        assert source.ended_incomplete


@pytest.mark.asyncio
@respx.mock
async def test_idle_timeout_is_not_reset_by_comments() -> None:
    body = Chunks([b"data: a\n\n", *every(0.05, b": keep-alive\n\n", 20), b"data: late\n\n"])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body, idle_timeout=0.3)
        assert (await source.__anext__()).data == "a"
        started = anyio.current_time()
        with pytest.raises(APITimeoutError) as info:
            await source.__anext__()
        # Not before the idle timeout; the upper bound only says "ends" (loaded machines).
        assert 0.25 < anyio.current_time() - started < 15
        assert info.value.request_id == "rid"
        assert "idle_timeout" in str(info.value)
        assert body.closed
        assert source.closed
        with pytest.raises(StreamClosedError):
            await source.__anext__()


@pytest.mark.asyncio
@respx.mock
async def test_events_reset_the_idle_timeout() -> None:
    # 0.05 s between events against an idle timeout 20 times longer (a loaded machine
    # stretches sleeps, never by that much).
    body = Chunks([*every(0.05, b"data: x\n\n", 6)])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body, idle_timeout=1.0)
        assert len([e async for e in source]) == 6


@pytest.mark.asyncio
@respx.mock
async def test_no_idle_timeout_when_disabled() -> None:
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, Chunks([0.2, b"data: x\n\n"]), idle_timeout=None)
        assert [e.data async for e in source] == ["x"]


@pytest.mark.asyncio
@respx.mock
async def test_oversized_event_closes_with_the_request_id() -> None:
    body = Chunks([b"data: " + b"x" * 5000, b"x" * 5000])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body, max_event_size=4096)
        with pytest.raises(EventTooLargeError) as info:
            await source.__anext__()
        assert info.value.request_id == "rid"
        assert body.closed


@pytest.mark.asyncio
@respx.mock
async def test_broken_connection_is_interrupted_error() -> None:
    body = Chunks([b"data: a\n\n"], error=httpx.RemoteProtocolError("peer closed"))
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body)
        assert (await source.__anext__()).data == "a"
        with pytest.raises(StreamInterruptedError) as info:
            await source.__anext__()
        assert info.value.request_id == "rid"
        assert body.closed
        assert checked_out(cb) == 0


@pytest.mark.asyncio
@respx.mock
async def test_closed_source_refuses_to_read() -> None:
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, Chunks([b"data: a\n\ndata: b\n\n"]))
        async with source:
            assert (await source.__anext__()).data == "a"
        with pytest.raises(StreamClosedError):
            await source.__anext__()
        await source.aclose()  # idempotent


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_event_size"):
        SSEDecoder(max_event_size=0)


@settings(deadline=None)  # timing is not under test; shared CI machines are slow
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["", "ping", "error"]),
            st.lists(
                st.text(
                    alphabet=st.characters(
                        blacklist_characters="\r\n", blacklist_categories=["Cs"]
                    ),
                    max_size=20,
                ),
                min_size=1,
                max_size=3,
            ),
        ),
        max_size=6,
    ),
    newline=st.sampled_from(["\n", "\r", "\r\n"]),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_any_split_decodes_like_the_whole(
    events: list[tuple[str, list[str]]], newline: str, bom: bool, cuts: list[int]
) -> None:
    text = ""
    for name, lines in events:
        if name:
            text += f"event: {name}{newline}"
        text += "".join(f"data: {line}{newline}" for line in lines) + newline
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    points = sorted({min(c, len(data)) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    expected = [ServerSentEvent("\n".join(lines), name or "message") for name, lines in events]
    assert decode(data) == expected
    assert decode(*pieces) == expected


@pytest.mark.asyncio
@respx.mock
async def test_a_slow_consumer_is_not_an_idle_server() -> None:
    # Events are there whenever asked for; only the consumer is slow.
    body = Chunks([b"data: a\n\n", b": c\n\n", b"data: b\n\n", b"data: c\n\n"])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body, idle_timeout=0.2)
        got = []
        async for event in source:
            got.append(event.data)
            await anyio.sleep(0.3)
        assert got == ["a", "b", "c"]


@pytest.mark.asyncio
@respx.mock
async def test_idle_time_adds_up_across_comments() -> None:
    body = Chunks([b"data: a\n\n", *every(0.1, b": c\n\n", 10)])
    async with CloudBase(env="env-1", api_key="k") as cb:
        source = await open_source(cb, body, idle_timeout=0.35)
        await source.__anext__()
        started = anyio.current_time()
        with pytest.raises(APITimeoutError):
            await source.__anext__()
        assert 0.3 < anyio.current_time() - started < 15
