"""A deterministic scripted model at ``/v1/ai/{provider}/chat/completions``.

It answers the OpenAI Chat Completions protocol, plain and streamed, in the shapes the
gateway's OpenAI-compatible groups use: a role chunk, reasoning and content chunks,
tool calls (parallel ones by ``index``, arguments in fragments), a chunk with the
``finish_reason``, a usage chunk when ``stream_options.include_usage`` is set, then
``data: [DONE]``.

What it says is up to the test (``local.ai``):

* nothing configured: it echoes the last user message;
* ``reply(x)``: every request gets ``x``;
* ``script(a, b, c)``: a conversation-aware script. The turn is the number of
  ``assistant`` messages already in the request, so the first request gets ``a``, the
  request that carries ``a``'s tool calls and their ``tool`` results gets ``b``, and so
  on; past the end the last turn repeats. A retried request gets the same answer.

Each reply is a ``str``, a :class:`Reply`, a :class:`ToolCall` or a list of them
(parallel calls), or a callable of the messages returning one of those (sync or async).
Faults (429 with ``Retry-After``, 5xx, a 200 ``code`` body, a stream cut, a stall, a
malformed chunk) come from ``local.faults`` like for every other service.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import anyio
import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from ._http import gateway_error, read_json
from ._identity import CredentialError, Identify

__all__ = ["Reply", "ReplySpec", "ScriptedModel", "ToolCall", "routes"]

_PATHS: Final = ("chat/completions", "v1/chat/completions")
_WORDS: Final = re.compile(r"\s*\S+\s*|\s+")
_ARGUMENT_PIECE: Final = 12


@attrs.frozen
class ToolCall:
    """A tool call the model makes: ``arguments`` as a mapping (sent as JSON) or a raw
    string (for testing malformed arguments). ``id`` defaults to ``call_{turn}_{index}``."""

    name: str
    arguments: Mapping[str, Any] | str = attrs.field(factory=dict)
    id: str | None = None


def _tool_calls(value: Sequence[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(value)


@attrs.frozen
class Reply:
    """One answer of the model.

    :param content: the text (streamed in pieces).
    :param reasoning: ``reasoning_content``, streamed before the text.
    :param tool_calls: calls to make, in order (several: parallel calls).
    :param finish_reason: default ``"tool_calls"`` with tool calls, else ``"stop"``.
    :param usage: ``{"prompt_tokens", "completion_tokens", "total_tokens"}``; default
        counted in words, deterministically.
    :param chunk_size: characters per content piece; ``None``: one word per piece.
    :param delay: seconds between two chunks of a stream.
    """

    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_tool_calls)
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None
    chunk_size: int | None = attrs.field(default=None)
    delay: float = 0.0

    @chunk_size.validator
    def _check_chunk_size(self, attribute: Any, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("chunk_size must be >= 1, or None for one word per piece.")


Messages: TypeAlias = list[dict[str, Any]]
ReplyValue: TypeAlias = str | Reply | ToolCall | Sequence[ToolCall]
#: What a turn may be: a reply, or a callable of the messages returning one.
ReplySpec: TypeAlias = ReplyValue | Callable[[Messages], ReplyValue | Awaitable[ReplyValue]]


def _as_reply(value: object) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return Reply(content=value)
    if isinstance(value, ToolCall):
        return Reply(tool_calls=(value,))
    if isinstance(value, Sequence) and all(isinstance(v, ToolCall) for v in value):
        return Reply(tool_calls=tuple(value))
    raise TypeError(f"A reply is a str, Reply, ToolCall or list of ToolCall, got {value!r}.")


def _check_spec(spec: object) -> None:
    if not callable(spec):
        _as_reply(spec)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _echo(messages: Messages) -> Reply:
    users = [m for m in messages if m.get("role") == "user"]
    return Reply(content=_text(users[-1].get("content")) if users else "")


class ScriptedModel:
    """``local.ai``: what the local model answers, and what it was asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._turns: tuple[ReplySpec, ...] = ()
        self._requests: list[dict[str, Any]] = []

    def reply(self, spec: ReplySpec, /) -> None:
        """Answer every request with ``spec`` (see the module docs)."""
        self.script(spec)

    def script(self, *turns: ReplySpec) -> None:
        """Answer turn ``k`` of a conversation (``k`` = assistant messages in the
        request) with ``turns[k]``; the last turn repeats."""
        if not turns:
            raise ValueError("script() needs at least one turn.")
        for turn in turns:
            _check_spec(turn)
        with self._lock:
            self._turns = turns

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copies of the request bodies received, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)

    def reset(self) -> None:
        """Back to echoing, with no requests recorded."""
        with self._lock:
            self._turns = ()
            self._requests.clear()

    async def answer(self, body: Mapping[str, Any]) -> tuple[Reply, int]:
        """The reply to a request body, and its turn number."""
        messages: Messages = list(body["messages"])
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        with self._lock:
            self._requests.append(copy.deepcopy(dict(body)))
            turns = self._turns
        if not turns:
            return _echo(messages), turn
        spec = turns[min(turn, len(turns) - 1)]
        value: object = spec(copy.deepcopy(messages)) if callable(spec) else spec
        if inspect.isawaitable(value):
            value = await value
        return _as_reply(value), turn


# -- pure: a reply as the protocol's bodies ---------------------------------------------


def _pieces(text: str, size: int | None) -> list[str]:
    if not text:
        return []
    if size is None:
        return _WORDS.findall(text)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _arguments(call: ToolCall) -> str:
    if isinstance(call.arguments, str):
        return call.arguments
    return json.dumps(call.arguments, ensure_ascii=False)


def _words(text: str) -> int:
    return len(text.split())


def usage_of(reply: Reply, messages: Messages) -> dict[str, int]:
    if reply.usage is not None:
        return dict(reply.usage)
    prompt = max(1, sum(_words(_text(m.get("content"))) for m in messages))
    completion = _words(reply.content) + _words(reply.reasoning or "")
    completion += sum(max(1, _words(_arguments(c))) for c in reply.tool_calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _finish_reason(reply: Reply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _call_id(call: ToolCall, turn: int, index: int) -> str:
    return call.id or f"call_{turn}_{index}"


def deltas(reply: Reply, turn: int) -> list[dict[str, Any]]:
    """The stream's deltas (the first one carries the role)."""
    out: list[dict[str, Any]] = [
        {"reasoning_content": piece} for piece in _pieces(reply.reasoning or "", reply.chunk_size)
    ]
    out += [{"content": piece} for piece in _pieces(reply.content, reply.chunk_size)]
    for index, call in enumerate(reply.tool_calls):
        head = {
            "index": index,
            "id": _call_id(call, turn, index),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        out.append({"tool_calls": [head]})
        for piece in _pieces(_arguments(call), reply.chunk_size or _ARGUMENT_PIECE):
            out.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    if not out:
        return [{"role": "assistant", "content": ""}]
    # The js-sdk decides "this is a tool-call answer" from the first delta: the role
    # rides on the first real piece, as OpenAI sends it.
    first = {"role": "assistant", **out[0]}
    if "content" not in first:
        first["content"] = None if reply.tool_calls and not reply.reasoning else ""
    return [first, *out[1:]]


def completion_body(
    reply: Reply, turn: int, *, model: str, completion_id: str, created: int, messages: Messages
) -> dict[str, Any]:
    """The non-streamed ``chat.completion``."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.content if reply.content or not reply.tool_calls else None,
    }
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, turn, index),
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments(call)},
            }
            for index, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _finish_reason(reply),
            }
        ],
        "usage": usage_of(reply, messages),
    }


def chunk_bodies(
    reply: Reply,
    turn: int,
    *,
    model: str,
    completion_id: str,
    created: int,
    messages: Messages,
    include_usage: bool,
) -> list[dict[str, Any]]:
    """Every ``chat.completion.chunk`` of the streamed answer, in order."""
    base = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }
    extra: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**base, "choices": [choice], **extra}

    out = [chunk(delta, None) for delta in deltas(reply, turn)]
    out.append(chunk({}, _finish_reason(reply)))
    if include_usage:
        out.append({**base, "choices": [], "usage": usage_of(reply, messages)})
    return out


# -- the route -------------------------------------------------------------------------


def _invalid(request: Request, body: object) -> Response | None:
    if not isinstance(body, dict):
        return gateway_error(
            request, 400, "AI_MODEL_PARAM_INVALID", "The body must be a JSON object."
        )
    if not body.get("model") or not isinstance(body["model"], str):
        return gateway_error(request, 400, "AI_MODEL_PARAM_REQUIRED", "model is required.")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages)
    ):
        return gateway_error(
            request,
            400,
            "AI_MODEL_PARAM_INVALID",
            "messages must be a non-empty list of {role, content}.",
        )
    return None


def routes(model: ScriptedModel, identify: Identify) -> list[BaseRoute]:
    """``POST /v1/ai/{provider}/{path}`` (``chat/completions``, ``v1/chat/completions``)."""
    counter = itertools.count(1)

    async def endpoint(request: Request) -> Response:
        try:
            identify(request.headers.get("authorization"))
        except CredentialError as exc:
            return gateway_error(request, exc.status, exc.code, exc.message)
        if request.path_params["path"] not in _PATHS:
            return gateway_error(
                request,
                400,
                "AI_MODEL_NOT_SUPPORTED",
                "The local model answers chat/completions only.",
            )
        try:
            body = await read_json(request)
        except ValueError as exc:
            return gateway_error(
                request, 400, "AI_MODEL_PARAM_INVALID", f"The body is not JSON: {exc}"
            )
        if (invalid := _invalid(request, body)) is not None:
            return invalid
        try:
            reply, turn = await model.answer(body)
        except Exception as exc:
            return gateway_error(
                request, 500, "AI_MODEL_REQUEST_FAILED", f"The script failed: {exc!r}"
            )
        shape = {
            "model": body["model"],
            "completion_id": f"chatcmpl-local-{next(counter)}-{uuid.uuid4().hex[:8]}",
            "created": int(time.time()),
            "messages": body["messages"],
        }
        if not body.get("stream"):
            return JSONResponse(completion_body(reply, turn, **shape))
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        chunks = chunk_bodies(reply, turn, include_usage=include_usage, **shape)

        async def events() -> AsyncIterator[bytes]:
            for index, chunk in enumerate(chunks):
                if index and reply.delay:
                    await anyio.sleep(reply.delay)
                yield b"data: " + json.dumps(chunk, ensure_ascii=False).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    return [Route("/v1/ai/{provider}/{path:path}", endpoint, methods=["POST"])]
