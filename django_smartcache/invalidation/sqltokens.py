"""SQL text as the database will read it: its significant tokens, for ``sqlwrites``.

What is code, and what is a comment or a string, depends on the database and its
settings, and reading it wrong can hide a write. ``readings(sql, vendor)`` tokenizes
``sql`` (sqlparse's lexer, with its own comment and string rules) every way the
vendor may read it, and ``sqlwrites`` analyses every reading:

* MySQL: ``#`` and ``-- `` comments (``--`` then a space); ``/*! ... */`` and
  ``/*M! ... */`` are code; backslashes escape in strings, or not
  (NO_BACKSLASH_ESCAPES): both readings.
* PostgreSQL: ``#`` is an operator; ``E'...'`` strings take backslash escapes, plain
  ones too or not (standard_conforming_strings): both readings. Block comments nest
  there, which the lexer does not follow: a block comment holding ``/*`` makes the
  reading "unsure" (``Reading.statements`` is ``None``), and every word counts.
* SQLite: neither ``#`` comments nor backslash escapes. Unknown vendors: every reading.

Both backslash readings are only made when the text holds a backslash. A list of
``%s`` becomes one mark, ``%(__<n>)s``, that keeps its count, and ``shorten`` drops
the repeats of bulk statements (VALUES rows, CASE WHEN arms of ``bulk_update``), so
a statement of thousands of rows lexes in about a millisecond. It does not parse:
``sqlwrites`` does.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from sqlparse import keywords
from sqlparse import tokens as T
from sqlparse.lexer import Lexer


class Token(NamedTuple):
    kind: str  # w: word (keyword or bare name, upper case), q: quoted name (lower case),
    # ph: placeholder, p: punctuation, s: string literal, o: anything else
    text: str
    depth: int  # parentheses around it; a "(" and its ")" share the depth outside them


class Reading(NamedTuple):
    """One way to read the text: its statements (``None``: unsure where code is)."""

    statements: list[list[Token]] | None
    hidden: bool  # the driver fills %s parameters no token shows (in comments, strings)


_EXECUTABLE = re.compile(r"/\*M?!\d*(.*?)\*/", re.DOTALL)  # MySQL runs what these hold
_RUN = re.compile(r"(?<!%)%s(?:[ \t]*,[ \t]*%s)+")  # a list of placeholders ...
_MARK = re.compile(r"%\(__(\d+)\)s")  # ... stands for them all: %(__<count>)s
_PERCENT = re.compile(r"%(?:%|s|\(__(\d+)\)s)")
_NEUTRAL = re.compile(r'(?:[ \w.=(),%:<>+]|"[\w ]*"|`[\w ]*`)*')
_WORD = re.compile(r"[^\W\d][\w$]*")
_QUOTED = re.compile(r'"([^"]*)"|`([^`]*)`|\[([^\]]*)\]')


def _mark(run: re.Match[str]) -> str:
    return f"%(__{run.group().count('%s')})s"


def shorten(sql: str) -> str:
    """``sql`` without the repeats of bulk statements, read the same way.

    Only a piece equal to the one before it goes, and only one that cannot change
    what is code, string or comment around it (no quote but whole quoted names, no
    comment or dollar-quote character, no newline, balanced parentheses).
    """
    text = _RUN.sub(_mark, sql)
    for sep in (" WHEN ", "), ("):
        parts = text.split(sep)
        if len(parts) > 3:
            kept = parts[:1]
            for part in parts[1:]:
                if part != kept[-1] or not _neutral(part):
                    kept.append(part)
            text = sep.join(kept)
    return text


def _neutral(piece: str) -> bool:
    return (
        _NEUTRAL.fullmatch(piece) is not None
        and piece.count("(") == piece.count(")")
        and not ('"' in piece and "`" in piece)
    )


def readings(sql: str, vendor: str | None) -> list[Reading]:
    """``sql`` tokenized every way ``vendor`` (Django's name) may read it."""
    text = _RUN.sub(_mark, sql)
    known = vendor in ("mysql", "postgresql", "sqlite")
    hashes = (vendor == "mysql",) if known else (True, False)  # MySQL's ways, or not
    slashes = (False,) if vendor == "sqlite" or "\\" not in text else (True, False)
    return [_reading(text, h, s) for h in hashes for s in slashes]


def _reading(text: str, hash_comments: bool, backslash: bool) -> Reading:
    if hash_comments:
        text = _EXECUTABLE.sub(r" \1 ", text)
    tokens = _tokens(text, _lexer(hash_comments, backslash))
    if tokens is None:
        return Reading(None, True)
    statements: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.kind == "p" and tok.text == ";":
            statements.append([])
        else:
            statements[-1].append(tok)
    shown = sum(parameters(tok) for tok in tokens)
    return Reading([s for s in statements if s], shown != _filled(text))


def _filled(text: str) -> int:
    """How many ``%s`` parameters a driver fills in ``text``, comments and strings included."""
    found = (m for m in _PERCENT.finditer(text) if m.group() != "%%")
    return sum(int(m.group(1)) if m.group(1) else 1 for m in found)


def parameters(tok: Token) -> int:
    """How many ``%s`` parameters ``tok`` stands for (0: not a ``%s`` placeholder)."""
    if tok.kind != "ph":
        return 0
    if tok.text == "%s":
        return 1
    mark = _MARK.fullmatch(tok.text)
    return int(mark.group(1)) if mark else 0


@functools.cache
def _lexer(hash_comments: bool, backslash: bool) -> Lexer:
    """sqlparse's lexer with comment and string rules for one reading (not the shared one)."""
    comment = r"(?:--(?=\s|$)|#)" if hash_comments else "--"
    if backslash:
        single, double = r"'(?:''|\\[\s\S]|[^'\\])*'", r'"(?:""|\\[\s\S]|[^"\\])*"'
    else:
        single, double = r"'(?:''|[^'])*'", r'"(?:""|[^"])*"'
    rules: list[tuple[str, object]] = [
        (comment + r".*?(?:\r\n|\r|\n|$)", T.Comment.Single),
        (single, T.String.Single),
        (double, T.String.Symbol),
    ]
    if not hash_comments:  # PostgreSQL's E'...': backslash escapes
        rules.insert(1, (r"[Ee]'(?:''|\\[\s\S]|[^'\\])*'", T.String.Single))
    dropped = (T.Comment.Single, T.Comment.Single.Hint, T.String.Single, T.String.Symbol)
    rules += [rule for rule in keywords.SQL_REGEX if not any(rule[1] is d for d in dropped)]
    lexer = Lexer()
    lexer.default_initialization()
    lexer.set_SQL_REGEX(rules)
    return lexer


def _tokens(text: str, lexer: Lexer) -> list[Token] | None:
    """Significant tokens of ``text``; ``None`` when a block comment may nest."""
    out: list[Token] = []
    depth = 0
    for ttype, value in lexer.get_tokens(text):
        if ttype in T.Comment:
            if "/*" in value[2:]:
                return None
        elif ttype in T.Whitespace:
            pass
        elif ttype in T.Punctuation:
            if value == ")":
                depth = max(depth - 1, 0)
            out.append(Token("p", value, depth))
            depth += value == "("
        elif ttype in T.Name.Placeholder:
            out.append(Token("ph", value, depth))
        elif ttype in T.String.Symbol or (ttype in T.Name and value[0] in "`[´"):
            quote, inner = value[0], value[1:-1]
            inner = inner if quote == "[" else inner.replace(quote * 2, quote)
            out.append(Token("q", inner.lower(), depth))
        elif ttype in T.Name or ttype in T.Keyword:
            out += [Token("w", word.upper(), depth) for word in value.split()]
        elif ttype in T.String or ttype is T.Literal:  # T.Literal: $$dollar-quoted$$
            out.append(Token("s", value, depth))
        else:
            out.append(Token("o", value, depth))
    return out


def name(tok: Token) -> str:
    """The name a word or quoted token stands for (lower case, unquoted)."""
    return tok.text if tok.kind == "q" else tok.text.lower().lstrip("@#")


def names(tokens: list[Token], strings: bool = False) -> list[str]:
    """Every name in ``tokens`` (and, with ``strings``, every word in string literals)."""
    found: dict[str, None] = {}
    for tok in tokens:
        if tok.kind in ("w", "q"):
            found[name(tok)] = None
        elif strings and tok.kind == "s":
            found.update(dict.fromkeys(m.group().lower() for m in _WORD.finditer(tok.text)))
    return list(found)


def words(text: str) -> list[str]:
    """Every word and quoted name in ``text``, wherever it is (code, comment, string)."""
    found = [m.group().lower() for m in _WORD.finditer(text)]
    found += ["".join(m.groups(default="")).lower() for m in _QUOTED.finditer(text)]
    return list(dict.fromkeys(found))


_UNICODE_NAME = re.compile(
    r"""U&"((?:[^"]|"")*)"(?:\s*UESCAPE\s*'(.)')?""", re.IGNORECASE | re.DOTALL
)


def unicode_identifiers(sql: str) -> str:
    """PostgreSQL's ``U&"t\\0061ble"`` (and ``UESCAPE``) identifiers, spelled out."""

    def spell(match: re.Match) -> str:
        body, escape = match.group(1).replace('""', '"'), re.escape(match.group(2) or "\\")
        decoded = re.sub(
            rf"{escape}(?:\+([0-9A-Fa-f]{{6}})|([0-9A-Fa-f]{{4}})|({escape}))",
            lambda m: chr(int(m.group(1) or m.group(2), 16)) if not m.group(3) else m.group(3),
            body,
        )
        return '"' + decoded.replace('"', '""') + '"'

    return _UNICODE_NAME.sub(spell, sql)
