"""JSON Schema from Python type hints, and a strict check of decoded JSON against it.

:func:`shape_of` walks a type once and returns a :class:`Shape`: the JSON Schema the
model is shown, and the check that a decoded value fits it. Both come from the same
walk, so what the model is told and what is checked cannot disagree.

The check exists because the shared converter is lenient on purpose: it structures
``"5"`` into ``5`` and ``"false"`` into ``True``, which is right for reading a server's
answers and wrong for a model's tool arguments (a model that wrote the wrong type must
be told, not silently "corrected"). So arguments are checked here first, then
structured by the converter. A general JSON Schema validator would be a new dependency
for the small subset generated here, and its messages are written for people reading
schemas, not for a model correcting a call.

Supported: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``Literal``,
``Enum``, ``list``/``Sequence``/``set``/``frozenset``/``tuple[X, ...]``,
``dict[str, X]``/``Mapping[str, X]``, unions (``X | None``), attrs classes (nested,
not recursive), ``datetime``, ``UUID``, ``Decimal``, ``NewType``, and ``Annotated[X,
"description"]`` or ``Annotated[X, Param(...)]`` for descriptions and extra keywords.
"""

from __future__ import annotations

import collections.abc as abc
import enum
import json
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, Union

import attrs

from .._core.errors import InvalidRequestError

__all__ = ["Param", "Shape", "ToolDefinitionError", "describe", "object_shape", "shape_of"]


class ToolDefinitionError(InvalidRequestError, TypeError):
    """A function or type cannot become a tool: the message names the parameter.

    Raised when the tool is defined (at decoration time), never when it is called.
    """


@attrs.frozen(init=False, eq=False)  # hashable by identity: cattrs caches by type
class Param:
    """``Annotated`` metadata for a parameter or an attrs field: a description and any
    other JSON Schema keywords, merged into the generated schema.

    >>> days: Annotated[int, Param("How many days ahead", minimum=1, maximum=14)]

    Keywords are shown to the model; the check enforces types, required fields, enums
    and literals, not keywords such as ``minimum`` or ``pattern`` (validate those in
    the tool, or with an attrs validator, and raise: the model gets the message).
    """

    description: str | None
    keywords: Mapping[str, Any]

    def __init__(self, description: str | None = None, /, **keywords: Any) -> None:
        self.__attrs_init__(description, keywords)

    def schema(self) -> dict[str, Any]:
        described = {} if self.description is None else {"description": self.description}
        return {**described, **self.keywords}


# -- shapes: a schema and its check ---------------------------------------------------

Problems = Iterator[str]


def describe(value: object) -> str:
    """A short JSON-flavoured description of a decoded value, for a model to read."""
    kind = _json_type(value)
    if kind in ("null", "array", "object"):
        return kind
    text = json.dumps(value, ensure_ascii=False)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


@attrs.frozen
class Shape:
    """Base of the shapes: ``schema()`` for the model, ``problems()`` for a value.

    ``keywords`` are the ``Annotated`` additions (description, ``minimum``...).
    """

    keywords: Mapping[str, Any] = attrs.field(factory=dict, kw_only=True)

    def schema(self) -> dict[str, Any]:
        return {**self._schema(), **self.keywords}

    def _schema(self) -> dict[str, Any]:
        return {}

    def problems(self, value: object, path: str) -> Problems:
        """What is wrong with ``value`` (decoded JSON) at ``path``; nothing if it fits."""
        return iter(())


@attrs.frozen
class _Scalar(Shape):
    json_type: str
    accepts: Callable[[object], bool]
    format: str | None = None

    def _schema(self) -> dict[str, Any]:
        formatted = {} if self.format is None else {"format": self.format}
        return {"type": self.json_type, **formatted}

    def problems(self, value: object, path: str) -> Problems:
        if not self.accepts(value):
            yield f"{path or 'the arguments'}: expected {self.json_type}, got {describe(value)}"


def _is_integer(value: object) -> bool:
    # JSON Schema counts 2.0 as an integer; the converter turns it into 2.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_STRING: Final = _Scalar("string", lambda v: isinstance(v, str))
_SCALARS: Final[Mapping[Any, _Scalar]] = {
    str: _STRING,
    bool: _Scalar("boolean", lambda v: isinstance(v, bool)),
    int: _Scalar("integer", _is_integer),
    float: _Scalar("number", _is_number),
    type(None): _Scalar("null", lambda v: v is None),
    datetime: _Scalar("string", lambda v: isinstance(v, str), "date-time"),
    uuid.UUID: _Scalar("string", lambda v: isinstance(v, str), "uuid"),
    Decimal: _Scalar("number", _is_number),
}


def _same(a: object, b: object) -> bool:
    # `True == 1` in Python, not in JSON.
    return type(a) is type(b) and a == b


@attrs.frozen
class _Choice(Shape):
    """``Literal`` values, or an ``Enum``'s values."""

    values: tuple[object, ...]

    def _schema(self) -> dict[str, Any]:
        kinds = {_json_type(v) for v in self.values}
        typed = {"type": kinds.pop()} if len(kinds) == 1 else {}
        return {**typed, "enum": list(self.values)}

    def problems(self, value: object, path: str) -> Problems:
        if not any(_same(value, v) for v in self.values):
            allowed = ", ".join(json.dumps(v, ensure_ascii=False) for v in self.values)
            yield f"{path or 'the arguments'}: expected one of {allowed}, got {describe(value)}"


@attrs.frozen
class _Array(Shape):
    items: Shape

    def _schema(self) -> dict[str, Any]:
        items = self.items.schema()
        return {"type": "array", **({"items": items} if items else {})}

    def problems(self, value: object, path: str) -> Problems:
        if not isinstance(value, list):
            yield f"{path or 'the arguments'}: expected array, got {describe(value)}"
            return
        for index, item in enumerate(value):
            yield from self.items.problems(item, _at(path, index))


@attrs.frozen
class _Map(Shape):
    values: Shape

    def _schema(self) -> dict[str, Any]:
        values = self.values.schema()
        return {"type": "object", **({"additionalProperties": values} if values else {})}

    def problems(self, value: object, path: str) -> Problems:
        if not isinstance(value, dict):
            yield f"{path or 'the arguments'}: expected object, got {describe(value)}"
            return
        for key, item in value.items():
            yield from self.values.problems(item, _at(path, key))


@attrs.frozen
class _Object(Shape):
    """A fixed set of properties (a function's parameters, an attrs class's fields);
    unknown ones are refused, as ``additionalProperties: false`` says."""

    properties: Mapping[str, Shape]
    required: tuple[str, ...]

    def _schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: shape.schema() for name, shape in self.properties.items()},
        }
        if self.required:
            schema["required"] = list(self.required)
        schema["additionalProperties"] = False
        return schema

    def problems(self, value: object, path: str) -> Problems:
        if not isinstance(value, dict):
            yield f"{path or 'the arguments'}: expected object, got {describe(value)}"
            return
        what, where = ("field", f" in {path}") if path else ("argument", "")
        for name in self.required:
            if name not in value:
                yield f"missing required {what} {name!r}{where}"
        for key, item in value.items():
            shape = self.properties.get(key)
            if shape is None:
                known = ", ".join(self.properties) or "none"
                yield f"unexpected {what} {key!r}{where} (known: {known})"
            else:
                yield from shape.problems(item, _at(path, key))


@attrs.frozen
class _AnyOf(Shape):
    options: tuple[Shape, ...]

    def _schema(self) -> dict[str, Any]:
        return {"anyOf": [option.schema() for option in self.options]}

    def problems(self, value: object, path: str) -> Problems:
        found = [list(option.problems(value, path)) for option in self.options]
        if all(found):
            not_null = [f for f, o in zip(found, self.options, strict=True) if o is not _NULL]
            if len(not_null) == 1:  # `X | None`: say what is wrong for X
                yield from not_null[0]
            else:
                yield f"{path or 'the arguments'}: {describe(value)} fits none of the allowed types"


_NULL: Final = _SCALARS[type(None)]


# -- the walk --------------------------------------------------------------------------

_LISTS: Final = frozenset(
    {list, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet}
)
_MAPS: Final = frozenset({dict, abc.Mapping, abc.MutableMapping})


def _refuse(where: str, tp: object, why: str) -> ToolDefinitionError:
    return ToolDefinitionError(f"{where}: {_name(tp)} cannot be a tool argument: {why}")


def _name(tp: object) -> str:
    return tp.__qualname__ if isinstance(tp, type) else repr(tp).replace("typing.", "")


def _keywords(metadata: tuple[object, ...], where: str) -> dict[str, Any]:
    keywords: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, str):
            keywords["description"] = item
        elif isinstance(item, Param):
            keywords.update(item.schema())
    # The schema goes out as JSON: refuse what json cannot write, now rather than later.
    try:
        json.dumps(keywords)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"{where}: Param keywords are not JSON: {exc}") from None
    return keywords


def _choice(values: tuple[object, ...], tp: object, where: str) -> _Choice:
    for value in values:
        if value is not None and not isinstance(value, str | int | float | bool):
            raise _refuse(where, tp, f"{value!r} is not a JSON value")
    return _Choice(values)


def shape_of(tp: Any, where: str, _seen: tuple[type, ...] = ()) -> Shape:
    """The :class:`Shape` of type ``tp``; :class:`ToolDefinitionError` (naming
    ``where``, e.g. "parameter 'city' of get_weather") if it has none."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        inner = shape_of(args[0], where, _seen)
        return attrs.evolve(inner, keywords={**inner.keywords, **_keywords(args[1:], where)})
    if tp is Any or tp is object:
        return Shape()
    if tp is None:
        return _NULL
    if isinstance(tp, typing.NewType):
        return shape_of(tp.__supertype__, where, _seen)
    if isinstance(tp, type) and tp in _SCALARS:
        return _SCALARS[tp]
    if origin is Literal:
        return _choice(args, tp, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _choice(tuple(member.value for member in tp), tp, where)
    if origin is Union or origin is types.UnionType:
        return _AnyOf(tuple(shape_of(arg, where, _seen) for arg in args))
    if tp in _LISTS or origin in _LISTS:
        return _Array(shape_of(args[0], where, _seen) if args else Shape())
    if tp is tuple or origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _Array(shape_of(args[0], where, _seen))
        raise _refuse(where, tp, "use tuple[X, ...], list[X] or an attrs class")
    if tp in _MAPS or origin in _MAPS:
        if args and args[0] is not str:
            raise _refuse(where, tp, "JSON object keys are strings: use dict[str, ...]")
        return _Map(shape_of(args[1], where, _seen) if args else Shape())
    if isinstance(tp, type) and attrs.has(tp):
        return _attrs_shape(tp, where, _seen)
    raise _refuse(
        where,
        tp,
        "supported are str, int, float, bool, None, Literal, Enum, lists, dict[str, ...], "
        "unions, attrs classes, datetime, UUID, Decimal and Annotated",
    )


def _attrs_shape(cls: type, where: str, seen: tuple[type, ...]) -> _Object:
    if cls in seen:
        raise _refuse(where, cls, "a recursive type has no finite schema")
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError for a forward reference, and others
        raise _refuse(where, cls, f"its type hints do not resolve ({exc})") from None
    properties: dict[str, Shape] = {}
    required: list[str] = []
    # The converter reads the fields `__init__` takes, under their attribute names.
    for field in attrs.fields(cls):
        if not field.init:
            continue
        field_where = f"{where}, field {field.name!r} of {cls.__qualname__}"
        if field.name not in hints:
            raise ToolDefinitionError(f"{field_where}: the field has no type annotation")
        properties[field.name] = shape_of(hints[field.name], field_where, (*seen, cls))
        if field.default is attrs.NOTHING:
            required.append(field.name)
    doc = cls.__dict__.get("__doc__")
    described = {"description": " ".join(doc.split())} if doc else {}
    return _Object(properties, tuple(required), keywords=described)


def object_shape(properties: Mapping[str, Shape], required: tuple[str, ...]) -> Shape:
    """The shape of a set of named arguments (a function's parameters)."""
    return _Object(dict(properties), required)
