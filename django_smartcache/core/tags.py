"""Turn dependencies (models, rows, tag strings) into version tag names.

Tag names are short strings without whitespace:

* ``m:<app_label.model>``: any change to the model (entries that depend on the model);
* ``p:<app_label.model>``: a model-wide purge; every row-level entry also carries it;
* ``r:<app_label.model>:<pk>``: one row;
* ``i:<app_label.model>``: rows inserted by a statement that names no row (a captured
  read by pk carries it: the row it did not find may be created that way);
* ``t:<custom>``: a custom tag (hashed when it holds characters unsafe in a key);
* ``u:<md5 of a path>``: every cached page of one URL path (``invalidate_url``);
* ``g``: the global tag that ``invalidate_all()`` bumps; every entry carries it.

Reading and invalidating map the same dependency to different tags, so that a
row change invalidates that row's entries and model-level entries but not the
entries of other rows, while ``invalidate(Model)`` reaches them all.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import models

# Re-exported: the tag ``invalidate_all()`` bumps; the stores know it by name too.
from ..stores.base import GLOBAL as GLOBAL

_SAFE = re.compile(r"^[\w.:/@+=-]{1,120}$")

Dependency = Any  # a model class, a model instance, or a string


def _label(model: type[models.Model]) -> str:
    return model._meta.concrete_model._meta.label_lower


def model_tag(model: type[models.Model]) -> str:
    return f"m:{_label(model)}"


def purge_tag(model: type[models.Model]) -> str:
    return f"p:{_label(model)}"


def insert_tag(model: type[models.Model]) -> str:
    return f"i:{_label(model)}"


def row_tag(model: type[models.Model], pk: Any) -> str:
    return f"r:{_label(model)}:{pk}"


def label_of(tag: str) -> str | None:
    """The ``app_label.model`` a model, row, purge or insert tag names; else ``None``."""
    if tag[:2] in ("m:", "r:", "p:", "i:"):
        return tag[2:].split(":", 1)[0]
    return None


def custom_tag(name: str) -> str:
    if _SAFE.match(name):
        return f"t:{name}"
    return "t:#" + hashlib.sha1(name.encode()).hexdigest()


@functools.lru_cache(maxsize=10_000)
def url_tag(path: str) -> str:
    """The tag every cached page of ``path`` carries (any host, query string or variant)."""
    return "u:" + hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()


# "app_label.ModelName": an identifier, a dot, a capitalised identifier.
_LOOKS_LIKE_A_MODEL = re.compile(r"^[A-Za-z_]\w*\.[A-Z]\w*$")


def _model_from_string(value: str) -> type[models.Model] | None:
    """``"app_label.ModelName"`` names a model when the app is installed.

    A string shaped like one whose app is not installed is a typo, not a custom tag
    (``"shops.Product"``): it raises. A custom tag with a dot on purpose does not
    look like a model label (``"homepage.v2"``, ``"tag:Promo.Summer"``).
    """
    app_label, dot, model_name = value.partition(".")
    if not dot or not model_name or "." in model_name:
        return None
    try:
        config = apps.get_app_config(app_label)
    except LookupError:
        if _LOOKS_LIKE_A_MODEL.match(value):
            raise ValueError(
                f"Dependency {value!r} looks like 'app_label.ModelName', but no installed "
                f"app is labelled {app_label!r}. For a custom tag that contains a dot on "
                f"purpose, write it so it does not look like a model label, e.g. "
                f"'tag:{value}'."
            ) from None
        return None
    try:
        return config.get_model(model_name)
    except LookupError:
        raise ValueError(
            f"Dependency {value!r} names app {app_label!r}, which has no model {model_name!r}."
        ) from None


def _classify(dep: Dependency) -> tuple[str, Any]:
    """Return ``("model", cls)``, ``("row", instance)`` or ``("tag", name)``."""
    if isinstance(dep, type) and issubclass(dep, models.Model):
        return "model", dep
    if isinstance(dep, models.Model):
        if dep.pk is None:
            raise TypeError(f"Dependency {dep!r} is an unsaved {type(dep).__name__}: it has no pk.")
        return "row", dep
    if isinstance(dep, str) and dep:
        model = _model_from_string(dep)
        return ("model", model) if model is not None else ("tag", dep)
    raise TypeError(
        f"Dependency {dep!r} is not a model class, a model instance, an "
        f'"app_label.ModelName" string or a non-empty tag string.'
    )


def model_from_label(label: str) -> type[models.Model]:
    """The model named ``"app_label.ModelName"`` (case-insensitive); ``LookupError`` if none."""
    if not isinstance(label, str) or label.count(".") != 1:
        raise LookupError(f"{label!r} is not of the form 'app_label.ModelName'.")
    try:
        return apps.get_model(label)
    except (LookupError, ValueError) as exc:
        raise LookupError(f"No installed model is called {label!r}.") from exc


def check_dependency_list(depends_on: Any, who: str) -> None:
    """``depends_on`` must be a list or tuple (a bare string would be read letter by letter)."""
    if isinstance(depends_on, (list, tuple)):
        return
    if isinstance(depends_on, (str, models.Model)) or (
        isinstance(depends_on, type) and issubclass(depends_on, models.Model)
    ):
        raise TypeError(
            f"{who} takes depends_on as a list or tuple; wrap it: depends_on=[{depends_on!r}]."
        )
    raise TypeError(f"{who} takes depends_on as a list or tuple, not {depends_on!r}.")


def check_timeout(timeout: Any, who: str) -> None:
    """A timeout is ``None`` (the default) or seconds >= 0 (``0``: never store)."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"{who} takes the timeout in seconds (an int or a float; None for "
            f"SMARTCACHE['TIMEOUT']), not {timeout!r}."
        )
    if not timeout >= 0:  # negative, or NaN
        raise ValueError(
            f"{who} got the timeout {timeout!r}; use seconds >= 0 (0 never stores, None "
            "is SMARTCACHE['TIMEOUT'])."
        )


def read_tags(deps: Iterable[Dependency]) -> list[str]:
    """Tags an entry built from ``deps`` is stamped with (without the global tag)."""
    out: list[str] = []
    for dep in deps:
        kind, value = _classify(dep)
        if kind == "model":
            out.append(model_tag(value))
        elif kind == "row":
            out.append(row_tag(type(value), value.pk))
            out.append(purge_tag(type(value)))
        else:
            out.append(custom_tag(value))
    return out


def bump_tags(deps: Iterable[Dependency]) -> list[str]:
    """Tags to replace so that every entry depending on ``deps`` becomes stale."""
    out: list[str] = []
    for dep in deps:
        kind, value = _classify(dep)
        if kind == "model":
            out.extend(model_bump_tags(value))
        elif kind == "row":
            out.extend(row_bump_tags(type(value), [value.pk]))
        else:
            out.append(custom_tag(value))
    return out


def model_bump_tags(model: type[models.Model]) -> list[str]:
    """A model-wide change: model-level and row-level entries of it and its parents."""
    chain = [model, *model._meta.get_parent_list()]
    return [tag for m in chain for tag in (model_tag(m), purge_tag(m))]


def row_bump_tags(model: type[models.Model], pks: Iterable[Any]) -> list[str]:
    """Rows changed: their own entries and the model-level entries (parents too)."""
    chain = [model, *model._meta.get_parent_list()]
    pks = list(pks)
    return [model_tag(m) for m in chain] + [row_tag(m, pk) for m in chain for pk in pks]


def dependency_models(deps: Iterable[Dependency]) -> list[type[models.Model]]:
    """The model classes that ``deps`` name (for tracking)."""
    found = []
    for dep in deps:
        kind, value = _classify(dep)
        if kind == "model":
            found.append(value)
        elif kind == "row":
            found.append(type(value))
    return found


def exact_pk(model: type[models.Model]) -> bool:
    """Whether the database compares this model's pks exactly as Python does.

    Integers and UUIDs do, once in their Python form (``"07"`` is row 7). Strings may
    not: MySQL's default collations ignore case and trailing spaces (``"LAPTOP "``
    finds row ``"laptop"``), so a row-level tag by a string pk as written could miss
    the row the database touched; such writes purge the model instead.
    """
    field = model._meta.pk
    while field.is_relation:  # a multi-table child's parent link
        field = field.target_field
    return isinstance(field, (models.IntegerField, models.UUIDField))


_DIGITS = re.compile(r"-?[0-9]{1,20}")


def python_pks(field: models.Field, values: Iterable[Any]) -> list[Any] | None:
    """``values`` sent for pk ``field`` as the Python pks the database reads them as;
    ``None`` when that is not certain (then the statement is model-wide).

    An integer pk takes integers and plain digit strings only: ``int()`` reads ``"7_0"``
    or ``" 7"`` as well, but MySQL reads ``"7_0"`` as 7 (a warning), and a row tag of 70
    would miss the row it touched.
    """
    target = field
    while target.is_relation:  # a multi-table child's parent link
        target = target.target_field
    out = []
    for value in values:
        if isinstance(target, models.IntegerField):
            if isinstance(value, str) and _DIGITS.fullmatch(value):
                value = int(value)
            if type(value) is not int:
                return None
            out.append(value)
        else:
            try:
                out.append(field.to_python(value))
            except Exception:  # not a plain pk value after all
                return None
    return out


ROW_TAGS_MAX = 100  # row tags of one model an entry keeps; more: the model instead


def compact_rows(tags: list[str], limit: int = ROW_TAGS_MAX) -> list[str]:
    """``tags`` with the row tags of any model that has more than ``limit`` of them
    replaced by that model's tag: every row write bumps it too, so the entry goes stale
    at least as often, and its hit validates a bounded number of tokens."""
    counts: dict[str, int] = {}
    for tag in tags:
        if tag[:2] == "r:":
            label = tag[2:].split(":", 1)[0]
            counts[label] = counts.get(label, 0) + 1
    crowded = {label for label, n in counts.items() if n > limit}
    if not crowded:
        return tags
    out: dict[str, None] = {}
    for tag in tags:
        if tag[:2] == "r:" and tag[2:].split(":", 1)[0] in crowded:
            out[f"m:{tag[2:].split(':', 1)[0]}"] = None
        else:
            out[tag] = None
    return list(out)
