"""Filter conditions as values, for ``or_``/``and_``/``not_`` trees.

Every builder filter method (``.eq(...)``, ``.in_(...)``...) is one of these functions
applied at top level; the same objects nest inside ``or_``/``and_``::

    from cloudbase_async.rdb import filters as f

    query = cb.rdb.table("students").select().or_(
        f.eq("grade", 1),
        f.and_(f.gte("age", 18), f.is_("note", None)),
    )
    # → or=(grade.eq.1,and(age.gte.18,note.is.null))

``~condition`` (or :func:`not_`) negates. Values go through the one encoder, so quotes,
commas, parentheses, backslashes and Unicode are safe in every position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

from .._core.errors import InvalidRequestError
from ._encode import (
    Condition,
    Group,
    Raw,
    Text,
    ValueList,
    format_array,
    format_list,
    format_range,
    format_scalar,
)

__all__ = [
    "Condition",
    "Group",
    "and_",
    "contained_by",
    "contains",
    "eq",
    "filter",
    "gt",
    "gte",
    "ilike",
    "ilike_all_of",
    "ilike_any_of",
    "in_",
    "is_",
    "like",
    "like_all_of",
    "like_any_of",
    "lt",
    "lte",
    "match",
    "neq",
    "not_",
    "or_",
    "overlaps",
    "range_adjacent",
    "range_gt",
    "range_gte",
    "range_lt",
    "range_lte",
    "text_search",
]

TextSearchType: TypeAlias = Literal["plain", "phrase", "websearch"]
_FTS_OPERATORS = {None: "fts", "plain": "plfts", "phrase": "phfts", "websearch": "wfts"}
_IS_VALUES = {None: "null", True: "true", False: "false"}


def _simple(column: str, operator: str, value: object) -> Condition:
    return Condition(column, operator, Text(format_scalar(value)))


def eq(column: str, value: object) -> Condition:
    """``column = value``."""
    return _simple(column, "eq", value)


def neq(column: str, value: object) -> Condition:
    """``column <> value``."""
    return _simple(column, "neq", value)


def gt(column: str, value: object) -> Condition:
    return _simple(column, "gt", value)


def gte(column: str, value: object) -> Condition:
    return _simple(column, "gte", value)


def lt(column: str, value: object) -> Condition:
    return _simple(column, "lt", value)


def lte(column: str, value: object) -> Condition:
    return _simple(column, "lte", value)


def like(column: str, pattern: str) -> Condition:
    """SQL ``LIKE``; ``%`` or ``*`` match any run of characters, ``_`` one character."""
    return _simple(column, "like", pattern)


def ilike(column: str, pattern: str) -> Condition:
    """Case-insensitive :func:`like`."""
    return _simple(column, "ilike", pattern)


def _patterns(operator: str, column: str, patterns: Sequence[str]) -> Condition:
    if isinstance(patterns, str):
        raise InvalidRequestError(f"{operator} takes a list of patterns, not one string")
    return Condition(column, operator, Text(format_array(list(patterns))))


def like_all_of(column: str, patterns: Sequence[str]) -> Condition:
    """Matches every pattern (``like(all).{a*,*b}``)."""
    return _patterns("like(all)", column, patterns)


def like_any_of(column: str, patterns: Sequence[str]) -> Condition:
    """Matches at least one pattern (``like(any).{a*,*b}``)."""
    return _patterns("like(any)", column, patterns)


def ilike_all_of(column: str, patterns: Sequence[str]) -> Condition:
    return _patterns("ilike(all)", column, patterns)


def ilike_any_of(column: str, patterns: Sequence[str]) -> Condition:
    return _patterns("ilike(any)", column, patterns)


def is_(column: str, value: bool | Literal["unknown"] | None) -> Condition:
    """``IS NULL`` / ``IS TRUE`` / ``IS FALSE`` / ``IS UNKNOWN``."""
    if value == "unknown":
        return Condition(column, "is", Raw("unknown"))
    if value not in _IS_VALUES:
        raise InvalidRequestError(f"is_() takes None, True, False or 'unknown', got {value!r}")
    return Condition(column, "is", Raw(_IS_VALUES[value]))


def in_(column: str, values: Iterable[object]) -> Condition:
    """``column IN (values)``; an empty list matches no row."""
    if isinstance(values, str | bytes | Mapping):
        raise InvalidRequestError("in_() takes a list of values, not a single value")
    return Condition(column, "in", ValueList(format_list(values)))


def contains(column: str, value: object) -> Condition:
    """``@>``: an array (list), a range literal (str) or JSON (dict) contains ``value``."""
    return _simple(column, "cs", value)


def contained_by(column: str, value: object) -> Condition:
    """``<@``: ``column`` is contained by ``value`` (list, range str or dict)."""
    return _simple(column, "cd", value)


def overlaps(column: str, value: object) -> Condition:
    """``&&``: arrays (list) or ranges (str or pair) with something in common."""
    if isinstance(value, tuple):
        return Condition(column, "ov", Text(format_range(value)))
    return _simple(column, "ov", value)


def _range(operator: str, column: str, value: object) -> Condition:
    return Condition(column, operator, Text(format_range(value)))


def range_gt(column: str, value: object) -> Condition:
    """Strictly right of the range (``sr``). A pair means ``[lower,upper)``."""
    return _range("sr", column, value)


def range_gte(column: str, value: object) -> Condition:
    """Does not extend to the left of the range (``nxl``)."""
    return _range("nxl", column, value)


def range_lt(column: str, value: object) -> Condition:
    """Strictly left of the range (``sl``)."""
    return _range("sl", column, value)


def range_lte(column: str, value: object) -> Condition:
    """Does not extend to the right of the range (``nxr``)."""
    return _range("nxr", column, value)


def range_adjacent(column: str, value: object) -> Condition:
    """Adjacent to the range (``adj``)."""
    return _range("adj", column, value)


def text_search(
    column: str, query: str, *, config: str | None = None, type: TextSearchType | None = None
) -> Condition:
    """Full-text search: ``fts`` (to_tsquery), ``plfts`` (``type="plain"``), ``phfts``
    (``"phrase"``) or ``wfts`` (``"websearch"``), with an optional text search config."""
    try:
        operator = _FTS_OPERATORS[type]
    except KeyError:
        raise InvalidRequestError(f"Unknown text search type {type!r}") from None
    if config:
        operator = f"{operator}({config})"
    return Condition(column, operator, Text(query))


def filter(column: str, operator: str, value: object) -> Condition:
    """Any PostgREST operator by name (``"eq"``, ``"not.in"``, ``"fts(english)"``...).

    Values are encoded like everywhere else; a string operand of ``in`` is taken as
    already written in PostgREST syntax (``"(1,2,3)"``).
    """
    negated = False
    if operator.startswith("not."):
        negated, operator = True, operator[4:]
    if not operator:
        raise InvalidRequestError("filter() needs an operator")
    condition: Condition
    if operator == "in":
        operand = Raw(value) if isinstance(value, str) else ValueList(format_list(value))  # type: ignore[arg-type]
        condition = Condition(column, operator, operand)
    elif operator == "is":
        condition = is_(column, value)  # type: ignore[arg-type]
    else:
        condition = _simple(column, operator, value)
    return ~condition if negated else condition


def match(query: Mapping[str, object]) -> Group:
    """Every ``column = value`` of ``query`` at once (an ``and`` group)."""
    return Group("and", tuple(eq(column, value) for column, value in query.items()))


def and_(*items: Condition | Group | str) -> Group:
    """All of ``items``. A string item is a condition in PostgREST syntax, as given."""
    return Group("and", items)


def or_(*items: Condition | Group | str) -> Group:
    """Any of ``items``. A string item is a condition in PostgREST syntax, as given."""
    return Group("or", items)


def not_(item: Condition | Group) -> Condition | Group:
    """The negation of a condition or group (same as ``~item``)."""
    return ~item
