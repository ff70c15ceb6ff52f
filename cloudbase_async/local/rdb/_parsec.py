"""A small Parsec, faithful where it shows: the errors.

PostgREST parses its query string with Haskell's Parsec and answers a syntax error with
Parsec's own report (``PGRST100``: the position, ``unexpected ...``, ``expecting ...``).
Matching those answers to the character means reproducing Parsec's error semantics, not
just its grammar: which alternatives are tried after which failures (only those that
consumed nothing), how errors at the same position merge and the furthest one wins,
what ``try`` and ``<?>`` do to them, and how Haskell's ``show`` prints the offending
character. That is what this module does; it is not a general parsing library.

A parser is a function ``(text, index) -> Reply``. Positions are indices into the text;
:func:`source_position` turns one into Parsec's line and column (tabs to the next stop
of 8) only when an error is reported.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

import attrs

__all__ = [
    "EXPECT",
    "MESSAGE",
    "SYS_UNEXPECT",
    "UNEXPECT",
    "ParseError",
    "Parser",
    "Reply",
    "alt",
    "any_char",
    "between",
    "bind",
    "char",
    "eof",
    "fail",
    "fmap",
    "format_messages",
    "haskell_show_char",
    "haskell_show_string",
    "label",
    "look_ahead",
    "many",
    "many1",
    "none_of",
    "not_followed_by",
    "one_of",
    "option_maybe",
    "pure",
    "run",
    "satisfy",
    "sep_by",
    "sep_by1",
    "seq",
    "skip",
    "source_position",
    "string",
    "then",
    "try_",
    "zero",
]

# Parsec's Message constructors, in their Enum order (errors sort by it).
SYS_UNEXPECT: Final = 0
UNEXPECT: Final = 1
EXPECT: Final = 2
MESSAGE: Final = 3


@attrs.frozen
class ParseError:
    index: int
    messages: tuple[tuple[int, str], ...] = ()

    @property
    def unknown(self) -> bool:
        return not self.messages


@attrs.frozen
class Reply:
    ok: bool
    consumed: bool
    value: Any
    index: int
    error: ParseError


Parser: TypeAlias = Callable[[str, int], Reply]


def merge(e1: ParseError, e2: ParseError) -> ParseError:
    """Parsec's ``mergeError``: a meaningful error wins, then the furthest one."""
    if e2.unknown and not e1.unknown:
        return e1
    if e1.unknown and not e2.unknown:
        return e2
    if e1.index == e2.index:
        return ParseError(e1.index, e1.messages + e2.messages)
    return e1 if e1.index > e2.index else e2


def _ok(value: Any, index: int, consumed: bool, error: ParseError) -> Reply:
    return Reply(True, consumed, value, index, error)


def _error(error: ParseError, consumed: bool = False) -> Reply:
    return Reply(False, consumed, None, error.index, error)


# --- Haskell's show ----------------------------------------------------------------

_ASCII_NAMES: Final = [
    "NUL",
    "SOH",
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "BEL",
    "BS",
    "HT",
    "LF",
    "VT",
    "FF",
    "CR",
    "SO",
    "SI",
    "DLE",
    "DC1",
    "DC2",
    "DC3",
    "DC4",
    "NAK",
    "SYN",
    "ETB",
    "CAN",
    "EM",
    "SUB",
    "ESC",
    "FS",
    "GS",
    "RS",
    "US",
]
_SHORT_ESCAPES: Final = {
    "\a": "a",
    "\b": "b",
    "\f": "f",
    "\n": "n",
    "\r": "r",
    "\t": "t",
    "\v": "v",
}


def _show_lit(c: str, following: str) -> str:
    code = ord(c)
    if code > 127:
        escaped = f"\\{code}"
        return escaped + ("\\&" if following.isdigit() and following.isascii() else "")
    if code == 127:
        return "\\DEL"
    if c == "\\":
        return "\\\\"
    if code >= 32:
        return c
    if c in _SHORT_ESCAPES:
        return "\\" + _SHORT_ESCAPES[c]
    if c == "\x0e":
        return "\\SO" + ("\\&" if following == "H" else "")
    return "\\" + _ASCII_NAMES[code]


def haskell_show_string(text: str) -> str:
    """``show`` of a Haskell ``String``: ``"a\\"b"``, non-ASCII as decimal escapes."""
    out = []
    for i, c in enumerate(text):
        following = text[i + 1] if i + 1 < len(text) else ""
        out.append('\\"' if c == '"' else _show_lit(c, following))
    return '"' + "".join(out) + '"'


def haskell_show_char(c: str) -> str:
    """``show`` of a Haskell ``Char``: ``'x'``, ``'\\''``."""
    return "'" + ("\\'" if c == "'" else _show_lit(c, "")) + "'"


def source_position(text: str, index: int) -> tuple[int, int]:
    """Parsec's (line, column) of ``index``: tabs advance to the next multiple of 8."""
    line, column = 1, 1
    for c in text[:index]:
        if c == "\n":
            line, column = line + 1, 1
        elif c == "\t":
            column += 8 - ((column - 1) % 8)
        else:
            column += 1
    return line, column


def format_messages(messages: Sequence[tuple[int, str]]) -> str:
    """``showErrorMessages`` with PostgREST's words, newlines joined by spaces."""
    if not messages:
        return "unknown parse error"
    ordered = sorted(messages, key=lambda m: m[0])  # stable, by constructor only

    def clean(texts: Sequence[str]) -> list[str]:
        return list(dict.fromkeys(t for t in texts if t))

    def commas_or(texts: list[str]) -> str:
        if len(texts) <= 1:
            return "".join(texts)
        return ", ".join(texts[:-1]) + " or " + texts[-1]

    def show_many(prefix: str, texts: list[str]) -> str:
        cleaned = clean(texts)
        if not cleaned:
            return ""
        return commas_or(cleaned) if not prefix else f"{prefix} {commas_or(cleaned)}"

    sys_unexpect = [t for k, t in ordered if k == SYS_UNEXPECT]
    unexpect = [t for k, t in ordered if k == UNEXPECT]
    expect = [t for k, t in ordered if k == EXPECT]
    other = [t for k, t in ordered if k == MESSAGE]
    if unexpect or not sys_unexpect:
        shown_sys = ""
    elif not sys_unexpect[0]:
        shown_sys = "unexpected end of input"
    else:
        shown_sys = f"unexpected {sys_unexpect[0]}"
    parts = [
        shown_sys,
        show_many("unexpected", unexpect),
        show_many("expecting", expect),
        show_many("", other),
    ]
    return " ".join(part for part in clean(parts)).strip()


# --- primitives ---------------------------------------------------------------------


def satisfy(predicate: Callable[[str], bool]) -> Parser:
    def parse(text: str, i: int) -> Reply:
        if i >= len(text):
            return _error(ParseError(i, ((SYS_UNEXPECT, ""),)))
        c = text[i]
        if predicate(c):
            return _ok(c, i + 1, True, ParseError(i + 1))
        return _error(ParseError(i, ((SYS_UNEXPECT, haskell_show_string(c)),)))

    return parse


def char(c: str) -> Parser:
    return label(satisfy(lambda x: x == c), haskell_show_string(c))


def one_of(chars: str) -> Parser:
    return satisfy(lambda x: x in chars)


def none_of(chars: str) -> Parser:
    return satisfy(lambda x: x not in chars)


any_char: Final = satisfy(lambda _: True)


def string(expected: str) -> Parser:
    """Parsec's ``string``: fails at its start position, consuming if a prefix matched."""
    shown = haskell_show_string(expected)

    def parse(text: str, i: int) -> Reply:
        if not expected:
            return _ok("", i, False, ParseError(i))
        for k, wanted in enumerate(expected):
            j = i + k
            if j >= len(text):
                found = ""
            elif text[j] == wanted:
                continue
            else:
                found = haskell_show_string(text[j])
            error = ParseError(i, ((EXPECT, shown), (SYS_UNEXPECT, found)))
            return _error(error, consumed=k > 0)
        end = i + len(expected)
        return _ok(expected, end, True, ParseError(end))

    return parse


def eof(text: str, i: int) -> Reply:
    """``notFollowedBy anyToken <?> "end of input"`` (which never moves the position)."""
    if i >= len(text):
        return _ok(None, i, False, ParseError(i, ((EXPECT, "end of input"), (SYS_UNEXPECT, ""))))
    shown = haskell_show_char(text[i])
    return _error(ParseError(i, ((EXPECT, "end of input"), (UNEXPECT, shown))))


def pure(value: Any) -> Parser:
    return lambda _text, i: _ok(value, i, False, ParseError(i))


def zero(_text: str, i: int) -> Reply:
    """``mzero`` (``guard False``): fails with an unknown error."""
    return _error(ParseError(i))


def fail(message: str) -> Parser:
    return lambda _text, i: _error(ParseError(i, ((MESSAGE, message),)))


# --- combinators --------------------------------------------------------------------


def bind(p: Parser, f: Callable[[Any], Parser]) -> Parser:
    """``p >>= f`` with Parsec's error merging when the second part consumes nothing."""

    def parse(text: str, i: int) -> Reply:
        first = p(text, i)
        if not first.ok:
            return first
        second = f(first.value)(text, first.index)
        if second.consumed:
            return second
        error = merge(first.error, second.error)
        if second.ok:
            return _ok(second.value, second.index, first.consumed, error)
        return _error(error, consumed=first.consumed)

    return parse


def fmap(f: Callable[[Any], Any], p: Parser) -> Parser:
    return bind(p, lambda value: pure(f(value)))


def then(p: Parser, q: Parser) -> Parser:
    """``p *> q``."""
    return bind(p, lambda _: q)


def skip(p: Parser, q: Parser) -> Parser:
    """``p <* q``."""
    return bind(p, lambda value: fmap(lambda _: value, q))


def seq(*parsers: Parser) -> Parser:
    """Run ``parsers`` in order; the value is the tuple of their values."""

    def step(done: tuple[Any, ...], rest: tuple[Parser, ...]) -> Parser:
        if not rest:
            return pure(done)
        return bind(rest[0], lambda value: step((*done, value), rest[1:]))

    return step((), tuple(parsers))


def alt(*parsers: Parser) -> Parser:
    """``p <|> q <|> ...``: the next is tried only after a failure that consumed nothing."""

    def parse(text: str, i: int) -> Reply:
        error = ParseError(i)
        for p in parsers:
            reply = p(text, i)
            if reply.consumed:
                return reply
            error = merge(error, reply.error)
            if reply.ok:
                return _ok(reply.value, reply.index, False, error)
        return _error(error)

    return parse


def try_(p: Parser) -> Parser:
    """``try p``: a failure never counts as consumed (its error keeps its position)."""

    def parse(text: str, i: int) -> Reply:
        reply = p(text, i)
        return reply if reply.ok else _error(reply.error)

    return parse


def label(p: Parser, name: str) -> Parser:
    """``p <?> name``: when ``p`` consumes nothing, expect ``name`` instead."""

    def relabel(error: ParseError) -> ParseError:
        kept = tuple(m for m in error.messages if m[0] != EXPECT)
        return ParseError(error.index, ((EXPECT, name), *kept))

    def parse(text: str, i: int) -> Reply:
        reply = p(text, i)
        if reply.consumed:
            return reply
        if reply.ok:
            error = reply.error if reply.error.unknown else relabel(reply.error)
            return _ok(reply.value, reply.index, False, error)
        return _error(relabel(reply.error))

    return parse


def many(p: Parser) -> Parser:
    def parse(text: str, i: int) -> Reply:
        values: list[Any] = []
        consumed = False
        while True:
            reply = p(text, i)
            if not reply.ok:
                if reply.consumed:
                    return reply
                return _ok(values, i, consumed, reply.error)
            if not reply.consumed:
                raise AssertionError("many() applied to a parser that accepts nothing")
            values.append(reply.value)
            i, consumed = reply.index, True

    return parse


def many1(p: Parser) -> Parser:
    return bind(p, lambda first: fmap(lambda rest: [first, *rest], many(p)))


def sep_by1(p: Parser, separator: Parser) -> Parser:
    return bind(p, lambda first: fmap(lambda rest: [first, *rest], many(then(separator, p))))


def sep_by(p: Parser, separator: Parser) -> Parser:
    return alt(sep_by1(p, separator), pure([]))


def between(open_: Parser, close: Parser, p: Parser) -> Parser:
    return then(open_, skip(p, close))


def option_maybe(p: Parser) -> Parser:
    return alt(p, pure(None))


def look_ahead(p: Parser) -> Parser:
    def parse(text: str, i: int) -> Reply:
        reply = p(text, i)
        if reply.ok:
            return _ok(reply.value, i, False, ParseError(i))
        return reply

    return parse


def not_followed_by(p: Parser) -> Parser:
    """``notFollowedBy p``; the unexpected value is shown as a Haskell ``Char``."""

    def parse(text: str, i: int) -> Reply:
        reply = p(text, i)
        if reply.ok:
            shown = haskell_show_char(str(reply.value))
            return _error(ParseError(reply.index, ((UNEXPECT, shown),)))
        return _ok(None, i, False, reply.error)

    return parse


def run(p: Parser, text: str) -> Reply:
    return p(text, 0)


def is_haskell_letter(c: str) -> bool:
    """Haskell's ``isAlpha``: any Unicode letter."""
    return unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lm", "Lo")
