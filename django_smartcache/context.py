"""Dependencies discovered while an entry is being computed.

Each computation pushes a :class:`Frame`; ``depend_on()`` and every inner cached
computation (hit or miss) record their tags on *all* enclosing frames, so an
outer entry goes stale whenever anything it was built from does ("bubbling").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .tags import Dependency, dependency_models, read_tags

_frames: ContextVar[tuple[Frame, ...]] = ContextVar("smartcache_frames", default=())


class Frame:
    """The tags one computation has discovered, in first-seen order."""

    __slots__ = ("tags",)

    def __init__(self) -> None:
        self.tags: dict[str, None] = {}


@contextmanager
def computing() -> Iterator[Frame]:
    """Collect dependencies recorded while the block runs (frames nest)."""
    frame = Frame()
    token = _frames.set((*_frames.get(), frame))
    try:
        yield frame
    finally:
        _frames.reset(token)


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


def depend_on(*deps: Dependency) -> None:
    """Declare that whatever is being cached right now depends on ``deps``.

    Accepts model instances (row-level), model classes, ``"app_label.ModelName"``
    strings and custom tag strings. Outside a cached computation it only checks
    its arguments. Raises ``TypeError`` for anything else.
    """
    tags = read_tags(deps)
    from .tracking import track

    track(dependency_models(deps))
    record(tags)
