"""Entries invalidated so often that they are rarely served, and what to do about it.

A cached view or function is flagged when, in the last hour (the statistics' time
buckets), it was invalidated at least ``CHURN_MIN`` times and more often than it was
served (hits and stale copies): caching it costs a Redis write per computation and
saves little. The flag names what invalidated it most (the model whose writes, or
the tag, the purge...) and suggests a remedy that fits how it depends on that model.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.apps import apps

from ..core import stats

CHURN_MIN = 3  # fewer invalidations in the hour are not worth a warning


@dataclass(frozen=True)
class Churn:
    """A cached view or function invalidated more often than served in the last hour."""

    invalidated: int
    served: int
    source: str  # what invalidated it most (``stats.source_of``)
    cause: str  # "writes to products (testapp.product)"
    hint: str

    @property
    def message(self) -> str:
        return (
            f"invalidated {_times(self.invalidated)}, served {_times(self.served)} "
            f"in the last hour, mostly by {self.cause}"
        )


def churn_of(
    kind: str, recent: dict[str, int], captured: Collection[str], declared: Collection[str]
) -> Churn | None:
    """The flag for one view or function, from its events of the last hour (``recent``:
    ``event -> count``) and the models it captured or declared; ``None`` if it is served
    well enough."""
    invalidated = recent.get(stats.INVALIDATED, 0)
    served = recent.get("HIT", 0) + recent.get("STALE", 0)
    if invalidated < CHURN_MIN or invalidated <= served:
        return None
    causes = {e[len(stats.INV) :]: n for e, n in recent.items() if e.startswith(stats.INV)}
    source = max(sorted(causes), key=causes.__getitem__) if causes else ""
    return Churn(
        invalidated, served, source, _cause(source), _hint(kind, source, captured, declared)
    )


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _model_name(label: str) -> str:
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return label
    return f"{model._meta.verbose_name_plural} ({label})"


def _cause(source: str) -> str:
    if not source:
        return "writes not recorded"
    if source == stats.GLOBAL:
        return "purges of everything (invalidate_all)"
    if source == "u":
        return "purges of its URL"
    if source.startswith("t:"):
        return f"invalidations of the tag {source[2:]!r}"
    if "." in source:
        return f"writes to {_model_name(source)}"
    return source


def _hint(kind: str, source: str, captured: Collection[str], declared: Collection[str]) -> str:
    smaller = "a fragment of the page" if kind == "view" else "a smaller function"
    if "." in source and source in captured and source not in declared:
        return (
            f"It reads {source} in its queries: leave the model out of capture "
            f'(SMARTCACHE["AUTO_DEPENDENCIES_EXCLUDE"]) if it may show it out of date, '
            "or read it inside uncaptured() and declare a narrower dependency with "
            f"depend_on() (the rows it shows), or cache {smaller} instead."
        )
    if "." in source:
        return (
            f"Declare a narrower dependency than the whole of {source} (the rows it shows, "
            f"with depend_on()), or cache {smaller} instead."
        )
    if source.startswith("t:"):
        return "Invalidate that tag less often, or split it into narrower tags."
    if source in (stats.GLOBAL, "u"):
        return "Purge what changed (a model, its rows) rather than everything or whole URLs."
    return f"Cache {smaller} instead."
