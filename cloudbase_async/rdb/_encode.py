"""The one encoder: Python filter values → PostgREST query-string text.

PostgREST reads a filter value differently depending on where it stands (checked
against PostgREST 12):

* **top level** (``?name=eq.VALUE``): everything after the operator is the value,
  verbatim. Quoting here would be wrong: ``eq."a,b"`` looks for the five characters
  ``"a,b"``. So top-level values are sent as they are.
* **inside a list or a logic tree** (``in.(a,b)``, ``or=(a.eq.x,b.eq.y)``): ``,`` and
  ``)`` end a value, a leading ``"`` starts a quoted one and surrounding spaces are
  dropped. Such values are wrapped in double quotes, with ``\\`` and ``"`` escaped by a
  backslash, whenever they contain anything PostgREST could read as grammar.

Keys need care too. PostgREST 12 reads some query keys as its own parameters, never as
filters (``src/PostgREST/ApiRequest/QueryParams.hs``, checked against 12.0.2): a key
equal to ``select``, ``columns`` or ``on_conflict``, and a key whose last
``.``-separated word is ``order``, ``limit``, ``offset``, ``and`` or ``or``. So
``?columns=eq.1`` on a DELETE is not a filter at all, and every row goes. A column with
such a name is filtered by quoting it (``?"columns"=eq.1``), which PostgREST parses as
the column name: :func:`query_key` does that for every filter and function argument.

Everything here produces *unencoded* text: percent-encoding happens once, when httpx
builds the URL from the ordered list of ``(key, value)`` pairs.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal, TypeAlias

import attrs

from .._core.errors import InvalidRequestError

__all__ = [
    "Condition",
    "Group",
    "Operand",
    "RESERVED_KEYS",
    "RESERVED_LAST_WORDS",
    "Raw",
    "Text",
    "ValueList",
    "clean_columns",
    "format_array",
    "format_list",
    "format_range",
    "format_scalar",
    "jsonable",
    "quote_column",
    "is_parameter_key",
    "query_key",
    "quote_item",
    "render_top",
    "render_tree",
    "restricts_rows",
]

# Characters that end or restructure a value inside a list or logic tree, or that
# PostgREST trims (whitespace), plus the array-literal braces.
_NEEDS_QUOTES: Final = re.compile(r'[,.:()"\\{}\s]')
# Words a list item or tree value must not be confused with.
_RESERVED_WORDS: Final = frozenset({"null", "true", "false", "unknown"})
# PostgreSQL array literals: quote an element holding any of these, or the word NULL.
_ARRAY_NEEDS_QUOTES: Final = re.compile(r'[{},"\\\s]')
_SELECT_WHITESPACE: Final = re.compile(r'\s+(?=(?:[^"]*"[^"]*")*[^"]*$)')

#: Query keys PostgREST reads as its own parameters (``reserved`` in QueryParams.hs).
RESERVED_KEYS: Final = frozenset({"select", "columns", "on_conflict"})
#: Last ``.``-words that make a key a parameter of the table or of an embedded resource
#: (``order``, ``classes.limit``, ``not.or``...: ``reservedEmbeddable`` there).
RESERVED_LAST_WORDS: Final = frozenset({"order", "limit", "offset", "and", "or"})
#: The keys of top-level logic trees, which do restrict the table's own rows.
_ROOT_LOGIC_KEYS: Final = frozenset({"and", "or", "not.and", "not.or"})


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quoted(text: str) -> str:
    return f'"{_escape(text)}"'


def format_scalar(value: object) -> str:
    """The PostgreSQL text form of one Python value (no quoting).

    ``None`` has no text form in a comparison (``= NULL`` is never true): use
    ``is_(column, None)``. Booleans are ``true``/``false``; dates, times and datetimes
    use ISO 8601; non-finite floats use PostgreSQL's spellings.
    """
    if isinstance(value, str):
        return value
    if value is None:
        raise InvalidRequestError(
            "None cannot be compared with eq/neq/gt/in...: SQL NULL equals nothing. "
            "Use is_(column, None) (or not_.is_) to match NULL."
        )
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return format_scalar(value.value)
    if isinstance(value, int | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, list | tuple):
        return format_array(value)
    raise InvalidRequestError(
        f"Cannot use a {type(value).__name__} as a filter value; pass a str, int, float, "
        "bool, Decimal, UUID, date/time, Enum, list or dict."
    )


def quote_item(text: str) -> str:
    """``text`` made safe as one item of a list or logic tree (quoted when needed)."""
    if text == "" or text.lower() in _RESERVED_WORDS or _NEEDS_QUOTES.search(text):
        return _quoted(text)
    return text


def format_list(values: Iterable[object]) -> str:
    """``(a,b,"c,d")``: the operand of ``in``."""
    items = [quote_item(format_scalar(value)) for value in values]
    if items == ['""']:
        # PostgREST reads a lone empty item, quoted or not, as the empty list; the same
        # value twice keeps it a list holding "" (and matches the same rows).
        items.append('""')
    return f"({','.join(items)})"


def _array_element(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list | tuple):
        return format_array(value)
    text = format_scalar(value)
    if text == "" or text.upper() == "NULL" or _ARRAY_NEEDS_QUOTES.search(text):
        return _quoted(text)
    return text


def format_array(values: Sequence[object]) -> str:
    """A PostgreSQL array literal ``{a,"b c",NULL}`` (``None`` elements are NULL)."""
    return "{" + ",".join(_array_element(value) for value in values) + "}"


def format_range(value: object) -> str:
    """A range literal: a string is sent as given (``"[1,10)"``, ``"(,5]"``); a pair
    ``(lower, upper)`` becomes ``[lower,upper)``, PostgreSQL's canonical half-open form
    (``None`` = unbounded)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and len(value) == 2:
        lower, upper = ("" if bound is None else _array_element(bound) for bound in value)
        return f"[{lower},{upper})"
    raise InvalidRequestError(
        f"A range is a string literal or a (lower, upper) pair, got {value!r}"
    )


def clean_columns(columns: str) -> str:
    """A ``select``/``columns`` value with the whitespace outside double quotes removed."""
    return _SELECT_WHITESPACE.sub("", columns)


# --- operands and conditions ----------------------------------------------------


@attrs.frozen
class Text:
    """One value: verbatim at top level, quoted when needed inside a logic tree."""

    text: str


@attrs.frozen
class ValueList:
    """The parenthesised list operand of ``in``; already safe in every context."""

    text: str


@attrs.frozen
class Raw:
    """Operand text the caller wrote in PostgREST syntax; never changed."""

    text: str


Operand: TypeAlias = Text | ValueList | Raw


@attrs.frozen
class Condition:
    """``column operator operand``, maybe negated: one filter, in any context.

    Built by :mod:`cloudbase_async.rdb.filters` and by the builders' filter methods.
    """

    column: str
    operator: str
    operand: Operand
    negated: bool = False

    def __invert__(self) -> Condition:
        return attrs.evolve(self, negated=not self.negated)


@attrs.frozen
class Group:
    """``and(...)`` / ``or(...)`` of conditions and groups, maybe negated."""

    kind: Literal["and", "or"]
    items: tuple[Condition | Group | str, ...]
    negated: bool = False

    def __invert__(self) -> Group:
        return attrs.evolve(self, negated=not self.negated)


def _operand_top(operand: Operand) -> str:
    return operand.text


def _operand_tree(operand: Operand) -> str:
    if isinstance(operand, Text):
        return quote_item(operand.text)
    return operand.text


def _not(negated: bool) -> str:
    return "not." if negated else ""


def render_tree(item: Condition | Group | str) -> str:
    """One item of a logic tree: ``col.op.value``, ``not.and(...)``; a str as given."""
    if isinstance(item, str):
        return item
    if isinstance(item, Condition):
        return f"{item.column}.{_not(item.negated)}{item.operator}.{_operand_tree(item.operand)}"
    inner = ",".join(render_tree(child) for child in item.items)
    return f"{_not(item.negated)}{item.kind}({inner})"


def is_parameter_key(key: str) -> bool:
    """Whether PostgREST reads the query key ``key`` as one of its parameters (``select``,
    ``order``, ``classes.limit``, ``or``...) rather than as a filter or an argument."""
    return key in RESERVED_KEYS or key.rpartition(".")[2] in RESERVED_LAST_WORDS


def query_key(name: str) -> str:
    """The query key that filters column ``name`` (or passes argument ``name``).

    A name PostgREST would read as one of its parameters gets its last word quoted:
    ``"columns"``, ``classes."order"``. A name that cannot be made safe that way (a JSON
    path whose key holds the dot: ``meta->a.limit``) is refused, since sending it would
    not filter anything.
    """
    if not is_parameter_key(name):
        return name
    prefix, dot, last = name.rpartition(".")
    if "->" in prefix:
        raise InvalidRequestError(
            f"PostgREST would read the filter {name!r} as its {last!r} parameter, not as a "
            f'filter; quote the JSON key that holds the dot, e.g. meta->"a.{last}".'
        )
    return f"{prefix}{dot}{_quoted(last)}"


def restricts_rows(key: str) -> bool:
    """Whether the filter sent under ``key`` restricts the rows of the table itself.

    Not when it filters an embedded resource (``classes.grade``) or is a parameter.
    PostgREST applies a filter to the table's own rows only when its key holds no ``.``
    (the rule behind ``qsFiltersRoot``); quoted names and JSON keys with a dot are kept
    out as well, so the no-filter guard never relies on a finer reading of the key.
    """
    return key in _ROOT_LOGIC_KEYS or ("." not in key and not is_parameter_key(key))


def render_top(item: Condition | Group, referenced_table: str | None = None) -> tuple[str, str]:
    """The ``(key, value)`` query pair of a top-level filter.

    A condition's key is its column, quoted when PostgREST would take it for one of
    its parameters (:func:`query_key`). A group's key is ``or``/``and``
    (``not.or``...), prefixed by ``referenced_table.`` when it filters an embedded
    resource.
    """
    if isinstance(item, Condition):
        value = f"{_not(item.negated)}{item.operator}.{_operand_top(item.operand)}"
        return query_key(item.column), value
    prefix = f"{referenced_table}." if referenced_table else ""
    inner = ",".join(render_tree(child) for child in item.items)
    return f"{prefix}{_not(item.negated)}{item.kind}", f"({inner})"


def jsonable(value: object) -> object:
    """``value`` with what ``json`` cannot encode turned into PostgreSQL input text.

    Row values may be dates, UUIDs, Decimals, Enums or attrs instances; they are sent as
    the strings PostgreSQL parses back into the column type (Decimal as a string keeps
    every digit).
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if attrs.has(type(value)):
        from .._core.convert import unstructure

        return jsonable(unstructure(value))
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, dt.date | dt.time | uuid.UUID | Decimal):
        return format_scalar(value)
    raise InvalidRequestError(f"Cannot send a {type(value).__name__} in a row")


def quote_column(name: str) -> str:
    """A column name as one item of ``columns=`` (always double-quoted)."""
    return _quoted(name)
