"""The figures of the admin's "Smart cache" page and of ``manage.py smartcache stats``.

Tracked models, with the cached views and functions that depend on them and
when each was last invalidated; cached views and functions with their hit /
miss / stale / bypass counts summed over every cache alias in use.
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


@dataclass(frozen=True)
class Dependant:
    """A cached view or function that depends on a model."""

    kind: str
    name: str
    declared: bool  # False: only seen at run time (depend_on)


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
class Overview:
    models: list[ModelRow]
    entries: list[EntryRow]
    purged_all: datetime | None
    aliases: list[str]
    errors: list[str]


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
    candidates = [stats.field(d.kind, d.name, e) for d in declared for e in stats.EVENTS]
    stats.flush()
    counters: Counter[str] = Counter()
    bumped: dict[str, float] = {}
    for alias in aliases:
        try:
            store = get_store(alias)
            counters.update(store.read_stats(candidates))
            for tag, when in store.bump_times(tags).items():
                bumped[tag] = max(when, bumped.get(tag, 0.0))
        except Exception as exc:
            errors.append(f"Cache {alias!r} could not be read: {type(exc).__name__}: {exc}")

    entries = {(d.kind, d.name): EntryRow(d.kind, d.name, d.alias or default) for d in declared}
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for text, amount in counters.items():
        parsed = stats.parse(text)
        if parsed is None:
            continue
        kind, name, event = parsed
        if event.startswith(stats.DEP):
            seen[event[len(stats.DEP) :]].add((kind, name))
            continue
        row = entries.setdefault((kind, name), EntryRow(kind, name, ""))
        row.counts[event] = row.counts.get(event, 0) + amount

    by_label: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for d in declared:
        for label in d.model_labels():
            by_label[label].add((d.kind, d.name))
    models = []
    for model in sorted(tracked, key=lambda m: m._meta.label_lower):
        label = model._meta.label_lower
        dependants = [Dependant(k, n, True) for k, n in sorted(by_label[label])]
        dependants += [Dependant(k, n, False) for k, n in sorted(seen[label] - by_label[label])]
        name = str(model._meta.verbose_name_plural)
        when = _when(bumped.get(model_tag(model)))
        models.append(ModelRow(label, name[:1].upper() + name[1:], dependants, when))
    return Overview(
        models=models,
        entries=sorted(entries.values(), key=lambda e: (e.kind, e.name)),
        purged_all=_when(bumped.get(GLOBAL)),
        aliases=aliases,
        errors=errors,
    )
