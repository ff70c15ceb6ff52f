"""Tool runs against the local gateway's scripted model over real HTTP, under asyncio and
trio: calls over several steps, parallel calls (bounded, answered in the model's
order), the failure rules, max_steps, cancellation mid-tool and mid-stream (nothing
left checked out of the pool, no task left behind) and usage summed.

Concurrency is observed with events and gates, never with timings."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest

from cloudbase_async import CloudBase, StreamClosedError, StreamInterruptedError
from cloudbase_async.ai import (
    FinalCompletion,
    MaxStepsExceededError,
    ReasoningDelta,
    StepFinished,
    TextDelta,
    ToolArgumentsError,
    ToolCallStarted,
    ToolError,
    ToolExecutionError,
    ToolResult,
    ToolRun,
    ToolRunEvent,
    UnknownToolError,
    Usage,
    tool,
)
from cloudbase_async.local import LocalCloudBase, Reply, ToolCall
from tests.support.pool import checked_out

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.both_backends]

MODEL = "hy3-preview"
USAGE = {"stream_options": {"include_usage": True}}
# A guard against a run that deadlocks when the code under test is wrong: generous,
# and never what a test asserts.
DEADLOCK = 30


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


@tool
async def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "sky": "sunny"}


def run_tools(cb: CloudBase, tools: list[Any], **options: Any) -> ToolRun:
    options.setdefault("messages", [user("weather?")])
    return cb.ai.chat.completions.run_tools(model=MODEL, tools=tools, **options)


async def events_of(run: ToolRun) -> list[ToolRunEvent]:
    with anyio.fail_after(DEADLOCK):
        async with run:
            return [event async for event in run]


def kinds(events: list[ToolRunEvent]) -> list[str]:
    """Event kinds, consecutive repeats of the same kind and step folded into one."""
    out: list[str] = []
    for event in events:
        label = f"{type(event).__name__}@{getattr(event, 'step', '-')}"
        if not out or out[-1] != label:
            out.append(label)
    return out


async def tasks() -> list[str]:
    """The running tasks, once every task that can run has (under trio, httpx leaves an
    inner async generator of a closed response to a short-lived finaliser task, for
    plain streams too: that one is gone by then; a stray task would still be here)."""
    await anyio.wait_all_tasks_blocked()
    return sorted(str(t.name) for t in anyio.get_running_tasks())


# -- the loop -------------------------------------------------------------------------------


async def test_tool_calls_over_several_steps(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.script(
        ToolCall("get_weather", {"city": "Paris"}),
        Reply(content="Checking Oslo too.", tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]),
        Reply(content="Sunny in both.", reasoning="Both are sunny."),
    )
    run = run_tools(cloudbase, [get_weather], **USAGE)
    events = await events_of(run)

    assert kinds(events) == [
        "ToolCallStarted@1", "ToolResult@1", "StepFinished@1",
        "TextDelta@2", "ToolCallStarted@2", "ToolResult@2", "StepFinished@2",
        "ReasoningDelta@3", "TextDelta@3", "StepFinished@3",
        "FinalCompletion@-",
    ]  # fmt: skip
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "Checking Oslo too.Sunny in both."
    )
    assert [e.text for e in events if isinstance(e, ReasoningDelta)] == ["Both ", "are ", "sunny."]
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(e.id, e.name, json.loads(e.arguments)) for e in started] == [
        ("call_0_0", "get_weather", {"city": "Paris"}),
        ("call_1_0", "get_weather", {"city": "Oslo"}),
    ]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.id, r.ok, r.value) for r in results] == [
        ("call_0_0", True, {"city": "Paris", "sky": "sunny"}),
        ("call_1_0", True, {"city": "Oslo", "sky": "sunny"}),
    ]

    # The conversation, in the order the protocol requires.
    messages = run.messages
    assert [m["role"] for m in messages] == [
        "user", "assistant", "tool", "assistant", "tool", "assistant",
    ]  # fmt: skip
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert messages[2] == {
        "role": "tool",
        "tool_call_id": "call_0_0",
        "content": '{"city": "Paris", "sky": "sunny"}',
    }
    assert messages[3]["content"] == "Checking Oslo too."
    assert messages[3]["tool_calls"][0]["id"] == messages[4]["tool_call_id"] == "call_1_0"
    assert messages[5] == {"role": "assistant", "content": "Sunny in both."}

    # What the model was sent: the conversation so far, and the tools, every step.
    asked = cloudbase_local.ai.requests
    assert [r["messages"] for r in asked] == [messages[:1], messages[:3], messages[:5]]
    assert all(r["tools"] == [get_weather.definition] and r["stream"] for r in asked)

    # Usage: per step, and summed.
    steps = [e for e in events if isinstance(e, StepFinished)]
    per_step = [s.usage for s in steps]
    assert all(u is not None and u.total_tokens > 0 for u in per_step)
    total = Usage(
        sum(u.prompt_tokens for u in per_step if u),
        sum(u.completion_tokens for u in per_step if u),
        sum(u.total_tokens for u in per_step if u),
    )
    final = events[-1]
    assert isinstance(final, FinalCompletion)
    assert final.usage == run.usage == total
    assert final.steps == run.steps == 3
    assert final.completion.content == "Sunny in both."
    assert await run.get_final_completion() is final.completion  # after the block too
    assert checked_out(cloudbase) == 0


async def test_text_stream_and_get_final_completion(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.script(
        Reply(content="Let me look.", tool_calls=[ToolCall("get_weather", {"city": "Rome"})]),
        "It is sunny in Rome.",
    )
    async with run_tools(cloudbase, [get_weather]) as run:
        text = "".join([piece async for piece in run.text_stream])
        final = await run.get_final_completion()
    assert text == "Let me look.It is sunny in Rome."
    assert final.content == "It is sunny in Rome."
    assert run.usage is None  # not asked for: the local model, like OpenAI, sent none

    async with run_tools(cloudbase, [get_weather]) as unread:
        assert (await unread.get_final_completion()).content == "It is sunny in Rome."
    assert len(unread.messages) == 4


async def test_parallel_calls_run_together_and_answer_in_the_model_order(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    last_done = anyio.Event()
    finished: list[int] = []

    @tool
    async def lookup(i: int) -> str:
        """Look something up."""
        if i == 0:
            await last_done.wait()  # call 0 ends only once call 2 has: they run together
        if i == 2:
            last_done.set()
        finished.append(i)
        return f"result {i}"

    cloudbase_local.ai.script([ToolCall("lookup", {"i": i}) for i in range(3)], "done")
    run = run_tools(cloudbase, [lookup])
    events = await events_of(run)

    assert finished[-1] == 0
    assert kinds(events) == [
        "ToolCallStarted@1", "ToolResult@1", "StepFinished@1",
        "TextDelta@2", "StepFinished@2", "FinalCompletion@-",
    ]  # fmt: skip
    assert [e.index for e in events if isinstance(e, ToolCallStarted)] == [0, 1, 2]
    assert [e.content for e in events if isinstance(e, ToolResult)] == [
        "result 0",
        "result 1",
        "result 2",
    ]
    tools = [m for m in run.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["call_0_0", "call_0_1", "call_0_2"]
    assert [m["content"] for m in tools] == ["result 0", "result 1", "result 2"]


@pytest.mark.parametrize("max_parallel", [2, 3])
async def test_at_most_max_parallel_tools_run_at_once(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase, max_parallel: int
) -> None:
    running = 0
    seen: list[int] = []  # how many ran, each time one started
    starts: list[int] = []
    full = anyio.Event()  # set once max_parallel calls run at the same time

    @tool
    async def work(i: int) -> int:
        """Work."""
        nonlocal running
        running += 1
        seen.append(running)
        starts.append(i)
        if running == max_parallel:
            full.set()
        await full.wait()  # no call ends before max_parallel ran together
        running -= 1
        return i

    cloudbase_local.ai.script([ToolCall("work", {"i": i}) for i in range(6)], "done")
    events = await events_of(run_tools(cloudbase, [work], max_parallel=max_parallel))

    assert max(seen) == max_parallel
    assert starts == [0, 1, 2, 3, 4, 5]  # taken up in the model's order
    assert [e.value for e in events if isinstance(e, ToolResult)] == [0, 1, 2, 3, 4, 5]


async def test_one_call_after_the_other_when_not_parallel(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    log: list[str] = []

    @tool
    async def step(i: int) -> int:
        """A step."""
        log.append(f"start {i}")
        await anyio.lowlevel.checkpoint()
        log.append(f"end {i}")
        return i

    cloudbase_local.ai.script([ToolCall("step", {"i": i}) for i in range(3)], "done")
    announced: list[list[str]] = []
    order: list[str] = []
    with anyio.fail_after(DEADLOCK):
        async with run_tools(cloudbase, [step], parallel=False) as run:
            async for event in run:
                if isinstance(event, ToolCallStarted):
                    announced.append(list(log))  # what had run when it was announced
                    order.append(f"started {event.index}")
                elif isinstance(event, ToolResult):
                    order.append(f"result {event.index}")

    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
    assert order == [
        "started 0", "result 0", "started 1", "result 1", "started 2", "result 2",
    ]  # fmt: skip
    assert announced == [[], ["start 0", "end 0"], ["start 0", "end 0", "start 1", "end 1"]]


# -- failures ---------------------------------------------------------------------------


async def test_malformed_arguments_go_back_to_the_model(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    calls = 0

    @tool
    async def forecast(city: str, days: int = 1) -> str:
        """Forecast."""
        nonlocal calls
        calls += 1
        return "sunny"

    cloudbase_local.ai.script(
        [
            ToolCall("forecast", '{"city": "Par'),
            ToolCall("forecast", {"town": "Paris", "days": "2"}),
            ToolCall("forecast", {"city": "Paris"}),
        ],
        "Sorry, once more: sunny.",
    )
    run = run_tools(cloudbase, [forecast])
    events = await events_of(run)

    assert calls == 1  # only the good call ran
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [type(r.error) for r in results] == [ToolArgumentsError, ToolArgumentsError, type(None)]
    sent = [m["content"] for m in cloudbase_local.ai.requests[1]["messages"] if m["role"] == "tool"]
    assert sent[0].startswith("Invalid arguments for forecast: the arguments are not valid JSON")
    assert sent[1] == (
        "Invalid arguments for forecast: missing required argument 'city'; unexpected "
        "argument 'town' (known: city, days); days: expected integer, got string \"2\". "
        "Call forecast again with arguments that match its parameters."
    )
    assert sent[2] == "sunny"
    assert results[0].error is not None
    assert results[0].error.call is not None
    assert results[0].error.call.id == "call_0_0"


@tool
def explode(city: str) -> str:
    """Always fails (a sync tool: it runs in a worker thread)."""
    raise ValueError(f"no weather for {city}")


async def test_a_raising_tool_reports_or_raises(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.script(ToolCall("explode", {"city": "Atlantis"}), "Never mind.")
    reported = run_tools(cloudbase, [explode])
    events = await events_of(reported)
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert isinstance(result.error, ToolExecutionError)
    assert result.content == "explode failed: ValueError: no weather for Atlantis"
    assert reported.messages[2]["content"] == result.content
    assert (await reported.get_final_completion()).content == "Never mind."

    cloudbase_local.ai.reset()
    cloudbase_local.ai.script(ToolCall("explode", {"city": "Atlantis"}), "Never mind.")
    raising = run_tools(cloudbase, [explode], on_tool_error="raise")
    with pytest.raises(ToolExecutionError) as failed:
        await events_of(raising)
    assert isinstance(failed.value.__cause__, ValueError)
    assert failed.value.call is not None
    assert failed.value.call.id == "call_0_0"
    assert [m["role"] for m in raising.messages] == ["user", "assistant"]
    assert len(cloudbase_local.ai.requests) == 1
    assert checked_out(cloudbase) == 0
    with pytest.raises(ToolExecutionError):  # the run stays failed
        await raising.get_final_completion()

    cloudbase_local.ai.script(ToolCall("explode", {"city": "Atlantis"}))
    async with run_tools(cloudbase, [explode], on_tool_error="raise") as inside:
        assert isinstance(await inside.__anext__(), ToolCallStarted)
        for _ in range(2):  # read again inside the block: the same failure
            with pytest.raises(ToolExecutionError):
                await inside.__anext__()

    def polite(error: ToolError) -> str:
        return f"The tool {error.tool} is unavailable."

    cloudbase_local.ai.script(ToolCall("explode", {"city": "Atlantis"}), "Never mind.")
    custom = run_tools(cloudbase, [explode], on_tool_error=polite)
    await events_of(custom)
    assert custom.messages[2]["content"] == "The tool explode is unavailable."


async def test_raising_in_a_parallel_step_cancels_the_other_calls(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cancelled = anyio.Event()

    @tool
    async def wait_forever() -> str:
        """Never ends."""
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "unreachable"

    cloudbase_local.ai.script([ToolCall("wait_forever"), ToolCall("explode", {"city": "X"})])
    before = await tasks()
    with pytest.raises(ToolExecutionError):
        await events_of(run_tools(cloudbase, [wait_forever, explode], on_tool_error="raise"))
    assert cancelled.is_set()
    assert await tasks() == before
    assert checked_out(cloudbase) == 0


async def test_an_unknown_tool(cloudbase_local: LocalCloudBase, cloudbase: CloudBase) -> None:
    cloudbase_local.ai.script(ToolCall("teleport", {"to": "Mars"}), "I cannot teleport.")
    run = run_tools(cloudbase, [get_weather])
    events = await events_of(run)
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert isinstance(result.error, UnknownToolError)
    assert run.messages[2] == {
        "role": "tool",
        "tool_call_id": "call_0_0",
        "content": "Unknown tool 'teleport'. Available tools: get_weather.",
    }

    with pytest.raises(UnknownToolError) as unknown:
        await events_of(run_tools(cloudbase, [get_weather], on_tool_error="raise"))
    assert unknown.value.tool == "teleport"


async def test_max_steps_exceeded_carries_a_conversation_to_continue(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    cloudbase_local.ai.script(ToolCall("get_weather", {"city": "Paris"}))  # asks for ever
    run = run_tools(cloudbase, [get_weather], max_steps=3, **USAGE)
    seen: list[ToolRunEvent] = []

    async def read() -> None:
        async with run:
            async for event in run:
                seen.append(event)

    with pytest.raises(MaxStepsExceededError) as exceeded:
        await read()

    error = exceeded.value
    assert error.steps == 3
    assert [m["role"] for m in error.messages] == ["user"] + ["assistant", "tool"] * 3
    assert error.messages == run.messages
    assert len(cloudbase_local.ai.requests) == 3
    step_usage = [e.usage for e in seen if isinstance(e, StepFinished)]
    assert len(step_usage) == 3
    assert error.usage is not None
    assert error.usage.total_tokens == sum(u.total_tokens for u in step_usage if u)
    assert error.completion.choices[0].finish_reason == "tool_calls"
    assert checked_out(cloudbase) == 0

    # The conversation is whole: a new run continues it.
    cloudbase_local.ai.script("It is sunny in Paris.")
    more = run_tools(cloudbase, [get_weather], messages=error.messages)
    async with more:
        assert (await more.get_final_completion()).content == "It is sunny in Paris."
    assert cloudbase_local.ai.requests[-1]["messages"] == error.messages


async def test_a_stream_failure_mid_run_is_raised_as_itself(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    @tool
    async def break_next_answer() -> str:
        """Makes the gateway cut the next answer."""
        cloudbase_local.faults.add("POST /v1/ai/*", cut_after=2, times=1)
        return "ok"

    cloudbase_local.ai.script(ToolCall("break_next_answer"), "one two three four five")
    run = run_tools(cloudbase, [break_next_answer])
    with pytest.raises(StreamInterruptedError) as cut:
        await events_of(run)
    assert cut.value.partial is not None
    assert [m["role"] for m in run.messages] == ["user", "assistant", "tool"]
    assert checked_out(cloudbase) == 0


# -- cancellation ------------------------------------------------------------------------


async def cancel_when(event: anyio.Event, scope: anyio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def test_cancellation_mid_tool_cancels_the_running_tools(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    started: list[int] = []
    all_started = anyio.Event()
    cancelled: list[int] = []

    @tool
    async def hang(i: int) -> str:
        """Hangs."""
        started.append(i)
        if len(started) == 2:
            all_started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.append(i)
        return "unreachable"

    cloudbase_local.ai.script([ToolCall("hang", {"i": 0}), ToolCall("hang", {"i": 1})], "x")
    seen: list[ToolRunEvent] = []
    before = await tasks()
    with anyio.fail_after(DEADLOCK):
        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when, all_started, group.cancel_scope)
            async with run_tools(cloudbase, [hang]) as run:
                async for event in run:
                    seen.append(event)
    assert group.cancel_scope.cancelled_caught
    assert sorted(cancelled) == [0, 1]
    assert [type(e) for e in seen] == [ToolCallStarted, ToolCallStarted]
    assert await tasks() == before
    assert checked_out(cloudbase) == 0
    with pytest.raises(StreamClosedError):
        await run.__anext__()


async def test_a_sync_tool_is_waited_for_or_stops_when_it_checks(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    started = anyio.Event()
    release = threading.Event()
    outcome: list[str] = []

    @tool
    def blocking() -> str:
        """A sync tool that cannot be interrupted."""
        anyio.from_thread.run_sync(started.set)
        release.wait(DEADLOCK)
        outcome.append("blocking ran to its end")
        return "done"

    async def cancel_then_release(scope: anyio.CancelScope) -> None:
        await started.wait()
        scope.cancel()
        release.set()  # the run waits for the thread: it may only end after this

    cloudbase_local.ai.script(ToolCall("blocking"), "x")
    with anyio.fail_after(DEADLOCK):
        async with anyio.create_task_group() as group:
            group.start_soon(cancel_then_release, group.cancel_scope)
            async with run_tools(cloudbase, [blocking]) as run:
                await run.until_done()
    assert outcome == ["blocking ran to its end"]  # the block ended after the thread

    checking = anyio.Event()

    @tool
    def polite() -> str:
        """A sync tool that checks for cancellation."""
        anyio.from_thread.run_sync(checking.set)
        try:
            while True:
                anyio.from_thread.check_cancelled()
                release.wait(0.01)
        finally:
            outcome.append("polite stopped")

    release.clear()
    cloudbase_local.ai.script(ToolCall("polite"), "x")
    with anyio.fail_after(DEADLOCK):
        async with anyio.create_task_group() as group:
            group.start_soon(cancel_when, checking, group.cancel_scope)
            async with run_tools(cloudbase, [polite]) as run:
                await run.until_done()
    assert outcome[-1] == "polite stopped"
    assert checked_out(cloudbase) == 0


@pytest.mark.parametrize("how", ["cancel", "break", "raise"])
async def test_leaving_mid_stream_closes_the_model_stream(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase, how: str
) -> None:
    # 200 pieces 0.05 s apart: the answer is still streaming when the block ends.
    cloudbase_local.ai.script(Reply(content="word " * 200, delay=0.05))

    class Boom(Exception):
        pass

    before = await tasks()
    with anyio.fail_after(DEADLOCK), anyio.CancelScope() as scope:
        try:
            async with run_tools(cloudbase, [get_weather]) as run:
                async for event in run:
                    if isinstance(event, TextDelta):
                        if how == "cancel":
                            scope.cancel()
                        elif how == "break":
                            break
                        else:
                            raise Boom
        except Boom:
            pass  # the consumer's own exception, as itself (no exception group)
        assert checked_out(cloudbase) == 0  # closed now, not when the server is done
    assert scope.cancelled_caught == (how == "cancel")
    assert await tasks() == before
    assert len(cloudbase_local.ai.requests) == 1


async def test_a_run_may_span_a_yield(
    cloudbase_local: LocalCloudBase, cloudbase: CloudBase
) -> None:
    # What a relay does: the block lives in an async generator that its reader drops.
    cloudbase_local.ai.script(Reply(content="word " * 200, delay=0.05))

    async def relay() -> AsyncIterator[str]:
        async with run_tools(cloudbase, [get_weather]) as run:
            async for text in run.text_stream:
                yield text

    with anyio.fail_after(DEADLOCK):
        events = relay()
        assert await events.__anext__() == "word "
        await events.aclose()  # type: ignore[attr-defined]
    assert checked_out(cloudbase) == 0


async def test_a_run_is_entered_once_and_read_inside_its_block(cloudbase: CloudBase) -> None:
    run = run_tools(cloudbase, [get_weather])
    with pytest.raises(StreamClosedError, match="not open"):
        await run.__anext__()
    async with run:
        pass
    with pytest.raises(StreamClosedError, match="entered only once"):
        await run.__aenter__()
    with pytest.raises(StreamClosedError, match="closed"):
        await run.__anext__()
    assert run.messages == [user("weather?")]
