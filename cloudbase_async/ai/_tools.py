"""Tools: Python functions a model can call, described by their signature.

>>> @tool
... async def get_weather(city: Annotated[str, "A city name"], unit: Literal["C", "F"] = "C"):
...     '''The current weather in a city.'''
...     return {"city": city, "temperature": 21, "unit": unit}

``get_weather`` is now a :class:`Tool`: ``name`` and ``description`` (the docstring),
``parameters`` (the JSON Schema of its parameters) and ``definition`` (what a request's
``tools`` list carries); calling it still calls the function. ``await
get_weather.invoke('{"city": "Paris"}')`` decodes, checks and structures the model's
arguments (with the shared converter) and runs the function: async functions are
awaited, sync ones run in a worker thread.

A function that cannot be described is refused here, when the tool is defined, with
a :class:`ToolDefinitionError` naming the parameter. Failures of a call are
:class:`ToolError` subclasses whose message is written for the model to read.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Generic, ParamSpec, TypeVar, overload

import anyio.to_thread
import attrs
import cattrs

from .._core.convert import converter
from .._core.errors import CloudBaseError
from ._models import ToolCall
from ._schema import Shape, ToolDefinitionError, object_shape, shape_of

__all__ = [
    "Tool",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolExecutionError",
    "UnknownToolError",
    "tool",
]

P = ParamSpec("P")
R = TypeVar("R")

# OpenAI's rule for function names; the gateway's model groups follow it.
_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# -- errors of one call -------------------------------------------------------------


class ToolError(CloudBaseError):
    """A tool call failed. The message is written for the model: by default a tool run
    sends it back as the call's result, so the model can correct itself.

    ``tool`` is the name the model used; ``call`` the :class:`~cloudbase_async.ai.ToolCall`
    (set by a tool run; ``None`` for a direct :meth:`Tool.invoke`).
    """

    tool: str
    call: ToolCall | None

    def __init__(self, message: str, *, tool: str, call: ToolCall | None = None) -> None:
        super().__init__(message)
        self.tool = tool
        self.call = call


class ToolArgumentsError(ToolError):
    """The arguments are not valid JSON, or do not fit the tool's parameters.

    ``problems`` lists each mismatch (``"days: expected integer, got string '3'"``).
    """

    problems: tuple[str, ...]

    def __init__(
        self,
        message: str,
        *,
        tool: str,
        problems: tuple[str, ...] = (),
        call: ToolCall | None = None,
    ) -> None:
        super().__init__(message, tool=tool, call=call)
        self.problems = problems


class UnknownToolError(ToolError):
    """The model called a tool that is not in the run's ``tools``."""


class ToolExecutionError(ToolError):
    """The tool raised (the exception is ``__cause__``), or returned something that
    cannot be written as JSON."""


def _invalid(tool: str, problems: list[str]) -> ToolArgumentsError:
    return ToolArgumentsError(
        f"Invalid arguments for {tool}: {'; '.join(problems)}. Call {tool} again with "
        "arguments that match its parameters.",
        tool=tool,
        problems=tuple(problems),
    )


def _decode(tool: str, arguments: str | Mapping[str, Any]) -> object:
    if not isinstance(arguments, str):
        return dict(arguments)
    if not arguments.strip():
        return {}  # some models send "" for a tool without parameters
    try:
        return json.loads(arguments)
    except ValueError as exc:
        raise _invalid(tool, [f"the arguments are not valid JSON ({exc})"]) from None
    except RecursionError:
        raise _invalid(tool, ["the arguments are nested too deeply"]) from None


# -- binding decoded arguments to the function ----------------------------------------


@attrs.frozen
class _Signature:
    """Arguments described by the function's type hints: checked strictly against
    the shape, then each one structured by the shared converter."""

    shape: Shape
    types: Mapping[str, Any]

    def bind(self, tool: str, decoded: object) -> dict[str, Any]:
        problems = list(self.shape.problems(decoded, ""))
        if problems:
            raise _invalid(tool, problems)
        assert isinstance(decoded, dict)  # the shape is an object: checked above
        kwargs: dict[str, Any] = {}
        for name, value in decoded.items():
            try:
                kwargs[name] = converter.structure(value, self.types[name])
            except Exception as exc:  # cattrs raises many kinds; say what it found
                found = "; ".join(cattrs.transform_error(exc, path=name))
                raise _invalid(tool, [found]) from None
        return kwargs


@attrs.frozen
class _RawSchema:
    """Arguments described by a JSON Schema of the caller's: any JSON object whose keys
    the function accepts, passed as decoded (the schema is the caller's to enforce)."""

    signature: inspect.Signature

    def bind(self, tool: str, decoded: object) -> dict[str, Any]:
        if not isinstance(decoded, dict):
            raise _invalid(tool, [f"expected a JSON object, got {type(decoded).__name__}"])
        try:
            self.signature.bind(**decoded)
        except TypeError as exc:
            raise _invalid(tool, [str(exc)]) from None
        return decoded


# -- the tool ---------------------------------------------------------------------------


@attrs.frozen(eq=False)
class Tool(Generic[P, R]):
    """A function the model can call. Build one with :func:`tool`.

    Calling the tool calls the function (so a decorated function stays usable and
    testable as itself).
    """

    #: The name the model calls it by.
    name: str
    #: What the model is told about it (the docstring unless given).
    description: str | None
    #: The JSON Schema of its arguments (an object).
    parameters: dict[str, Any]
    #: The function (sync or async).
    function: Callable[P, R] = attrs.field(repr=False)
    _binder: _Signature | _RawSchema = attrs.field(repr=False, alias="binder")
    _is_async: bool = attrs.field(repr=False, alias="is_async")

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    @property
    def definition(self) -> dict[str, Any]:
        """The tool as a request's ``tools`` item (``{"type": "function", ...}``)."""
        function: dict[str, Any] = {"name": self.name}
        if self.description:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}

    def parse_arguments(self, arguments: str | Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments for the function, from the model's JSON text (or an
        already decoded object); :class:`ToolArgumentsError` if they do not fit."""
        return self._binder.bind(self.name, _decode(self.name, arguments))

    async def invoke(self, arguments: str | Mapping[str, Any]) -> Any:
        """Parse ``arguments`` and run the function with them; return what it returned.

        :class:`ToolArgumentsError` when the arguments do not fit,
        :class:`ToolExecutionError` when the function raises. A sync function runs
        in a worker thread (``anyio.to_thread``): if the caller is cancelled, the
        thread still runs to its end (Python cannot interrupt a thread) and this
        waits for it; a long sync tool can call ``anyio.from_thread.check_cancelled()``
        to stop early.
        """
        kwargs = self.parse_arguments(arguments)
        function: Callable[..., Any] = self.function  # called by name, as the model does
        try:
            if self._is_async:
                return await function(**kwargs)
            return await anyio.to_thread.run_sync(functools.partial(function, **kwargs))
        except Exception as exc:
            raise ToolExecutionError(
                f"{self.name} failed: {type(exc).__name__}: {exc}", tool=self.name
            ) from exc

    def render(self, value: object) -> str:
        """The text the model gets for a result: a ``str`` as is, anything else as JSON
        (attrs instances through the shared converter); :class:`ToolExecutionError`
        if it cannot be written as JSON."""
        if isinstance(value, str):
            return value
        try:
            return json.dumps(converter.unstructure(value), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ToolExecutionError(
                f"{self.name} returned a value that is not JSON: {exc}", tool=self.name
            ) from exc


# -- building tools -------------------------------------------------------------------


def _target(function: Callable[..., Any]) -> Any:
    """Where a callable's name, docstring and type hints live."""
    while isinstance(function, functools.partial):
        function = function.func
    if inspect.isfunction(function) or inspect.ismethod(function):
        return function
    return type(function).__call__  # a callable object: its method holds the hints


def _bound_by_partial(function: Callable[..., Any]) -> frozenset[str]:
    """Keyword arguments a ``functools.partial`` fixed: context, not for the model."""
    names: set[str] = set()
    while isinstance(function, functools.partial):
        names.update(function.keywords)
        function = function.func
    return frozenset(names)


def _is_async(function: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(_target(function))


def _json_default(value: object) -> dict[str, Any]:
    try:
        default = converter.unstructure(value)
        json.dumps(default)
    except (TypeError, ValueError):
        return {}  # a default the schema cannot show is still the function's default
    return {"default": default}


def _signature(function: Callable[..., Any], name: str) -> inspect.Signature:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{name}: its signature cannot be read ({exc})") from None


def _described(function: Callable[..., Any], name: str) -> tuple[dict[str, Any], _Signature]:
    """The JSON Schema and binder of a function's parameters, from its type hints."""
    signature = _signature(function, name)
    try:
        hints = typing.get_type_hints(_target(function), include_extras=True)
    except Exception as exc:  # NameError for a forward reference, and others
        raise ToolDefinitionError(f"{name}: its type hints do not resolve ({exc})") from None
    shapes: dict[str, Shape] = {}
    types: dict[str, Any] = {}
    required: list[str] = []
    bound = _bound_by_partial(function)
    for parameter in signature.parameters.values():
        if parameter.name in bound:
            continue
        where = f"parameter {parameter.name!r} of {name}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"{where}: *args and **kwargs cannot be described to a model; name each "
                "parameter, or pass parameters= with a JSON Schema of your own."
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ToolDefinitionError(f"{where}: a model passes arguments by name only.")
        if parameter.name not in hints:
            raise ToolDefinitionError(f"{where}: it needs a type hint (e.g. `city: str`).")
        annotation = hints[parameter.name]
        shape = shape_of(annotation, where)
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        else:
            shape = attrs.evolve(
                shape, keywords={**shape.keywords, **_json_default(parameter.default)}
            )
        try:
            converter.get_structure_hook(annotation)
        except Exception as exc:  # e.g. `int | str`: a union of plain types
            raise ToolDefinitionError(
                f"{where}: the converter cannot structure {annotation!r} ({exc}); use one "
                "type, a Literal, or attrs classes."
            ) from None
        shapes[parameter.name] = shape
        types[parameter.name] = annotation
    shape = object_shape(shapes, tuple(required))
    return shape.schema(), _Signature(shape, types)


def _raw(
    function: Callable[..., Any], name: str, parameters: Mapping[str, Any]
) -> tuple[dict[str, Any], _RawSchema]:
    """A JSON Schema given by the caller: checked to be an object schema whose
    properties the function accepts by name."""
    schema = dict(parameters)
    if schema.get("type", "object") != "object":
        raise ToolDefinitionError(f"{name}: parameters must be a JSON Schema of an object.")
    try:
        json.dumps(schema)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{name}: parameters is not JSON ({exc}).") from None
    signature = _signature(function, name)
    properties = schema.get("properties", {})
    try:
        signature.bind_partial(**dict.fromkeys(properties))
    except TypeError as exc:
        raise ToolDefinitionError(
            f"{name}: the function does not take the schema's properties ({exc})."
        ) from None
    return schema, _RawSchema(signature)


def _make(
    function: Callable[P, R],
    name: str | None,
    description: str | None,
    parameters: Mapping[str, Any] | None,
) -> Tool[P, R]:
    if not callable(function):
        raise ToolDefinitionError(f"A tool is a function, got {function!r}.")
    target = _target(function)
    name = name if name is not None else getattr(target, "__name__", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ToolDefinitionError(
            f"Invalid tool name {name!r}: 1 to 64 letters, digits, '_' or '-' "
            "(pass name= for a lambda or a callable object)."
        )
    if description is None:
        doc = (
            inspect.getdoc(target)
            if inspect.isfunction(target) or inspect.ismethod(target)
            else None
        )
        description = doc or None
    binder: _Signature | _RawSchema
    if parameters is None:
        schema, binder = _described(function, name)
    else:
        schema, binder = _raw(function, name, parameters)
    return Tool(name, description, schema, function, binder=binder, is_async=_is_async(function))


@overload
def tool(
    function: Callable[P, R],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Tool[P, R]: ...


@overload
def tool(
    function: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    function: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make a :class:`Tool` of a sync or async function: ``@tool``, ``@tool(name=...)``
    or ``tool(fn, ...)``.

    :param name: the name the model calls it by (default: the function's name).
    :param description: what the model is told (default: the docstring).
    :param parameters: a JSON Schema of your own instead of the generated one; the
        function then gets the decoded JSON object's keys as keyword arguments, as
        decoded (not checked against the schema, not structured).

    Without ``parameters``, each parameter needs a type hint: ``str``, ``int``,
    ``float``, ``bool``, ``Literal``, ``Enum``, lists, ``dict[str, ...]``, unions with
    ``None``, attrs classes, ``datetime``, ``UUID``, ``Decimal`` (the README's "Tool
    runs" has the table); ``Annotated[T, "text"]`` or ``Annotated[T, Param("text",
    minimum=1)]`` describe it. Parameters without a
    default are required; ``*args``, ``**kwargs`` and positional-only parameters are
    refused. To give a tool context (a client, the current user), bind it with
    ``functools.partial`` and pass ``name=``.
    """
    if function is None:
        return lambda fn: _make(fn, name, description, parameters)
    return _make(function, name, description, parameters)
