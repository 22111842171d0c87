"""Which tables may an SQL statement write, and is it a pk-only write of one table?

The statement analysis of the SQL watcher (``dbwrites``). It knows SQL, not models:
``analyse(sql, vendor)`` returns the :class:`Write` s of a statement (table names in
lower case, unquoted, without schema), and ``dbwrites`` maps them to models and tags.

Reads cost no tokenizing: ``is_read`` accepts a statement without ``;`` whose first
word, after whitespace, ``(`` and comments, is ``SELECT``, ``SHOW``, ``SET``, a
transaction or savepoint command or the like. Everything else is tokenized every
way the vendor may read it (``sqltokens``: sqlparse's lexer with the vendor's comment
and string rules), each reading is analysed and the union kept, memoized per SQL
text. Each ``;``-separated statement is analysed on its own:

* ``INSERT`` (``... VALUES``, ``... SELECT``, as Django's bulk_create on PostgreSQL):
  the target, new rows only (``INSERT``). ``REPLACE``, ``INSERT OR REPLACE`` and
  upserts (``ON CONFLICT ... DO UPDATE``, ``ON DUPLICATE KEY UPDATE``) also change
  existing rows: the whole target (``ALL``).
* ``UPDATE``/``DELETE`` of one table whose ``WHERE`` is only ``pk = %s`` or
  ``pk IN (%s, ...)`` (alone in the execute, no CTE, no ``FROM``/``USING``): those
  rows (``ROWS``). Any other single-table form: the whole target; ``UPDATE ... FROM``
  and ``DELETE ... USING`` only read the other tables. Multi-table forms (``UPDATE a
  JOIN b``, ``UPDATE a, b``, ``DELETE a, b FROM ...``): every table they name.
* ``WITH``: every CTE body and the main statement, as statements of their own
  (data-modifying CTEs), never row-precise. ``MERGE INTO t``: the whole ``t``.
  ``TRUNCATE``: every table listed (``CASCADE``: ``dbwrites`` adds the tables whose
  foreign keys lead to them). ``EXPLAIN ANALYZE stmt``/MariaDB's ``ANALYZE stmt``
  run ``stmt``: as ``stmt``.
* Anything else that may write (DDL, ``COPY``, ``LOAD DATA``, ``DO``, an unknown
  verb, a shape not understood, a nested write where none is expected): every name
  in it (identifiers and words inside string literals; in a reading unsure where the
  code is, every word of the text), whole tables. Never less.

What it does not see: writes made by stored code (``SELECT f()``, ``CALL p()``,
``EXECUTE`` of a prepared statement, triggers, rules) and cascades the database runs
itself (``ON DELETE CASCADE``), except ``TRUNCATE ... CASCADE``. In the supported
databases a ``SELECT`` writes nothing otherwise (``SELECT ... INTO`` makes a new
table, which holds no cached data). MySQL's ``ANSI_QUOTES`` mode needs nothing
(double quotes are read as names either way).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from .sqltokens import (
    Reading,
    Token,
    name,
    names,
    parameters,
    readings,
    shorten,
    unicode_identifiers,
    words,
)

INSERT, ROWS, ALL, CASCADE = "insert", "rows", "all", "cascade"


class Write(NamedTuple):
    """One table a statement may write, and how."""

    table: str  # lower case, unquoted, last part of a qualified name
    effect: str  # INSERT (new rows only) | ROWS | ALL | CASCADE (ALL, and referencing tables)
    pk_column: str = ""  # ROWS: the column the WHERE compares (lower case)
    pk_count: int = 0  # ROWS: the row values are the last pk_count values of each param set


# First words of statements that change no table's rows (EXPLAIN/DESCRIBE: see _EXPLAINS).
_READS = frozenset(
    {"SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "PRAGMA", "SAVEPOINT", "RELEASE"}
    | {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SET", "VALUES", "TABLE", "USE"}
    | {"LOCK", "UNLOCK", "DECLARE", "FETCH", "CLOSE", "MOVE", "LISTEN", "UNLISTEN", "NOTIFY"}
    | {"RESET", "DISCARD", "CHECKPOINT", "VACUUM", "REINDEX"}
)
_EXPLAINS = frozenset({"EXPLAIN", "DESCRIBE", "DESC", "ANALYZE", "ANALYSE"})
_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "TRUNCATE"})
_STARTS = _WRITES | {"SELECT", "WITH", "VALUES", "TABLE"}
# A write keyword after one of these is a clause, not a statement: ON CONFLICT DO
# UPDATE, ON DUPLICATE KEY UPDATE, FOR [NO KEY] UPDATE, MERGE's THEN UPDATE, ON
# DELETE (foreign keys), INSERT OR REPLACE, triggers' BEFORE/AFTER/OF.
_EXCUSES = frozenset({"DO", "THEN", "KEY", "FOR", "ON", "OR", "BEFORE", "AFTER", "OF"})
_TRUNCATE_OPTIONS = frozenset(
    {"TABLE", "ONLY", "RESTART", "CONTINUE", "IDENTITY", "CASCADE", "RESTRICT"}
)

# Leading whitespace, "(" and comments (a block comment holding "/*" may nest on
# PostgreSQL, and MySQL runs /*! ... */: neither is skipped), then the first word.
_LEAD = re.compile(r"(?:\s|\(|--[^\n]*(?:\n|$)|/\*(?!M?!)(?:[^*/]|\*(?!/)|/(?!\*))*\*/)*(\w+)")
_LONG = 2048  # longer statements are shortened before the memo
_UNCACHED = 16384  # and not memoized when still longer


def is_read(sql: str) -> bool:
    """Whether ``sql`` certainly writes nothing, decided without tokenizing."""
    if ";" in sql:
        return False
    lead = _LEAD.match(sql)
    if lead is None:
        return False
    word = lead.group(1).upper()
    return word in _READS and not (word in _EXPLAINS and "ANALY" in sql.upper())


def analyse(sql: str, vendor: str | None = None) -> tuple[Write, ...]:
    """The tables ``sql`` may write (empty for reads), for ``vendor`` (Django's name)."""
    if is_read(sql):
        return ()
    if vendor in (None, "postgresql") and "U&" in sql.upper():
        sql = unicode_identifiers(sql)
    if len(sql) > _LONG:
        sql = shorten(sql)
        if len(sql) > _UNCACHED:
            return _analyse(sql, vendor)
    return _memo(sql, vendor)


def _analyse(sql: str, vendor: str | None) -> tuple[Write, ...]:
    found: dict[Write, None] = {}
    for reading in readings(sql, vendor):
        found.update(dict.fromkeys(_reading_writes(reading, sql)))
    return tuple(found)


_memo = functools.lru_cache(maxsize=2048)(_analyse)


def _reading_writes(reading: Reading, sql: str) -> list[Write]:
    if reading.statements is None:  # unsure where the code is: every word is a name
        return [Write(word, ALL) for word in words(sql)]
    # Row values are the last parameters: only in a single statement, and only if the
    # driver fills no %s that the tokens do not show (in a comment, a string literal).
    rows = len(reading.statements) == 1 and not reading.hidden
    writes: list[Write] = []
    for statement in reading.statements:
        found = _statement(statement, rows)
        if found is None or (not found and _writes_something(statement)):
            # Not understood, or a write verb that named no table it could read (a table
            # called like a keyword, a string-literal name): every name is a target.
            found = [Write(n, ALL) for n in names(statement, strings=True)]
        writes += found
    return writes


def _writes_something(tokens: list[Token]) -> bool:
    """Whether a statement starts with a verb that always writes a table."""
    while _is(tokens, 0, "("):
        tokens = tokens[1:]
    return _word(tokens, 0) in _WRITES


def _word(tokens: list[Token], i: int) -> str:
    return tokens[i].text if 0 <= i < len(tokens) and tokens[i].kind == "w" else ""


def _is(tokens: list[Token], i: int, punctuation: str) -> bool:
    return 0 <= i < len(tokens) and tokens[i].kind == "p" and tokens[i].text == punctuation


def _find(tokens: list[Token], start: int, words: set[str]) -> int | None:
    """The first of ``words`` at the statement's own depth, from ``start``."""
    base = tokens[0].depth
    for k in range(start, len(tokens)):
        if tokens[k].depth == base and tokens[k].kind == "w" and tokens[k].text in words:
            return k
    return None


def _close(tokens: list[Token], i: int) -> int | None:
    """The index of the ")" that closes the "(" at ``i``."""
    for k in range(i + 1, len(tokens)):
        if tokens[k].depth == tokens[i].depth and _is(tokens, k, ")"):
            return k
    return None


def _dotted(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """A possibly qualified name at ``i``: its last part and the index after it."""
    if i >= len(tokens) or tokens[i].kind not in ("w", "q"):
        return None
    last, i = name(tokens[i]), i + 1
    while _is(tokens, i, ".") and i + 1 < len(tokens):
        if tokens[i + 1].kind not in ("w", "q"):
            return None  # main.'t' (SQLite takes a string as a name): not understood
        last, i = name(tokens[i + 1]), i + 2
    return last, i


def _stray(tokens: list[Token]) -> bool:
    """Whether a write keyword follows the verb where no clause explains it."""
    for k in range(1, len(tokens)):
        if tokens[k].kind == "w" and tokens[k].text in _WRITES:
            function = tokens[k].text in ("INSERT", "REPLACE") and _is(tokens, k + 1, "(")
            if not function and _word(tokens, k - 1) not in _EXCUSES:
                return True
    return False


def _statement(tokens: list[Token], rows: bool) -> list[Write] | None:
    """The writes of one statement; ``None`` when it is not understood."""
    while _is(tokens, 0, "("):  # (SELECT ...) UNION (SELECT ...)
        tokens, rows = tokens[1:], False
    if not tokens:
        return []
    verb = _word(tokens, 0)
    if verb in _EXPLAINS and any(_word(tokens, k).startswith("ANALY") for k in range(len(tokens))):
        inner = _find(tokens, 1, _STARTS)  # EXPLAIN ANALYZE runs the statement
        if inner is not None:
            return _statement(tokens[inner:], rows)
        return [] if verb.startswith("ANALY") else None  # ANALYZE [TABLE] t: statistics
    if verb in _READS:
        return []
    handler = _HANDLERS.get(verb)
    return None if handler is None else handler(tokens, rows)


def _with(tokens: list[Token], rows: bool) -> list[Write] | None:
    """``WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (body), ... main``."""
    i = 2 if _word(tokens, 1) == "RECURSIVE" else 1
    found: list[Write] = []
    while True:
        named = _dotted(tokens, i)
        if named is None:
            return None
        i = named[1]
        if _is(tokens, i, "("):
            end = _close(tokens, i)
            i = len(tokens) if end is None else end + 1
        if _word(tokens, i) != "AS":
            return None
        i += 1 + (_word(tokens, i + 1) == "NOT")
        i += _word(tokens, i) == "MATERIALIZED"
        end = _close(tokens, i) if _is(tokens, i, "(") else None
        body = None if end is None else _statement(tokens[i + 1 : end], False)
        if end is None or body is None:
            return None
        found += body
        i = end + 1
        if not _is(tokens, i, ","):
            break
        i += 1
    main = _statement(tokens[i:], False)
    return None if main is None else found + main


def _insert(tokens: list[Token], rows: bool) -> list[Write] | None:
    """``INSERT``/``REPLACE``: new rows, unless it may also change existing ones.

    ``INSERT ... SELECT`` adds rows like ``VALUES`` does (its SELECT only reads).
    """
    effect = ALL if tokens[0].text == "REPLACE" else INSERT
    i = 1
    while _word(tokens, i) in ("LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"):
        i += 1
    if _word(tokens, i) == "OR":  # SQLite: INSERT OR REPLACE / IGNORE / ABORT / ...
        effect = ALL if _word(tokens, i + 1) == "REPLACE" else effect
        i += 2
    i += _word(tokens, i) == "INTO"
    target = _dotted(tokens, i)
    if target is None or _stray(tokens):
        return None
    for k in range(target[1], len(tokens)):  # ON CONFLICT ... DO UPDATE, ON DUPLICATE KEY UPDATE
        if _word(tokens, k) == "UPDATE" and _word(tokens, k - 1) in ("DO", "KEY"):
            effect = ALL
    return [Write(target[0], effect)]


def _update(tokens: list[Token], rows: bool) -> list[Write] | None:
    """``UPDATE``: one table (maybe row-precise), or every table a multi-table form names."""
    i = 1
    while _word(tokens, i) in ("LOW_PRIORITY", "IGNORE", "ONLY"):
        i += 1
    if _word(tokens, i) == "OR":  # SQLite: UPDATE OR REPLACE deletes conflicting rows
        i, rows = i + 2, False
    set_at = _find(tokens, i, {"SET"})
    if set_at is None or _stray(tokens):
        return None
    single = _single(tokens[i:set_at])
    if single is None:  # UPDATE a JOIN b ... / UPDATE a, b ...: any of them
        return [Write(n, ALL) for n in names(tokens[i:set_at], strings=True)]
    joined = _find(tokens, set_at, {"FROM"}) is not None  # UPDATE t SET ... FROM other
    where = _find(tokens, set_at, {"WHERE"})
    write = _target(single, tokens, where, rows and not joined)
    if write.effect == ROWS and write.pk_column in _assigned(tokens[set_at + 1 : where]):
        # The pk itself changes: a row appears under a pk no tag names (a captured read
        # of that pk that found nothing): the whole table.
        return [Write(write.table, ALL)]
    return [write]


def _assigned(tokens: list[Token]) -> set[str]:
    """The columns a ``SET`` list assigns (``col = ...``, ``t.col = ...``)."""
    found: set[str] = set()
    base = tokens[0].depth if tokens else 0
    start = 0
    for k in range(len(tokens) + 1):
        if k == len(tokens) or (tokens[k].depth == base and _is(tokens, k, ",")):
            named = _dotted(tokens[start:k], 0)
            if named is not None:
                found.add(named[0])
            start = k + 1
    return found


def _delete(tokens: list[Token], rows: bool) -> list[Write] | None:
    """``DELETE``: one table (maybe row-precise), or every table a multi-table form names."""
    i = 1
    while _word(tokens, i) in ("LOW_PRIORITY", "QUICK", "IGNORE"):
        i += 1
    if _stray(tokens):
        return None
    if _word(tokens, i) != "FROM":  # MySQL: DELETE a, b FROM a JOIN b ...: any table named
        end = _find(tokens, i, {"WHERE", "ORDER", "LIMIT"})
        return [Write(n, ALL) for n in names(tokens[i:end], strings=True)]
    i += 1 + (_word(tokens, i + 1) == "ONLY")
    end = _find(tokens, i, {"USING", "WHERE", "RETURNING", "ORDER", "LIMIT"})
    end = len(tokens) if end is None else end
    single = _single(tokens[i:end])
    if single is None:  # MySQL: DELETE FROM a, b USING ...
        return [Write(n, ALL) for n in names(tokens[i:end], strings=True)]
    where = end if _word(tokens, end) == "WHERE" else None
    return [_target(single, tokens, where, rows and _word(tokens, end) != "USING")]


def _merge(tokens: list[Token], rows: bool) -> list[Write] | None:
    i = 1 + (_word(tokens, 1) == "INTO")
    target = _dotted(tokens, i + (_word(tokens, i) == "ONLY"))
    return None if target is None or _stray(tokens) else [Write(target[0], ALL)]


def _truncate(tokens: list[Token], rows: bool) -> list[Write] | None:
    effect = CASCADE if any(_word(tokens, k) == "CASCADE" for k in range(len(tokens))) else ALL
    listed = [t for t in tokens[1:] if not (t.kind == "w" and t.text in _TRUNCATE_OPTIONS)]
    return [Write(n, effect) for n in names(listed)]


_HANDLERS = {
    "WITH": _with,
    "INSERT": _insert,
    "REPLACE": _insert,
    "UPDATE": _update,
    "DELETE": _delete,
    "MERGE": _merge,
    "TRUNCATE": _truncate,
}


def _single(refs: list[Token]) -> tuple[str, set[str]] | None:
    """``name [[AS] alias]``: the table and the names that may qualify its columns."""
    named = _dotted(refs, 0)
    if named is None:
        return None
    table, i = named
    i += _word(refs, i) == "AS"
    qualifiers = {table}
    if i < len(refs) and refs[i].kind in ("w", "q"):
        qualifiers.add(name(refs[i]))
        i += 1
    return (table, qualifiers) if i == len(refs) else None


def _target(
    single: tuple[str, set[str]], tokens: list[Token], where: int | None, rows: bool
) -> Write:
    """The write of a single-table UPDATE/DELETE: its rows when ``rows`` and the WHERE allow."""
    table, qualifiers = single
    if rows and where is not None:
        pk = _pk_where(tokens[where + 1 :], qualifiers)
        if pk is not None:
            return Write(table, ROWS, *pk)
    return Write(table, ALL)


def _pk_where(tokens: list[Token], qualifiers: set[str]) -> tuple[str, int] | None:
    """``col = %s`` or ``col IN (%s, ...)``, alone (``RETURNING`` aside): (col, count)."""
    end = next((k for k, t in enumerate(tokens) if t.kind == "w" and t.text == "RETURNING"), None)
    if end is not None:
        if any(t.kind == "ph" for t in tokens[end:]):
            return None
        tokens = tokens[:end]
    named = _dotted(tokens, 0)
    if named is None:
        return None
    column, i = named
    if i > 1 and name(tokens[i - 3]) not in qualifiers:
        return None
    rest = tokens[i:]
    if len(rest) == 2 and rest[0].kind == "o" and rest[0].text == "=":
        values = rest[1:]
    elif _word(rest, 0) == "IN" and _is(rest, 1, "(") and _is(rest, len(rest) - 1, ")"):
        values = rest[2:-1:2]
        if not all(_is(rest, k, ",") for k in range(3, len(rest) - 1, 2)):
            return None
    else:
        return None
    counts = [parameters(tok) for tok in values]
    return None if not counts or 0 in counts else (column, sum(counts))
