"""The figures of the admin's "Smart cache" page and of ``manage.py smartcache stats``.

Tracked models, with the cached views and functions that depend on them (declared,
found at run time, captured from their queries) and when each was last invalidated;
cached views and functions with their hit / miss / stale / bypass / invalidation
counts summed over every cache alias in use, and a warning for those invalidated more
often than they were served in the last hour (``churn``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.apps import apps
from django.urls import get_resolver

from ..conf import get_settings
from ..core import stats
from ..core.tags import GLOBAL, model_tag
from ..frontends import registry
from ..invalidation.tracking import is_tracked
from ..stores.factory import get_store
from .churn import Churn, churn_of

DECLARED, RUN_TIME, CAPTURED = "declared", "found at run time", "captured from its queries"


@dataclass(frozen=True)
class Dependant:
    """A cached view or function that depends on a model, and how it came to."""

    kind: str
    name: str
    how: tuple[str, ...]  # of DECLARED, RUN_TIME (depend_on, inner entries), CAPTURED

    @property
    def declared(self) -> bool:
        return DECLARED in self.how

    @property
    def how_text(self) -> str:
        return ", ".join(self.how)


@dataclass
class ModelRow:
    label: str
    name: str
    dependants: list[Dependant]
    last_invalidated: datetime | None


@dataclass
class EntryRow:
    kind: str
    name: str
    alias: str
    counts: dict[str, int] = field(default_factory=dict)
    recent: dict[str, int] = field(default_factory=dict)  # the last hour's
    churn: Churn | None = None

    @property
    def hit(self) -> int:
        return self.counts.get("HIT", 0)

    @property
    def miss(self) -> int:
        return self.counts.get("MISS", 0)

    @property
    def stale(self) -> int:
        return self.counts.get("STALE", 0)

    @property
    def bypass(self) -> int:
        return self.counts.get("BYPASS", 0)

    @property
    def invalidated(self) -> int:
        return self.counts.get(stats.INVALIDATED, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.get(event, 0) for event in stats.EVENTS)

    @property
    def ratio(self) -> float | None:
        """Share of requests answered from the cache (HIT and STALE), or None before any."""
        return (self.hit + self.stale) / self.total if self.total else None

    @property
    def ratio_text(self) -> str:
        return "—" if self.ratio is None else f"{self.ratio:.0%}"


@dataclass
class LocalRow:
    """One process's local tier (``SMARTCACHE["LOCAL"]``), as last flushed."""

    process: str  # host:pid
    hits: int = 0
    evictions: int = 0
    bytes: int = 0


@dataclass
class Overview:
    models: list[ModelRow]
    entries: list[EntryRow]
    purged_all: datetime | None
    aliases: list[str]
    errors: list[str]
    local: list[LocalRow] = field(default_factory=list)

    @property
    def churning(self) -> list[EntryRow]:
        """The views and functions invalidated more often than served in the last hour."""
        return [entry for entry in self.entries if entry.churn is not None]


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=UTC)


def collect() -> Overview:
    """Read the shared counters and bump times (flushing this process's counters first)."""
    errors = []
    try:
        _ = get_resolver().url_patterns  # imports the views: their decorators declare them
    except Exception as exc:
        errors.append(f"The URLconf could not be loaded: {type(exc).__name__}: {exc}")
    default = get_settings().CACHE_ALIAS
    declared = registry.declared()
    aliases = [default, *sorted({d.alias for d in declared if d.alias} - {default})]
    tracked = [m for m in apps.get_models() if not m._meta.proxy and is_tracked(m)]
    tags = [GLOBAL, *(model_tag(m) for m in tracked)]
    events = (*stats.EVENTS, stats.INVALIDATED)
    candidates = [stats.field(d.kind, d.name, e) for d in declared for e in events]
    # The portable store cannot list its counters: what may have invalidated them.
    sources = [stats.GLOBAL, *(m._meta.label_lower for m in tracked)]
    candidates_recent = candidates + [
        stats.field(d.kind, d.name, stats.INV + s) for d in declared for s in sources
    ]
    stats.flush()
    counters: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    bumped: dict[str, float] = {}
    for alias in aliases:
        try:
            store = get_store(alias)
            counters.update(store.read_stats(candidates))
            recent.update(store.read_recent(stats.window(), candidates_recent))
            for tag, when in store.bump_times(tags).items():
                bumped[tag] = max(when, bumped.get(tag, 0.0))
        except Exception as exc:
            errors.append(f"Cache {alias!r} could not be read: {type(exc).__name__}: {exc}")

    entries = {(d.kind, d.name): EntryRow(d.kind, d.name, d.alias or default) for d in declared}
    seen: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    captured: dict[tuple[str, str], set[str]] = defaultdict(set)
    local_rows: dict[str, LocalRow] = {}
    for text, amount in counters.items():
        parsed = stats.parse(text)
        if parsed is None:
            continue
        kind, name, event = parsed
        if kind == stats.LOCAL:
            row = local_rows.setdefault(name, LocalRow(name))
            attribute = {"HIT": "hits", "EVICT": "evictions", "BYTES": "bytes"}.get(event)
            if attribute:
                setattr(row, attribute, getattr(row, attribute) + amount)
            continue
        for prefix, how in ((stats.DEP, RUN_TIME), (stats.CAP, CAPTURED)):
            if event.startswith(prefix):
                seen[event[len(prefix) :]][(kind, name)].add(how)
                if how == CAPTURED:
                    captured[(kind, name)].add(event[len(prefix) :])
                break
        else:
            if not event.startswith(stats.INV):
                row = entries.setdefault((kind, name), EntryRow(kind, name, ""))
                row.counts[event] = row.counts.get(event, 0) + amount
    for text, amount in recent.items():
        parsed = stats.parse(text)
        if parsed is not None and (parsed[0], parsed[1]) in entries:
            row = entries[(parsed[0], parsed[1])]
            row.recent[parsed[2]] = row.recent.get(parsed[2], 0) + amount

    by_label: dict[str, set[tuple[str, str]]] = defaultdict(set)
    declared_labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d in declared:
        for label in d.model_labels():
            by_label[label].add((d.kind, d.name))
            declared_labels[(d.kind, d.name)].add(label)
    for key, row in entries.items():
        row.churn = churn_of(row.kind, row.recent, captured[key], declared_labels[key])
    models = []
    for model in sorted(tracked, key=lambda m: m._meta.label_lower):
        label = model._meta.label_lower
        found = seen[label]
        dependants = [
            Dependant(kind, name, _how((kind, name) in by_label[label], found.get((kind, name))))
            for kind, name in sorted(by_label[label] | set(found))
        ]
        name = str(model._meta.verbose_name_plural)
        when = _when(bumped.get(model_tag(model)))
        models.append(ModelRow(label, name[:1].upper() + name[1:], dependants, when))
    return Overview(
        models=models,
        entries=sorted(entries.values(), key=lambda e: (e.kind, e.name)),
        purged_all=_when(bumped.get(GLOBAL)),
        aliases=aliases,
        errors=errors,
        local=sorted(local_rows.values(), key=lambda row: row.process),
    )


def _how(declared: bool, found: set[str] | None) -> tuple[str, ...]:
    """How a dependant depends on a model, in a fixed order."""
    ways = {DECLARED} if declared else set()
    ways |= found or set()
    return tuple(way for way in (DECLARED, RUN_TIME, CAPTURED) if way in ways)
