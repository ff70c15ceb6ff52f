"""The SSE decoder: ours vs the same bounded line splitter feeding httpx-sse's decoder.

Why the SDK does not build on httpx-sse. Its public reader (``EventSource.aiter_sse``)
buffers a line without limit (no event-size bound) and is an async generator (left to
the garbage collector when a stream is abandoned). Its sans-IO field decoder
(``httpx_sse._decoders.SSEDecoder``, a private module) could sit behind our bounded,
linear splitter, keeping every guarantee, but it works a ``str`` line at a time. This
measures the three side by side, in memory, on the chat-shaped events the AI streams
carry: (1) ours, (2) a decoder built on httpx-sse's field decoder that keeps every
guarantee of ours, (3) httpx-sse's own line pipeline (unbounded, for reference), each
alone and with the JSON decoding and typed-chunk structuring a chat stream adds.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Callable

from httpx_sse._decoders import SSEDecoder as FieldDecoder, SSELineDecoder

from cloudbase_async._core.sse import ServerSentEvent, SSEDecoder
from cloudbase_async.ai._decode import structure_chunk

from ._harness import OURS, Result, median, spread
from ._runner import Context

BENCH = "11 SSE decoder"
HYBRID = "built on httpx-sse, same guarantees"
HTTPX_SSE = "httpx-sse line pipeline (unbounded)"

_EVENT = (
    b"data: "
    + json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hello wor"}, "finish_reason": None}],
        }
    ).encode()
    + b"\n\n"
)


def _chunks(count: int) -> list[bytes]:
    blob = _EVENT * count
    return [blob[i : i + 16384] for i in range(0, len(blob), 16384)]


def _ours(chunks: list[bytes], each: Callable[[str], object]) -> int:
    decoder, n = SSEDecoder(), 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            each(event.data)
            n += 1
    return n


class _OnHttpxSse:
    """A decoder built on httpx-sse that keeps every guarantee of ours: the same linear
    byte splitting (CR/LF/CRLF across reads, BOM), the same bound on a line and on an
    event, the spec's rule that an event without data is not dispatched, and the same
    event type out; httpx-sse's sans-IO decoder applies the field rules line by line.
    It is what "build on httpx-sse" would have to be.
    """

    def __init__(self, max_event_size: int = 8 << 20) -> None:
        self._fields = FieldDecoder()
        self._max = max_event_size
        self._line = bytearray()
        self._size = 0
        self._has_data = False
        self._after_cr = False
        self._started = False
        self._head = b""

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        if not self._started:
            chunk = self._head + chunk
            if len(chunk) < 3 and b"\xef\xbb\xbf".startswith(chunk):
                self._head = chunk
                return []
            self._started = True
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        if not chunk:
            return []
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._after_cr = chunk[-1:] == b"\r"
        if b"\r" in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[ServerSentEvent] = []
        lines = chunk.split(b"\n")
        tail = lines.pop()
        if self._line:
            lines[0:1] = [bytes(self._line) + lines[0]] if lines else []
            if not lines:
                self._line += tail
                tail = b""
            else:
                self._line.clear()
        for line in lines:
            self._line_done(line, events)
        if tail:
            if len(self._line) + len(tail) > self._max:
                raise ValueError("event too large")
            self._line += tail
        return events

    def _line_done(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            event = self._fields.decode("")
            if self._has_data and event is not None:
                events.append(ServerSentEvent(event.data, event.event, event.id, event.retry))
            self._size = 0
            self._has_data = False
            return
        if line[0] == 58:  # a comment
            return
        self._size += len(line) + 1
        if self._size > self._max:
            raise ValueError("event too large")
        if line[:4] == b"data" and (len(line) == 4 or line[4] == 58):
            self._has_data = True
        self._fields.decode(line.decode("utf-8", "replace"))


def _hybrid(chunks: list[bytes], each: Callable[[str], object]) -> int:
    decoder, n = _OnHttpxSse(), 0
    for chunk in chunks:
        for event in decoder.feed(chunk):
            each(event.data)
            n += 1
    return n


def _httpx_sse(chunks: list[bytes], each: Callable[[str], object]) -> int:
    text, lines, fields, n = (
        codecs.getincrementaldecoder("utf-8")(),
        SSELineDecoder(),
        FieldDecoder(),
        0,
    )
    for chunk in chunks:
        for line in lines.decode(text.decode(chunk)):
            event = fields.decode(line)
            if event is not None:
                each(event.data)
                n += 1
    return n


def _typed(data: str) -> object:
    return structure_chunk(json.loads(data))


def _rate(
    decode: Callable[[list[bytes], Callable[[str], object]], int],
    chunks: list[bytes],
    each: Callable[[str], object],
    repeats: int,
) -> tuple[float, tuple[float, float]]:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        count = decode(chunks, each)
        rates.append(count / (time.perf_counter() - started))
    return median(rates), spread(rates)


def run(ctx: Context) -> list[Result]:
    count = ctx.n(20_000, 100_000)
    chunks = _chunks(count)
    repeats = ctx.n(3, 5)
    rows = []
    for case, each in (("decode only", lambda data: None), ("decode + JSON + typed chunk", _typed)):
        medians, spreads = {}, {}
        for name, decode in ((OURS, _ours), (HYBRID, _hybrid), (HTTPX_SSE, _httpx_sse)):
            medians[name], spreads[name] = _rate(decode, chunks, each, repeats)
        rows.append(
            Result(
                BENCH,
                f"{count:,} chat events in 16 KiB reads, in memory: {case}",
                "events/s",
                "higher",
                medians,
                spreads,
                "ours faster than any bounded alternative built on httpx-sse",
                medians[OURS] > medians[HYBRID],
            )
        )
    return rows
