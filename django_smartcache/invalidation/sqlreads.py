"""What a statement reads: the tables it names, and the rows when that is exact.

For dependency capture (``capture``). ``analyse_read(sql, vendor)`` returns a
:class:`Read`: every name the statement holds that may be a table (``tables``; any
word, wherever it is, even in a comment or a string: a name that is no table costs
nothing, a table missed would leave a page stale), and, for the one shape whose rows
are known exactly, the table, the pk column and how many values it takes.

That shape is what ``get(pk=...)``, ``get_object_or_404(Model, pk=...)``,
``DetailView.get_object`` and ``filter(pk__in=[...])`` produce::

    SELECT <columns, maybe aliased> FROM <one table> [[AS] alias]
        WHERE <col> = %s | <col> IN (%s, ...)
        [ORDER BY ...] [LIMIT n] [OFFSET n] [FOR UPDATE ...]

one statement, nothing hidden from the tokens, no parenthesis before ``WHERE`` (no
function, aggregate, subquery, literal or operator in the columns: ``exists()``), no join,
none after it but the ``IN`` list's (an ``ORDER BY`` subquery may read other rows of the
table and so decide which rows come first, or whether they come at all), and its
only placeholders the pk values. Everything else reads whole tables. Whether the
column is the table's pk, and whether pks compare exactly, is decided with the model
(``capture``). Memoized per statement text.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from .sqltokens import Token, readings, words
from .sqlwrites import _find, _is, _pk_where, _single, _word

_TAIL = frozenset({"ORDER", "LIMIT", "OFFSET", "FOR", "FETCH"})
_LONG = 16384  # longer statements are not memoized (bulk reads with huge IN lists)


class Read(NamedTuple):
    """The tables a statement names, and its exact rows when it reads by pk only."""

    tables: tuple[str, ...]  # lower case, unquoted, last part of qualified names
    pk_table: str = ""  # the one table read by pk ("" when not that shape)
    pk_column: str = ""  # lower case
    pk_count: int = 0  # the statement's parameters are exactly these pk values


def analyse_read(sql: str, vendor: str | None = None) -> Read:
    """What ``sql`` reads (see the module docstring), for ``vendor`` (Django's name)."""
    if len(sql) > _LONG:
        return _analyse(sql, vendor)
    return _memo(sql, vendor)


def _analyse(sql: str, vendor: str | None) -> Read:
    tables = tuple(words(sql))
    rows = None
    if "WHERE" in sql.upper():
        found = {
            None if reading.hidden else _rows(reading.statements)
            for reading in readings(sql, vendor)
        }
        # Every reading must agree (where comments and strings end is vendor-dependent).
        rows = found.pop() if len(found) == 1 else None
    if rows is None:
        return Read(tables)
    return Read(tables, *rows)


_memo = functools.lru_cache(maxsize=4096)(_analyse)


def _rows(statements: list[list[Token]] | None) -> tuple[str, str, int] | None:
    """(table, pk column, count) of a single pk-only SELECT; ``None`` otherwise."""
    if statements is None or len(statements) != 1:
        return None
    tokens = statements[0]
    if _word(tokens, 0) != "SELECT" or _word(tokens, 1) in ("DISTINCT", "ALL"):
        return None
    start = _find(tokens, 1, {"FROM"})
    where = _find(tokens, 1, {"WHERE"})
    if start is None or where is None or where < start:
        return None
    if not all(_plain(t) for t in tokens[1:start]):
        return None  # a function, an aggregate, a literal (exists()), a parameter
    if any(_is(tokens, k, "(") for k in range(start, where)):
        return None  # a subquery or a join in FROM
    single = _single(tokens[start + 1 : where])
    if single is None:  # a join, a list of tables
        return None
    tail = _find(tokens, where + 1, _TAIL)
    condition = tokens[where + 1 : tail]
    if tail is not None and any(
        t.kind == "ph" or _is(tokens, k, "(") for k, t in enumerate(tokens[tail:], tail)
    ):
        # A parameter in LIMIT, say: the pk values are not all there is; a parenthesis
        # (an ORDER BY subquery or expression): it may read other rows of the table.
        return None
    pk = _pk_where(condition, single[1])
    if pk is None or any(_word(condition, k) == "SELECT" for k in range(len(condition))):
        return None
    return single[0], pk[0], pk[1]


def _plain(tok: Token) -> bool:
    """A token of a plain column list: names (``AS`` aliases too), dots, commas, ``*``.
    A literal (``SELECT 1 AS a``), an operator or a parenthesis is not."""
    return tok.kind in ("w", "q") or (tok.kind in ("p", "o") and tok.text in (".", ",", "*"))
