"""Tools from Python functions, as pure units: the JSON Schema generated from type hints,
the strict check and structuring of a model's arguments, refusals at definition time,
invoking sync and async tools, rendering results, and run_tools' own argument checks."""

from __future__ import annotations

import enum
import functools
import json
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NewType

import attrs
import pytest

from cloudbase_async import CloudBase, CloudBaseError, InvalidRequestError
from cloudbase_async.ai import (
    ChatCompletionMessage,
    FunctionCall,
    Param,
    Tool,
    ToolArgumentsError,
    ToolCall,
    ToolDefinitionError,
    ToolError,
    ToolExecutionError,
    UnknownToolError,
    Usage,
    tool,
)
from cloudbase_async.ai._events import add_usage, assistant_message, with_ids


class Unit(enum.Enum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class Place:
    """A place on Earth."""

    city: Annotated[str, "The city's name"]
    country: str | None = None


@attrs.frozen
class Trip:
    stops: list[Place]
    when: datetime
    budget: Decimal = Decimal(0)


UserId = NewType("UserId", str)


# -- schemas ------------------------------------------------------------------------------


def test_the_schema_of_a_function() -> None:
    @tool
    async def forecast(
        place: Place,
        days: Annotated[int, Param("How many days ahead", minimum=1, maximum=14)] = 3,
        unit: Unit = Unit.CELSIUS,
        detail: Literal["short", "long"] | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """The weather forecast for a place.

        Uses the national service.
        """
        return {}

    assert forecast.name == "forecast"
    assert forecast.description == "The weather forecast for a place.\n\nUses the national service."
    assert forecast.parameters == {
        "type": "object",
        "properties": {
            "place": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city's name"},
                    "country": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
                "required": ["city"],
                "additionalProperties": False,
                "description": "A place on Earth.",
            },
            "days": {
                "type": "integer",
                "description": "How many days ahead",
                "minimum": 1,
                "maximum": 14,
                "default": 3,
            },
            "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
            "detail": {
                "anyOf": [{"type": "string", "enum": ["short", "long"]}, {"type": "null"}],
                "default": None,
            },
            "tags": {
                "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                "default": None,
            },
        },
        "required": ["place"],
        "additionalProperties": False,
    }
    assert forecast.definition == {
        "type": "function",
        "function": {
            "name": "forecast",
            "description": forecast.description,
            "parameters": forecast.parameters,
        },
    }
    json.dumps(forecast.definition)  # it goes out as JSON


def schema_of(annotation: Any) -> dict[str, Any]:
    """The schema of one parameter ``x`` of that type."""

    def probe(x: Any) -> None:
        pass

    probe.__annotations__ = {"x": annotation}
    properties: dict[str, Any] = tool(probe).parameters["properties"]
    return dict(properties["x"])


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (Any, {}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Level, {"type": "integer", "enum": [1, 2]}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (frozenset[str], {"type": "array", "items": {"type": "string"}}),
        (list, {"type": "array"}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (Mapping[str, Any], {"type": "object"}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (datetime, {"type": "string", "format": "date-time"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (Decimal, {"type": "number"}),
        (UserId, {"type": "string"}),
        (Annotated[str, "A name"], {"type": "string", "description": "A name"}),
        (
            Annotated[list[Annotated[int, Param(minimum=0)]], Param("Scores", maxItems=3)],
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "description": "Scores",
                "maxItems": 3,
            },
        ),
    ],
)
def test_the_schema_of_each_type(annotation: Any, schema: dict[str, Any]) -> None:
    assert schema_of(annotation) == schema


def test_nested_attrs_classes() -> None:
    schema = schema_of(Trip)
    assert schema["required"] == ["stops", "when"]
    assert schema["properties"]["stops"]["items"]["properties"]["city"] == {
        "type": "string",
        "description": "The city's name",
    }
    assert schema["properties"]["when"] == {"type": "string", "format": "date-time"}


def test_names_and_descriptions() -> None:
    def undocumented(q: str) -> str:
        return q

    assert tool(undocumented).description is None
    assert "description" not in tool(undocumented).definition["function"]
    named = tool(name="search", description="Search the docs.")(undocumented)
    assert (named.name, named.description) == ("search", "Search the docs.")

    def lookup(client: object, q: str) -> str:
        """Look up."""
        return q

    bound = tool(functools.partial(lookup, client=object()), name="lookup")
    assert bound.parameters["properties"] == {"q": {"type": "string"}}  # context hidden
    assert bound.description == "Look up."

    class Searcher:
        async def __call__(self, q: str) -> str:
            return q

    assert tool(Searcher(), name="s").parameters["required"] == ["q"]

    def nothing() -> str:
        return "ok"

    assert tool(nothing).parameters == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


# -- refused at definition time --------------------------------------------------------


def _no_hint(city) -> None:
    pass


def _star_args(*cities: str) -> None:
    pass


def _star_kwargs(**options: str) -> None:
    pass


def _positional(city: str, /) -> None:
    pass


def _bytes(blob: bytes) -> None:
    pass


def _int_keys(table: dict[int, str]) -> None:
    pass


def _pair(pair: tuple[int, str]) -> None:
    pass


def _plain_union(value: int | str) -> None:
    pass


def _plain_class(target: threading.Thread) -> None:
    pass


def _set_literal(mode: Literal[b"x"]) -> None:
    pass


@attrs.frozen
class Node:
    children: list[Node]


def _recursive(tree: Node) -> None:
    pass


@attrs.frozen
class Holder:
    blob: bytes


def _bad_field(holder: Holder) -> None:
    pass


@pytest.mark.parametrize(
    ("function", "words"),
    [
        (_no_hint, "parameter 'city' of _no_hint: it needs a type hint"),
        (_star_args, "parameter 'cities' of _star_args: *args and **kwargs"),
        (_star_kwargs, "parameter 'options' of _star_kwargs: *args and **kwargs"),
        (_positional, "parameter 'city' of _positional: a model passes arguments by name"),
        (_bytes, "parameter 'blob' of _bytes: bytes cannot be a tool argument"),
        (_int_keys, "parameter 'table' of _int_keys: dict[int, str] cannot be"),
        (_pair, "parameter 'pair' of _pair: tuple[int, str] cannot be"),
        (_plain_union, "parameter 'value' of _plain_union: the converter cannot structure"),
        (_plain_class, "parameter 'target' of _plain_class: Thread cannot be"),
        (_set_literal, "parameter 'mode' of _set_literal"),
        (_recursive, "a recursive type has no finite schema"),
        (_bad_field, "parameter 'holder' of _bad_field, field 'blob' of Holder: bytes"),
    ],
)
def test_what_cannot_be_a_tool_is_refused_naming_the_parameter(function: Any, words: str) -> None:
    with pytest.raises(ToolDefinitionError) as refused:
        tool(function)
    assert words in str(refused.value)
    assert isinstance(refused.value, InvalidRequestError)  # a CloudBaseError...
    assert isinstance(refused.value, TypeError)  # ...and what Python calls it


def test_bad_names_and_raw_schemas_are_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="pass name="):
        tool(lambda q: q)
    with pytest.raises(ToolDefinitionError, match="Invalid tool name 'two words'"):
        tool(_bytes, name="two words")
    with pytest.raises(ToolDefinitionError, match="JSON Schema of an object"):
        tool(_star_kwargs, parameters={"type": "array"})
    with pytest.raises(ToolDefinitionError, match="does not take the schema's properties"):
        tool(_positional, parameters={"type": "object", "properties": {"town": {}}})

    def not_json(x: Annotated[int, Param(examples={1, 2})]) -> None:
        pass

    with pytest.raises(ToolDefinitionError, match="Param keywords are not JSON"):
        tool(not_json)
    with pytest.raises(ToolDefinitionError, match="A tool is a function"):
        tool(42)  # type: ignore[call-overload]


# -- arguments: checked strictly, then structured by the converter ---------------------


@tool
def plan(trip: Trip, unit: Unit = Unit.CELSIUS, level: Level = Level.LOW) -> str:
    """Plan a trip."""
    return "ok"


def test_arguments_are_structured_by_the_converter() -> None:
    kwargs = plan.parse_arguments(
        json.dumps(
            {
                "trip": {
                    "stops": [{"city": "Paris"}, {"city": "Oslo", "country": "NO"}],
                    "when": "2025-05-01T10:00:00+00:00",
                    "budget": 12.5,
                },
                "unit": "F",
                "level": 2,
            }
        )
    )
    assert kwargs == {
        "trip": Trip(
            [Place("Paris"), Place("Oslo", "NO")],
            datetime(2025, 5, 1, 10, tzinfo=UTC),
            Decimal("12.5"),
        ),
        "unit": Unit.FAHRENHEIT,
        "level": Level.HIGH,
    }
    assert plan.parse_arguments({"trip": {"stops": [], "when": "2025-05-01"}})["trip"].stops == []


def test_numbers_follow_json_schema() -> None:
    @tool
    def scale(times: int, factor: float) -> None:
        pass

    kwargs = scale.parse_arguments('{"times": 2.0, "factor": 3}')
    assert kwargs == {"times": 2, "factor": 3.0}
    assert (type(kwargs["times"]), type(kwargs["factor"])) == (int, float)


def problems(t: Tool[..., Any], arguments: str) -> tuple[str, ...]:
    with pytest.raises(ToolArgumentsError) as invalid:
        t.parse_arguments(arguments)
    assert isinstance(invalid.value, ToolError)
    assert invalid.value.tool == t.name
    assert str(invalid.value).startswith(f"Invalid arguments for {t.name}: ")
    return invalid.value.problems


@tool
def flags(count: int, enabled: bool, name: str, ratio: float | None = None) -> None:
    """Strictness."""


def test_the_check_is_strict_where_the_converter_is_lenient() -> None:
    # The converter alone would turn "5" into 5 and "false" into True.
    assert problems(flags, '{"count": "5", "enabled": "false", "name": 7}') == (
        'count: expected integer, got string "5"',
        'enabled: expected boolean, got string "false"',
        "name: expected string, got integer 7",
    )
    assert problems(flags, '{"count": true, "enabled": 1, "name": null}') == (
        "count: expected integer, got boolean true",
        "enabled: expected boolean, got integer 1",
        "name: expected string, got null",
    )
    assert problems(flags, '{"count": 1.5, "enabled": true, "name": "x", "ratio": "1"}') == (
        "count: expected integer, got number 1.5",
        'ratio: expected number, got string "1"',
    )


def test_missing_unknown_and_nested_problems_name_their_place() -> None:
    assert problems(flags, '{"enabled": true, "name": "x", "colour": "red"}') == (
        "missing required argument 'count'",
        "unexpected argument 'colour' (known: count, enabled, name, ratio)",
    )
    found = problems(
        plan,
        json.dumps(
            {"trip": {"stops": [{"city": "Paris"}, {"town": "Oslo"}], "when": 1}, "unit": "K"}
        ),
    )
    assert found == (
        "missing required field 'city' in trip.stops[1]",
        "unexpected field 'town' in trip.stops[1] (known: city, country)",
        "trip.when: expected string, got integer 1",
        'unit: expected one of "C", "F", got string "K"',
    )


def test_arguments_that_are_not_a_json_object() -> None:
    assert problems(flags, '{"count": 1,') == (
        "the arguments are not valid JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 13 (char 12))",
    )
    assert problems(flags, "[1, 2]") == ("the arguments: expected object, got array",)
    assert problems(flags, "") == (
        "missing required argument 'count'",
        "missing required argument 'enabled'",
        "missing required argument 'name'",
    )
    assert problems(flags, "[" * 100_000) == ("the arguments are nested too deeply",)


def test_what_the_converter_refuses_is_an_arguments_error() -> None:
    found = problems(plan, '{"trip": {"stops": [], "when": "not a date"}}')
    assert len(found) == 1
    assert "trip" in found[0]


def test_a_raw_schema_tool_gets_the_decoded_object() -> None:
    seen: list[dict[str, Any]] = []

    def search(**arguments: Any) -> str:
        seen.append(arguments)
        return "found"

    schema = {"type": "object", "properties": {"query-text": {"type": "string"}}}
    raw = tool(search, parameters=schema)
    assert raw.parameters == schema
    assert raw.parse_arguments('{"query-text": 5}') == {"query-text": 5}  # not checked

    def fixed(query: str) -> str:
        return query

    strict = tool(fixed, parameters={"type": "object", "properties": {"query": {}}})
    assert problems(strict, '{"query": "x", "q": 1}') == ("got an unexpected keyword argument 'q'",)
    assert problems(strict, "[]") == ("expected a JSON object, got list",)


# -- invoking and rendering ---------------------------------------------------------------


@pytest.mark.anyio
async def test_invoke_async_and_sync_tools() -> None:
    threads: list[int] = []

    @tool
    async def add(a: int, b: int) -> int:
        """Add."""
        threads.append(threading.get_ident())
        return a + b

    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply."""
        threads.append(threading.get_ident())
        return a * b

    assert await add.invoke('{"a": 2, "b": 3}') == 5
    assert await multiply.invoke({"a": 2, "b": 3}) == 6
    assert threads[0] == threading.get_ident()  # awaited here
    assert threads[1] != threading.get_ident()  # a worker thread: the loop is not blocked
    assert await add(1, 1) == 2  # still the function
    assert multiply(2, 2) == 4


@pytest.mark.anyio
async def test_a_raising_tool_is_an_execution_error() -> None:
    @tool
    def explode(city: str) -> str:
        """Explode."""
        raise ValueError(f"no such city: {city}")

    with pytest.raises(ToolExecutionError) as failed:
        await explode.invoke('{"city": "Atlantis"}')
    assert str(failed.value) == "explode failed: ValueError: no such city: Atlantis"
    assert isinstance(failed.value.__cause__, ValueError)
    assert isinstance(failed.value, CloudBaseError)


def test_render() -> None:
    assert plan.render("plain text") == "plain text"
    assert plan.render({"a": [1, "é"]}) == '{"a": [1, "é"]}'
    assert plan.render(Place("Paris")) == '{"city": "Paris", "country": null}'
    assert plan.render(None) == "null"
    with pytest.raises(ToolExecutionError, match="plan returned a value that is not JSON"):
        plan.render(object())


def test_errors_are_cloudbase_errors() -> None:
    for cls in (ToolArgumentsError, UnknownToolError, ToolExecutionError):
        assert issubclass(cls, ToolError)
    assert issubclass(ToolError, CloudBaseError)


def test_usage_sums() -> None:
    one = Usage(1, 2, 3, {"cached": 1})
    assert add_usage(None, None) is None
    assert add_usage(None, one) == Usage(1, 2, 3)
    assert add_usage(one, None) is one
    assert add_usage(Usage(1, 2, 3), Usage(10, 20, 30)) == Usage(11, 22, 33)


def test_messages_in_the_protocols_shape() -> None:
    calls = with_ids(
        [ToolCall("", "function", FunctionCall("a", "{}")), ToolCall("x1", "", FunctionCall("b"))],
        step=2,
    )
    assert [c.id for c in calls] == ["tool_2_0", "x1"]  # a call without an id gets one
    message = ChatCompletionMessage(content=None, reasoning_content="thinking", tool_calls=calls)
    assert assistant_message(message, calls) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "tool_2_0", "type": "function", "function": {"name": "a", "arguments": "{}"}},
            {"id": "x1", "type": "function", "function": {"name": "b", "arguments": ""}},
        ],
    }  # reasoning is not sent back
    assert assistant_message(ChatCompletionMessage(content=None), []) == {
        "role": "assistant",
        "content": "",
    }


# -- run_tools refuses bad input before anything is sent -----------------------------------


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"tools": []}, "at least one tool"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "runs Tool objects"),
        ({"tools": [plan, plan]}, "Two tools are named 'plan'"),
        ({"max_steps": 0}, "max_steps must be an int >= 1"),
        ({"max_parallel": 0}, "max_parallel must be an int >= 1"),
        ({"max_parallel": True}, "max_parallel must be an int >= 1"),
        ({"on_tool_error": "ignore"}, "on_tool_error must be"),
        ({"n": 2}, "n must be 1"),
        ({"stream": True}, "leave out stream="),
        ({"model": None}, "model is required"),
        ({"messages": None}, "messages is required"),
        ({"provider": "a/b"}, "Invalid provider"),
    ],
)
def test_run_tools_checks_its_arguments(kwargs: dict[str, Any], words: str) -> None:
    cb = CloudBase(env="env-1", api_key="k")  # nothing is sent: no server needed
    call: dict[str, Any] = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [plan],
        **kwargs,
    }
    with pytest.raises(InvalidRequestError, match=words):
        cb.ai.chat.completions.run_tools(**call)
