"""Stand-ins for the parts of a request that belong to the visitor; each use is recorded.

``privacy`` puts these in place of a request's ``user``, ``session``, message storage,
``COOKIES``, ``META`` and ``headers`` while an entry is computed (and, with
``SmartcacheMiddleware``, for the rest of the request). Every use records a read:

- on every computation under way in this context, and on those that were under way
  where the stand-in was made (a thread started by the view has no context of its own);
- with no computation under way, on the request's *before the view* record, unless
  the caller is Django or this app (a session middleware loading the session is not
  the view's business; a middleware that copies the cart onto the request is).

A stand-in hands every operation on to the real object, so code using it does not see
a difference (``isinstance`` included: the read is recorded, then answered).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http.request import HttpHeaders
from django.utils.functional import LazyObject, empty

from .context import Frame, active_frames

_quiet: ContextVar[bool] = ContextVar("smartcache_quiet", default=False)
_FRAMEWORK = ("django.", "django_smartcache.", "asgiref.")
_HERE = (__name__, "django.utils.functional")


@contextmanager
def quiet() -> Iterator[None]:
    """Uses made inside are not recorded (the caller decides what they mean)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


class Target:
    """Where a stand-in records: computations captured when it was made, and the
    request's before-the-view record (``None``: not watched before the view)."""

    __slots__ = ("frames", "before", "closed")

    def __init__(self, frames: tuple[Frame, ...], before: set[str] | None) -> None:
        self.frames = frames
        self.before = before
        self.closed = False  # no more before-the-view reads to record (the view started)

    def idle(self) -> bool:
        """Nothing to record: no computation under way, and before the view is over."""
        return not self.frames and not active_frames() and (self.before is None or self.closed)

    def record(self, what: str) -> None:
        if _quiet.get():
            return
        frames = active_frames()
        if frames or self.frames:
            for frame in (*self.frames, *frames):
                frame.reads.add(what)
        elif self.before is not None and not self.closed and not _by_the_framework():
            self.before.add(what)


def _by_the_framework() -> bool:
    """Whether the code using the stand-in is Django's or this app's own."""
    return _user_of(sys._getframe(1)).startswith(_FRAMEWORK)


def user_module(also_here: tuple[str, ...] = ()) -> str:
    """The module of the code using the stand-in (frames of the stand-ins' own modules,
    and of ``also_here``, looked through)."""
    return _user_of(sys._getframe(1), also_here)


def _user_of(frame: Any, also_here: tuple[str, ...] = ()) -> str:
    here = (*_HERE, *also_here)
    while frame is not None and frame.f_globals.get("__name__", "") in here:
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


def real(value: Any) -> Any:
    """The object behind lazy objects and stand-ins (set up if need be), recording nothing."""
    while isinstance(value, LazyObject):
        if value._wrapped is empty:
            with quiet():
                value._setup()
        value = value._wrapped
    return value


class Recorder(LazyObject):
    """Stands in for one object; records ``what`` each time it is used.

    ``check`` replaces the plain record: it is called after the use, quietly made,
    and records if it finds the use meant something (messages: only when there are).
    """

    # LazyObject's own __getattribute__ is Python code run for every attribute, ours
    # included (a dozen per use); the plain one is C. (It only hides proxy methods the
    # real object lacks from hasattr(); every method here is a recording one.)
    __getattribute__ = object.__getattribute__

    def __init__(
        self, target: Any, what: str, where: Target, check: Callable[[Any], bool] | None = None
    ) -> None:
        # Straight into __dict__: LazyObject's own __init__ and _setup go through
        # __setattr__, which records here.
        self.__dict__.update(_target=target, _what=what, _where=where, _check=check)
        self.__dict__["_wrapped"] = empty

    def _setup(self) -> None:
        self.__dict__["_wrapped"] = real(self.__dict__["_target"])

    def _note(self) -> None:
        if self.__dict__["_where"].idle():
            return
        check = self.__dict__["_check"]
        if check is not None:
            with quiet():  # asking a storage whether it holds anything is no read
                if not check(real(self)):
                    return
        self.__dict__["_where"].record(self.__dict__["_what"])

    @property
    def __class__(self) -> type:  # type: ignore[override]
        self._note()  # isinstance(request.user, AnonymousUser) tells visitors apart
        return type(real(self))

    def __copy__(self) -> Any:
        self._note()
        return copy.copy(real(self))

    def __deepcopy__(self, memo: dict) -> Any:
        self._note()
        return copy.deepcopy(real(self), memo)


def _recording(name: str) -> Callable[..., Any]:
    proxied = getattr(LazyObject, name)

    def method(self: Recorder, *args: Any) -> Any:
        if args and args[0] == "_wrapped" and name in ("__setattr__", "__delattr__"):
            return proxied(self, *args)
        if self.__dict__["_check"] is None:
            self._note()
            return proxied(self, *args)
        with quiet():  # a storage may read the session or cookies to answer
            result = proxied(self, *args)
        self._note()
        return result

    method.__name__ = name
    return method


for _name in (
    "__getattr__",
    "__setattr__",
    "__delattr__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__iter__",
    "__len__",
    "__contains__",
    "__bool__",
    "__str__",
    "__bytes__",
    "__eq__",
    "__ne__",
    "__hash__",
    "__lt__",
    "__gt__",
    "__reduce__",
):
    setattr(Recorder, _name, _recording(_name))


def _watched_dict(name: str, watched: Callable[[Any], bool]) -> type[dict]:
    """A dict copy that records ``name`` on the use of a watched key, or of all of them."""

    def use(self: Any, key: Any = None, whole: bool = False) -> None:
        if whole or watched(key):
            self._where.record(name)

    def by_key(method_name: str) -> Callable[..., Any]:
        method = getattr(dict, method_name)

        def keyed(self: Any, key: Any, *args: Any) -> Any:
            use(self, key)
            return method(self, key, *args)

        return keyed

    def whole(method_name: str) -> Callable[..., Any]:
        method = getattr(dict, method_name)

        def all_keys(self: Any, *args: Any, **kwargs: Any) -> Any:
            use(self, whole=True)
            return method(self, *args, **kwargs)

        return all_keys

    namespace: dict[str, Any] = {"__slots__": ("_where",), "__hash__": None}
    for method_name in ("__getitem__", "get", "__contains__", "pop", "setdefault"):
        namespace[method_name] = by_key(method_name)
    # Every use of the whole dict (``len()``, truth, ``repr()``, a template printing it) reads
    # every key: only the methods that look at no key at all are left unrecorded.
    for method_name in (
        *("__iter__", "keys", "values", "items", "copy", "popitem", "__eq__", "__ne__"),
        *("__len__", "__repr__", "__reversed__", "__or__", "__ror__"),
    ):
        namespace[method_name] = whole(method_name)
    return type(f"Watched{name.title()}", (dict,), namespace)


def watched_copy(cls: type[dict], original: dict, where: Target) -> dict:
    """A recording copy of ``original`` (quietly made)."""
    found = cls()
    dict.update(found, original)
    found._where = where
    return found


def write_back(watched: dict, original: dict) -> None:
    """Carry what the computation changed in a watched copy back to the original."""
    if dict.__eq__(watched, original) is not True:
        original.clear()
        dict.update(original, dict.items(watched))


class WatchedHeaders(HttpHeaders):
    """``request.headers`` for the computation: reading ``Cookie`` records."""

    def __init__(self, meta: dict, where: Target, watched: Callable[[str], bool]) -> None:
        super().__init__(meta)
        self._where = where
        self._watched = watched

    def __getitem__(self, key: str) -> str:
        if self._watched(key.lower()):
            self._where.record("cookies")
        return super().__getitem__(key)

    def __iter__(self) -> Iterator[str]:
        self._where.record("cookies")
        return super().__iter__()
