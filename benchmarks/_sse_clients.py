"""The three ways benchmarks #2, #3, #6 and #7 read a chat stream, side by side.

* ours: ``async with cb.ai.chat.completions.stream(...) as s: async for chunk in s``;
  typed chunks (slotted attrs classes) and the completion accumulated as it goes.
* the floor: raw httpx + httpx-sse + ``json.loads``: dicts, nothing accumulated.
* openai: ``await client.chat.completions.create(..., stream=True)`` then
  ``async for chunk in stream`` (pydantic models).

Each reader touches the text delta of every chunk, so none can skip decoding.
The server routes ``/v1/chat/completions``: ours reaches it with ``endpoints={"ai": url}``
and ``provider="v1"``, openai with ``base_url=url + "/v1"``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from cloudbase_async import CloudBase

MESSAGES = [{"role": "user", "content": "stream please"}]
FLOOR = "raw httpx-sse + json.loads"
OPENAI = "openai AsyncOpenAI stream"


def ours_client(url: str, **kwargs: Any) -> CloudBase:
    kwargs.setdefault("endpoints", {"ai": url})
    return CloudBase(env="bench", api_key="bench-key", **kwargs)


def raw_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(headers={"Authorization": "Bearer bench-key"}, **kwargs)


def openai_client(url: str, **kwargs: Any) -> Any:
    """An ``AsyncOpenAI`` on the server, or ``None`` when openai is not installed."""
    try:
        import httpx2
        from openai import AsyncOpenAI
    except ImportError:
        return None
    return AsyncOpenAI(
        api_key="bench-key",
        base_url=url + "/v1",
        max_retries=0,
        http_client=httpx2.AsyncClient(**kwargs),
    )


async def read_ours(cb: CloudBase, model: str) -> int:
    """Chunks read through our typed stream."""
    count = 0
    async with cb.ai.chat.completions.stream(
        provider="v1", model=model, messages=MESSAGES
    ) as stream:
        async for chunk in stream:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018 - touch what a caller reads
            count += 1
    return count


async def read_floor(client: httpx.AsyncClient, url: str, model: str) -> int:
    count = 0
    body = {"model": model, "messages": MESSAGES, "stream": True}
    async with aconnect_sse(client, "POST", url + "/v1/chat/completions", json=body) as source:
        source.response.raise_for_status()
        async for event in source.aiter_sse():
            if event.data == "[DONE]":
                break
            obj = json.loads(event.data)
            if obj["choices"]:
                obj["choices"][0]["delta"].get("content")
            count += 1
    return count


async def read_openai(client: Any, model: str) -> int:
    count = 0
    stream = await client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    async with stream:
        async for chunk in stream:
            if chunk.choices:
                chunk.choices[0].delta.content  # noqa: B018
            count += 1
    return count
