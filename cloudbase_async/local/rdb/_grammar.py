"""PostgREST 12's query-string grammar: ``select``, filters, ``or``/``and`` trees, ``order``.

The productions follow PostgREST 12.0's own (a Parsec grammar), one function per
production, so that what parses, what is left unread and where a syntax error is
reported are the same; :mod:`._parsec` supplies Parsec's error semantics. The result is
a plain tree of frozen values (:class:`QueryParams`); what the names mean (columns,
relationships) is checked later, against the catalog. A little over 500 lines: the
productions are one grammar, read top to bottom as PostgREST's own module is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Literal, cast
from urllib.parse import unquote_to_bytes

import attrs

from . import _parsec as p
from ._errors import RdbError
from ._query import (
    EmbedPath,
    Field,
    Filter,
    In,
    Is,
    IsDistinct,
    JsonStep,
    LogicExpr,
    Op,
    OrderTerm,
    QueryParams,
    SelectField,
    SelectItem,
    SelectRelation,
)

__all__ = ["decode_query", "parse_query", "read_integer"]


# --- productions (named after PostgREST's) ------------------------------------------

_ws: Final = p.many(p.one_of(" \t"))


def _lexeme(parser: p.Parser) -> p.Parser:
    return p.then(_ws, p.skip(parser, _ws))


_letter: Final = p.label(p.satisfy(p.is_haskell_letter), "letter")
_digit: Final = p.label(p.satisfy(lambda c: "0" <= c <= "9"), "digit")
_identifier_char: Final = p.alt(_letter, _digit, p.one_of("_ $"))
_identifier: Final = p.fmap(lambda chars: "".join(chars).strip(), p.many1(_identifier_char))
_dash: Final = p.fmap(lambda _: "-", p.try_(p.then(p.char("-"), p.not_followed_by(p.char(">")))))

_quoted_value: Final = p.fmap(
    "".join,
    p.between(
        p.char('"'),
        p.char('"'),
        p.many(p.alt(p.none_of('\\"'), p.then(p.char("\\"), p.any_char))),
    ),
)

_field_name: Final = p.label(
    p.alt(_quoted_value, p.fmap("-".join, p.sep_by1(_identifier, _dash))),
    "field name (* or [a..z0..9_$])",
)

_delimiter: Final = p.label(p.char("."), "delimiter (.)")


def _look(text: str) -> p.Parser:
    return p.try_(p.look_ahead(p.string(text)))


def _json_operation() -> p.Parser:
    arrow = p.alt(p.try_(p.string("->>")), p.try_(p.string("->")))
    end = p.alt(_look("->"), _look("::"), _look("."), _look(","), p.try_(p.eof))
    index = p.skip(
        p.fmap(
            lambda parts: (parts[0] or "+") + "".join(parts[1]),
            p.seq(p.option_maybe(p.char("-")), p.many1(_digit)),
        ),
        end,
    )
    key_identifier = p.fmap(lambda chars: "".join(chars).strip(), p.many1(p.none_of("(-:.,>)")))
    key = p.label(
        p.alt(_quoted_value, p.fmap("-".join, p.sep_by1(key_identifier, _dash))),
        "any non reserved character different from: .,>()",
    )
    operand = p.alt(
        p.try_(p.fmap(lambda text: (text, True), index)),
        p.try_(p.fmap(lambda text: (text, False), key)),
    )
    return p.fmap(lambda parts: JsonStep(parts[0], parts[1][0], parts[1][1]), p.seq(arrow, operand))


_json_path: Final = p.many(_json_operation())
_field: Final = _lexeme(
    p.fmap(
        lambda parts: Field(parts[0], tuple(parts[1])),
        p.seq(_field_name, p.alt(_json_path, p.pure([]))),
    )
)
_alias_separator: Final = p.then(p.char(":"), p.not_followed_by(p.char(":")))
_optional_alias: Final = p.option_maybe(p.try_(p.skip(_field_name, _alias_separator)))


def _embed_params() -> p.Parser:
    param = p.then(
        p.char("!"),
        p.alt(
            p.try_(p.fmap(lambda _: ("join", "left"), p.string("left"))),
            p.try_(p.fmap(lambda _: ("join", "inner"), p.string("inner"))),
            p.try_(p.fmap(lambda name: ("hint", name), _field_name)),
        ),
    )

    def combine(parts: tuple[tuple[str, str] | None, ...]) -> tuple[str | None, str | None]:
        hint = next((v for k, v in filter(None, parts) if k == "hint"), None)
        join = next((v for k, v in filter(None, parts) if k == "join"), None)
        return hint, join

    return p.fmap(combine, p.seq(p.option_maybe(param), p.option_maybe(param)))


def _relation_select() -> p.Parser:
    def check(parts: tuple[str | None, str]) -> p.Parser:
        alias, name = parts
        if name == "count":
            return p.zero
        return p.bind(
            _embed_params(),
            lambda params: p.fmap(
                lambda _: (alias, name, params[0], params[1]), p.try_(p.look_ahead(p.string("(")))
            ),
        )

    return _lexeme(p.bind(p.seq(_optional_alias, _field_name), check))


def _spread_select() -> p.Parser:
    return _lexeme(
        p.bind(
            p.then(p.string("..."), _field_name),
            lambda name: p.fmap(
                lambda params: (None, name, params[0], params[1]),
                p.skip(_embed_params(), p.try_(p.look_ahead(p.string("(")))),
            ),
        )
    )


_select_end: Final = p.alt(_look(")"), _look(","), p.try_(p.eof))
_cast: Final = p.option_maybe(p.then(p.string("::"), _identifier))
_aggregation: Final = p.alt(
    p.string("sum"),
    p.string("avg"),
    p.string("count"),
    p.try_(p.string("max")),
    p.try_(p.string("min")),
)


def _field_select() -> p.Parser:
    star = p.try_(p.fmap(lambda _: SelectField(Field("*")), p.skip(p.string("*"), _select_end)))
    count = p.try_(
        p.fmap(
            lambda parts: SelectField(Field("*"), parts[0], None, "count", parts[2]),
            p.seq(_optional_alias, p.string("count()"), _cast, _select_end),
        )
    )
    plain = p.fmap(
        lambda parts: SelectField(parts[1], parts[0], parts[2], parts[3], parts[4]),
        p.seq(
            _optional_alias,
            _field,
            _cast,
            p.option_maybe(p.try_(p.skip(p.then(p.char("."), _aggregation), p.string("()")))),
            _cast,
            _select_end,
        ),
    )
    return _lexeme(p.alt(star, count, plain))


def _field_forest(text: str, i: int) -> p.Reply:
    return _FOREST(text, i)


def _relation_node(header: p.Parser, spread: bool) -> p.Parser:
    def build(
        parts: tuple[tuple[str | None, str, str | None, str | None], list[SelectItem]],
    ) -> SelectRelation:
        (alias, name, hint, join), children = parts
        joined = cast(Literal["left", "inner"] | None, join)  # the parser reads only these
        return SelectRelation(name, alias, hint, joined, tuple(children), spread)

    return p.fmap(build, p.seq(p.try_(header), p.between(p.char("("), p.char(")"), _field_forest)))


_FIELD_TREE: Final = p.alt(
    _relation_node(_spread_select(), True),
    _relation_node(_relation_select(), False),
    _field_select(),
)
_FOREST: Final = p.sep_by(_FIELD_TREE, _lexeme(p.char(",")))


def _ci_string(word: str) -> p.Parser:
    return p.seq(*(p.alt(p.char(c), p.char(c.upper())) for c in word))


def _string_value(rest: p.Parser) -> p.Parser:
    return p.fmap(lambda chars: "".join(chars), rest)


_single_value: Final = _string_value(p.many(p.any_char))


def _list_value() -> p.Parser:
    element = p.alt(
        p.try_(p.skip(_quoted_value, p.not_followed_by(p.none_of(",)")))),
        _string_value(p.many(p.none_of(",)"))),
    )
    return p.fmap(
        lambda values: In(tuple(values)),
        p.then(
            _lexeme(p.char("(")),
            p.skip(p.sep_by1(element, p.char(",")), _lexeme(p.char(")"))),
        ),
    )


def _tri_word(word: Literal["null", "unknown", "true", "false"]) -> p.Parser:
    return p.try_(p.fmap(lambda _: Is(word), _ci_string(word)))


def _tri_value() -> p.Parser:
    return p.label(
        p.alt(_tri_word("null"), _tri_word("unknown"), _tri_word("true"), _tri_word("false")),
        "null or trilean value (unknown, true, false)",
    )


def _keyword(words: Sequence[str], name: str) -> p.Parser:
    return p.label(p.alt(*(p.try_(p.string(w)) for w in words)), name)


_SIMPLE: Final = ("neq", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj")
_QUANTIFIABLE: Final = ("eq", "gte", "gt", "lte", "lt", "like", "ilike", "match", "imatch")
_FTS: Final = ("fts", "plfts", "phfts", "wfts")


def _op_expr(value: p.Parser) -> p.Parser:
    negation = p.alt(
        p.try_(p.fmap(lambda _: True, p.then(p.string("not"), _delimiter))), p.pure(False)
    )
    in_ = p.then(p.try_(p.then(p.string("in"), _delimiter)), _list_value())
    is_ = p.then(p.try_(p.then(p.string("is"), _delimiter)), _tri_value())
    is_distinct = p.fmap(
        IsDistinct, p.then(p.try_(p.then(p.string("isdistinct"), _delimiter)), value)
    )
    fts = p.fmap(
        lambda parts: Op(parts[0], parts[3], language=parts[1]),
        p.seq(
            p.alt(*(p.try_(p.string(op)) for op in _FTS)),
            p.option_maybe(p.try_(p.between(p.char("("), p.char(")"), _identifier))),
            _delimiter,
            value,
        ),
    )
    simple = p.fmap(
        lambda parts: Op(parts[0], parts[2]),
        p.seq(_keyword(_SIMPLE, "unknown single value operator"), _delimiter, value),
    )
    quantifier = p.option_maybe(
        p.try_(p.between(p.char("("), p.char(")"), p.alt(p.try_(p.string("any")), p.string("all"))))
    )
    quantified = p.fmap(
        lambda parts: Op(parts[0], parts[3], quantifier=parts[1]),
        p.seq(
            _keyword(_QUANTIFIABLE, "unknown single value operator"),
            quantifier,
            _delimiter,
            value,
        ),
    )
    operation = p.label(
        p.alt(in_, is_, is_distinct, p.try_(fts), p.try_(simple), p.try_(quantified)),
        "operator (eq, gt, ...)",
    )
    return p.fmap(lambda parts: Filter(Field(""), parts[1], parts[0]), p.seq(negation, operation))


def _logic_single_value() -> p.Parser:
    array = p.fmap(
        lambda parts: parts[0] + "".join(parts[1]) + parts[2],
        p.seq(p.string("{"), p.many(p.none_of("{}")), p.string("}")),
    )
    return p.alt(
        p.try_(p.skip(_quoted_value, p.not_followed_by(p.none_of(",)")))),
        p.try_(array),
        _string_value(p.many(p.none_of(",)"))),
    )


def _logic_tree(text: str, i: int) -> p.Reply:
    return _LOGIC_TREE(text, i)


def _build_logic_tree() -> p.Parser:
    statement = p.fmap(
        lambda parts: attrs.evolve(parts[1], field=parts[0]),
        p.seq(_field, p.then(_delimiter, _op_expr(_logic_single_value()))),
    )
    negation = p.label(
        p.alt(p.try_(p.fmap(lambda _: True, p.then(p.string("not"), _delimiter))), p.pure(False)),
        "negation operator (not)",
    )
    operator = p.label(p.alt(p.try_(p.string("and")), p.string("or")), "logic operator (and, or)")
    children = p.then(
        _lexeme(p.char("(")),
        p.skip(p.sep_by1(_logic_tree, _lexeme(p.char(","))), _lexeme(p.char(")"))),
    )
    expression = p.fmap(
        lambda parts: LogicExpr(parts[1], tuple(parts[2]), parts[0]),
        p.seq(negation, operator, children),
    )
    return p.alt(p.try_(statement), expression)


_LOGIC_TREE: Final = _build_logic_tree()


def _order() -> p.Parser:
    end = p.alt(p.try_(p.look_ahead(p.char(","))), p.try_(p.eof))
    direction = p.option_maybe(
        p.alt(
            p.try_(p.then(_delimiter, p.string("asc"))),
            p.try_(p.then(_delimiter, p.string("desc"))),
        )
    )
    nulls = p.alt(
        p.skip(
            p.option_maybe(
                p.alt(
                    p.try_(p.then(_delimiter, p.string("nullsfirst"))),
                    p.try_(p.then(_delimiter, p.string("nullslast"))),
                )
            ),
            end,
        ),
        p.fmap(lambda _: None, end),
    )
    plain = p.fmap(
        lambda parts: OrderTerm(parts[0], parts[1], parts[2]), p.seq(_field, direction, nulls)
    )
    related = p.fmap(
        lambda parts: OrderTerm(parts[1], parts[2], parts[3], relation=parts[0]),
        p.seq(_field_name, p.between(p.char("("), p.char(")"), _field), direction, nulls),
    )
    return p.sep_by1(_lexeme(p.alt(p.try_(related), plain)), p.char(","))


_ORDER: Final = _order()
_TREE_PATH: Final = p.seq(p.sep_by1(_field_name, _delimiter), p.alt(_json_path, p.pure([])))
_LOGIC_PATH: Final = p.sep_by1(_field_name, _delimiter)
_COLUMNS: Final = p.sep_by1(_field_name, _lexeme(p.char(",")))
_FILTER: Final = _op_expr(_single_value)
_RPC_FILTER: Final = p.alt(_FILTER, p.pure(None))


# --- running ------------------------------------------------------------------------


class _SyntaxError(Exception):
    def __init__(self, error: RdbError) -> None:
        self.error = error


def _parse(parser: p.Parser, what: str, text: str, shown: str | None = None) -> Any:
    """Run ``parser`` over ``text``; ``shown`` is the text the error message quotes."""
    reply = p.run(parser, text)
    if not reply.ok:
        line, column = p.source_position(text, reply.error.index)
        raise _SyntaxError(
            RdbError(
                400,
                "PGRST100",
                f'"failed to parse {what} ({text if shown is None else shown})" '
                f"(line {line}, column {column})",
                details=p.format_messages(reply.error.messages),
            )
        )
    return reply.value


def decode_query(query: str) -> list[tuple[str, str | None]]:
    """The pairs of a raw query string as PostgREST reads them (``&`` and ``;`` split,
    ``+`` is a space, a key without ``=`` has no value)."""
    pairs: list[tuple[str, str | None]] = []
    for piece in re.split("[&;]", query):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        pairs.append((_unquote(key), _unquote(value) if sep else None))
    return pairs


def _unquote(text: str) -> str:
    return unquote_to_bytes(text.replace("+", " ")).decode("utf-8", "replace")


_HASKELL_INTEGER: Final = re.compile(r"\s*(-)?\s*(0[xX][0-9a-fA-F]+|0[oO][0-7]+|[0-9]+)\s*")


def read_integer(text: str) -> int | None:
    """Haskell's ``readMaybe :: Integer`` (how PostgREST reads ``limit``/``offset``)."""
    match = _HASKELL_INTEGER.fullmatch(text)
    if match is None:
        return None
    digits = match.group(2).lower()
    value = int(digits, 16 if digits.startswith("0x") else 8 if digits.startswith("0o") else 10)
    return -value if match.group(1) else value


def _last_word(key: str) -> str:
    return key.split(".")[-1]


def parse_query(query: str, *, rpc_read: bool = False) -> QueryParams:
    """Parse a raw query string; a syntax error raises ``RdbError`` (``PGRST100``).

    Parameters are parsed in PostgREST's order (``order``, logic trees, ``columns``,
    ``select``, filters, ``on_conflict``) so the first error reported is the same.
    ``rpc_read``: a GET/HEAD of a function, where a value without an operator is an
    argument.
    """
    pairs = decode_query(query)
    valued = [(k, v) for k, v in pairs if v is not None]

    def lookup(name: str) -> str | None:
        return next((v for k, v in pairs if k == name), None)

    try:
        order = tuple(
            (_tree_path(k)[0], tuple(_parse(_ORDER, "order", v)))
            for k, v in valued
            if _last_word(k) == "order"
        )
        logic = tuple(_logic(k, v) for k, v in valued if _last_word(k) in ("and", "or"))
        columns = _optional_names(lookup("columns"), "columns parameter")
        selected = lookup("select")
        select = tuple(_parse(_FOREST, "select parameter", "*" if selected is None else selected))
        filters, args = _filters(valued, rpc_read)
        on_conflict = _optional_names(lookup("on_conflict"), "on_conflict parameter")
    except _SyntaxError as exc:
        raise exc.error from None
    return QueryParams(
        select=select,
        filters=filters,
        logic=logic,
        order=order,
        limits=_ranges(valued),
        columns=columns,
        on_conflict=on_conflict,
        rpc_args=args,
    )


_EMBEDDABLE: Final = ("order", "limit", "offset", "and", "or")
_RESERVED: Final = ("select", "columns", "on_conflict")


def _filters(
    valued: Sequence[tuple[str, str]], rpc_read: bool
) -> tuple[tuple[tuple[EmbedPath, Filter], ...], tuple[tuple[str, str], ...]]:
    """(filters, rpc arguments): every parameter that is not reserved."""
    filters: list[tuple[EmbedPath, Filter]] = []
    args: list[tuple[str, str]] = []
    for key, value in valued:
        if _last_word(key) in _EMBEDDABLE or key in _RESERVED:
            continue
        path, field = _tree_path(key)
        parsed: Filter | None = _parse(_RPC_FILTER if rpc_read else _FILTER, "filter", value)
        if parsed is None:
            args.append((field.name, value))
        else:
            filters.append((path, attrs.evolve(parsed, field=field)))
    return tuple(filters), tuple(args)


def _optional_names(text: str | None, what: str) -> tuple[str, ...] | None:
    return None if text is None else tuple(_parse(_COLUMNS, what, text))


def _tree_path(key: str) -> tuple[EmbedPath, Field]:
    names, json_path = _parse(_TREE_PATH, "tree path", key)
    return tuple(names[:-1]), Field(names[-1], tuple(json_path))


def _logic(key: str, value: str) -> tuple[EmbedPath, LogicExpr]:
    path: list[str] = _parse(_LOGIC_PATH, "logic path", key)
    operator = path[-1]
    if "not" in path:
        operator = f"not.{operator}"
    embed = tuple(name for name in path[:-1] if name != "not")
    tree: LogicExpr | Filter = _parse(_LOGIC_TREE, "logic tree", operator + value, value)
    if isinstance(tree, Filter):
        # "or.eq.1"-like values read as one filter statement: keep it as a tree of one.
        tree = LogicExpr("and", (tree,))
    return embed, tree


def _ranges(
    valued: Sequence[tuple[str, str]],
) -> tuple[tuple[EmbedPath, int | None, int | None], ...]:
    limits: dict[EmbedPath, int | None] = {}
    offsets: dict[EmbedPath, int | None] = {}
    for key, value in valued:
        word = _last_word(key)
        if word in ("limit", "offset"):
            target = limits if word == "limit" else offsets
            target[tuple(key.split(".")[:-1])] = read_integer(value)
    paths = dict.fromkeys([*limits, *offsets])
    return tuple((path, limits.get(path), offsets.get(path)) for path in paths)
