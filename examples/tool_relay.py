"""Relay a tool run to a browser: a FastAPI endpoint streams the model's text and the
tools' progress as server-sent events, and stops everything when the browser leaves.

    python examples/tool_relay.py        # then open http://127.0.0.1:8000

With ``CLOUDBASE_ENV`` and a key (``CLOUDBASE_API_KEY`` or ``CLOUDBASE_PUBLISHABLE_KEY``)
set, this uses your environment (``CLOUDBASE_AI_MODEL``, default ``hy3-preview``).
Without them it starts a local CloudBase whose scripted model calls the weather tool,
so it runs offline.

``POST /chat`` with ``{"messages": [...]}`` answers ``text/event-stream``:

=============== ======================================= ===========================
event           data                                    when
=============== ======================================= ===========================
``text``        ``{"text"}``                            a piece of the answer
``tool``        ``{"id", "name", "arguments"}``         a tool call starts
``tool_result`` ``{"id", "name", "ok", "content"}``     it ended
``done``        ``{"usage"}``                           the answer is complete
``error``       ``{"message"}``                         the run failed
=============== ======================================= ===========================

When the browser goes away, Starlette cancels the response's body (uvicorn tells it
at once); the run's ``async with`` then closes the model stream and cancels the
running tools before the handler returns. A run may span the ``yield`` of this async
generator: it holds no task or cancel scope between two events.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from cloudbase_async import CloudBase, CloudBaseError
from cloudbase_async.ai import (
    FinalCompletion,
    TextDelta,
    Tool,
    ToolCallStarted,
    ToolResult,
    tool,
)


@tool
async def get_weather(city: Annotated[str, "A city name, e.g. 'Paris'"]) -> dict[str, Any]:
    """The current weather in a city."""
    return {"city": city, "sky": "sunny", "celsius": 21}


def sse(event: str, data: object) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def relay(
    cb: CloudBase, messages: list[dict[str, Any]], *, model: str, tools: Sequence[Tool[..., Any]]
) -> AsyncIterator[str]:
    """The run's events as server-sent events for the browser."""
    try:
        async with cb.ai.chat.completions.run_tools(
            model=model, messages=messages, tools=tools, idle_timeout=30
        ) as run:
            async for event in run:
                match event:
                    case TextDelta(text=text):
                        yield sse("text", {"text": text})
                    case ToolCallStarted(id=call_id, name=name, arguments=arguments):
                        yield sse("tool", {"id": call_id, "name": name, "arguments": arguments})
                    case ToolResult(id=call_id, name=name, ok=ok, content=content):
                        yield sse(
                            "tool_result",
                            {"id": call_id, "name": name, "ok": ok, "content": content},
                        )
                    case FinalCompletion(usage=usage):
                        total = None if usage is None else usage.total_tokens
                        yield sse("done", {"usage": {"total_tokens": total}})
    except CloudBaseError as exc:  # APIError, StreamError, MaxStepsExceededError...
        yield sse("error", {"message": str(exc)})


def create_app(
    client: Callable[[], CloudBase] = CloudBase,
    *,
    model: str = "hy3-preview",
    tools: Sequence[Tool[..., Any]] = (get_weather,),
) -> FastAPI:
    """The relay app; ``client()`` makes its CloudBase client at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with client() as cb:
            app.state.cb = cb
            yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/chat")
    async def chat(request: Request) -> StreamingResponse:
        body = await request.json()
        events = relay(request.app.state.cb, body["messages"], model=model, tools=tools)
        return StreamingResponse(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE

    return app


PAGE = """<!doctype html>
<meta charset="utf-8"><title>Tool relay</title>
<form id="ask"><input id="q" size="50" value="What is the weather in Paris?">
<button>Ask</button></form>
<pre id="out"></pre>
<script>
ask.onsubmit = async (e) => {
  e.preventDefault();
  out.textContent = "";
  const response = await fetch("/chat", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({messages: [{role: "user", content: q.value}]}),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\\n\\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = frame.match(/^event: (.*)$/m)[1];
      const data = JSON.parse(frame.match(/^data: (.*)$/m)[1]);
      out.textContent += event === "text" ? data.text : `\\n[${event}] ${JSON.stringify(data)}\\n`;
    }
  }
};
</script>
"""


def main() -> None:
    import uvicorn

    if os.environ.get("CLOUDBASE_ENV") and (
        os.environ.get("CLOUDBASE_API_KEY") or os.environ.get("CLOUDBASE_PUBLISHABLE_KEY")
    ):
        model = os.environ.get("CLOUDBASE_AI_MODEL", "hy3-preview")
        uvicorn.run(create_app(model=model), host="127.0.0.1", port=8000)
        return

    from cloudbase_async.local import LocalCloudBase, Reply, ToolCall

    def scripted_model(messages: list[dict[str, Any]]) -> Reply | str:
        results = [m for m in messages if m["role"] == "tool"]
        if not results:
            return Reply(
                content="Let me check. ", tool_calls=[ToolCall("get_weather", {"city": "Paris"})]
            )
        weather = json.loads(results[-1]["content"])
        return f"It is {weather['sky']} in {weather['city']}, {weather['celsius']} °C."

    print("(no CloudBase credentials set: a local CloudBase with a scripted model)")
    with LocalCloudBase() as local:
        local.ai.reply(scripted_model)
        uvicorn.run(create_app(local.client, model="local"), host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
