"""Dependencies discovered while an entry is being computed.

Each computation pushes a :class:`Frame`; ``depend_on()`` (``invalidation.tracking``),
the queries it runs (``invalidation.capture``) and every inner cached computation (hit or
miss) record their tags on *all* enclosing frames, so an outer entry goes stale whenever
anything it was built from does ("bubbling").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_frames: ContextVar[tuple[Frame, ...]] = ContextVar("smartcache_frames", default=())
_uncaptured: ContextVar[bool] = ContextVar("smartcache_uncaptured", default=False)


class Frame:
    """The tags one computation has discovered, in first-seen order, those captured from
    its queries and their models, and what it read of the visitor (``privacy.USER``,
    ``SESSION``, ``MESSAGES``, ``CSRF``)."""

    __slots__ = ("tags", "captured", "captured_tags", "reads")

    def __init__(self) -> None:
        self.tags: dict[str, None] = {}
        self.captured: set[str] = set()  # "app_label.model" labels
        self.captured_tags: set[str] = set()  # the stats tell them from depend_on()'s
        self.reads: set[str] = set()


@contextmanager
def computing() -> Iterator[Frame]:
    """Collect dependencies recorded while the block runs (frames nest).

    An enclosing ``uncaptured()`` does not reach into the block: it is another entry,
    whose own queries are its dependencies (and bubble up like a hit's tags)."""
    frame = Frame()
    token = _frames.set((*_frames.get(), frame))
    opted_out = _uncaptured.set(False)
    try:
        yield frame
    finally:
        _uncaptured.reset(opted_out)
        _frames.reset(token)


def active_frames() -> tuple[Frame, ...]:
    """The computations under way in this context, outermost first."""
    return _frames.get()


def active() -> bool:
    """Whether some entry is being computed in this context."""
    return bool(_frames.get())


def record(tags: Iterable[str]) -> None:
    """Add tags to every enclosing computation."""
    frames = _frames.get()
    if frames:
        tags = tuple(tags)
        for frame in frames:
            frame.tags.update(dict.fromkeys(tags))


@contextmanager
def uncaptured() -> Iterator[None]:
    """Run the block without capturing its queries as dependencies (declare them instead,
    with ``depend_on()``): for a lookup whose precision you know better than the SQL
    says, such as a unique slug whose row you then ``depend_on()``. Nests; affects
    nothing outside a cached computation, nor a cached computation started inside it
    (a ``cached`` function that misses captures its own queries)."""
    token = _uncaptured.set(True)
    try:
        yield
    finally:
        _uncaptured.reset(token)


def capturing() -> bool:
    """Whether a query run now is captured: an entry is being computed, outside
    ``uncaptured()``."""
    return bool(_frames.get()) and not _uncaptured.get()


def record_captured(tags: list[str]) -> None:
    """Add tags captured from a query to every enclosing computation (``record``), and
    note their models as captured (the admin page tells them from declared ones)."""
    frames = _frames.get()
    if frames:
        labels = {tag[2:].split(":", 1)[0] for tag in tags if tag[:2] in ("m:", "r:")}
        for frame in frames:
            frame.tags.update(dict.fromkeys(tags))
            frame.captured |= labels
            frame.captured_tags.update(tags)


def record_reads(reads: Iterable[str]) -> None:
    """Mark every enclosing computation as having read these parts of the visitor.

    Like a dependency, the mark bubbles up: a page whose fragment read the
    session read the session too.
    """
    frames = _frames.get()
    if frames:
        reads = set(reads)
        for frame in frames:
            frame.reads |= reads
