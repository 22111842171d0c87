"""Dependencies discovered while an entry is being computed.

Each computation pushes a :class:`Frame`; ``depend_on()`` (``invalidation.tracking``) and
every inner cached computation (hit or miss) record their tags on *all* enclosing frames,
so an outer entry goes stale whenever anything it was built from does ("bubbling").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_frames: ContextVar[tuple[Frame, ...]] = ContextVar("smartcache_frames", default=())


class Frame:
    """The tags one computation has discovered, in first-seen order, and what it
    read of the visitor (``privacy.USER``, ``SESSION``, ``MESSAGES``, ``CSRF``)."""

    __slots__ = ("tags", "reads")

    def __init__(self) -> None:
        self.tags: dict[str, None] = {}
        self.reads: set[str] = set()


@contextmanager
def computing() -> Iterator[Frame]:
    """Collect dependencies recorded while the block runs (frames nest)."""
    frame = Frame()
    token = _frames.set((*_frames.get(), frame))
    try:
        yield frame
    finally:
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
