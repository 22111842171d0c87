"""``{% smartcache %}``: a template fragment cached until its dependencies change.

Usage::

    {% load smartcache %}
    {% smartcache 600 product-card product.pk depends_on product "homepage" using="other" %}
        ...
    {% endsmartcache %}

The leading arguments are those of Django's ``{% cache %}`` (timeout, literal
fragment name, vary-on expressions, ``using=``). After the word ``depends_on``
come expressions resolving to model instances, model classes,
``"app_label.ModelName"`` strings or custom tags; a list, tuple, set or
queryset stands for each of its elements. A fragment rendered inside another
cached computation (an outer fragment, a ``cache_page`` view) adds its
dependencies to it, on a hit as on a miss.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import template
from django.conf import settings
from django.contrib.auth.context_processors import PermWrapper
from django.db import models
from django.db.models.query import QuerySet
from django.template.base import FilterExpression, NodeList, Parser, Token, Variable

from ..conf import get_settings
from ..core import privacy
from ..core.breaker import breaker
from ..core.context import record
from ..core.engine import served_as
from ..core.tags import GLOBAL, dependency_models, read_tags
from ..invalidation.bumps import use_alias
from ..invalidation.recovery import guarded_lookup
from ..invalidation.tracking import track
from . import csrf

register = template.Library()

DEPENDS_ON = "depends_on"
# A vary_on ending in one of these names the user it is read from (request.user.pk).
_USER_NAMES = frozenset({"pk", "id", "username", "get_username"})
USING = "using="
_EXPANDED = (list, tuple, set, frozenset, QuerySet)


class SmartcacheNode(template.Node):
    """One ``{% smartcache %}`` block."""

    def __init__(
        self,
        nodelist: NodeList,
        timeout: FilterExpression,
        name: str,
        vary_on: list[FilterExpression],
        depends_on: list[FilterExpression],
        using: FilterExpression | None,
    ) -> None:
        self.nodelist = nodelist
        self.timeout = timeout
        self.name = name
        self.vary_on = vary_on
        self.depends_on = depends_on
        self.using = using

    def render(self, context: template.Context) -> str:
        conf = get_settings()
        if not conf.ENABLED:
            return self.nodelist.render(context)
        timeout = self._timeout(context, conf.TIMEOUT)
        alias = self.using.resolve(context) if self.using else conf.CACHE_ALIAS
        if not isinstance(alias, str) or alias not in settings.CACHES:
            raise template.TemplateSyntaxError(
                f"{{% smartcache %}} got an unknown cache alias: {alias!r}."
            )
        deps, tags = self._dependencies(context)
        track(dependency_models(deps))
        use_alias(alias)
        if timeout == 0:
            return self._uncached(context, tags)
        request = _request_of(context)
        vary = [var.resolve(context) for var in self.vary_on]
        # A vary_on read from the visitor's own user object (request.user.pk) caches one
        # entry per viewer: the viewer, not the value, goes into the key, so a profile
        # page varying on its owner's pk never hands the owner's view to a visitor.
        per_user = request is not None and any(
            privacy.is_users(owner, request) for owner in self._owners(context, _USER_NAMES)
        )
        if per_user:
            vary.append(("<viewer>", privacy.viewer(request)))
        key = f"frag:{self.name}:{_digest(vary, tags)}"
        secret_before = csrf.secret_of(request)
        got = guarded_lookup(alias, key, tags)
        if got is None:
            return self._uncached(context, tags)
        found, fill = got
        if served_as(found, fill) is not None:
            return _for_visitor(found.value, request)
        if fill is None:  # a pass marker: not ours to fill
            return self._uncached(context, tags)
        try:
            rendered = fill.run(lambda: self._render(context, request), request)
        except BaseException:
            _safely(fill.release, alias)
            raise
        reads = set(fill.reads)
        if per_user:
            reads.discard(privacy.USER)  # one entry per viewer: the key names them
        secrets = {s for s in (secret_before, csrf.secret_of(request)) if s}
        stored, private = _shareable(rendered, reads, request, secrets)
        if not private and csrf.rotated(secret_before, request):
            private = "CSRF secret, rotated"
        if private:
            # Shown to this visitor only; a pass marker spares the next ones the lock.
            reason = f"read the visitor's {private}"
            _safely(lambda: fill.mark("x", reason, conf.PASS_TTL), alias)
        else:
            _safely(lambda: fill.save(key, stored, timeout), alias)
        return rendered

    def _owners(self, context: template.Context, names: frozenset[str]) -> list[Any]:
        """The objects whose ``names`` attribute a ``vary_on`` expression is (or the
        whole value): ``request.user.pk`` gives ``request.user``."""
        found = []
        for expr in self.vary_on:
            var = expr.var
            if not isinstance(var, Variable) or not var.lookups or expr.filters:
                continue
            *path, last = var.lookups
            try:
                found.append(var.resolve(context))
                if path and last in names:
                    found.append(Variable(".".join(path)).resolve(context))
            except template.VariableDoesNotExist:
                continue
        return found

    def _render(self, context: template.Context, request: Any) -> str:
        with _visitor_vars(context, request):
            return self.nodelist.render(context)

    def _timeout(self, context: template.Context, default: float | None) -> float | None:
        value = self.timeout.resolve(context)
        if value is None:
            return default
        try:
            value = int(value)
        except (ValueError, TypeError):
            raise template.TemplateSyntaxError(
                f"{{% smartcache %}} got a non-integer timeout value: {value!r}."
            ) from None
        if value < 0:
            raise template.TemplateSyntaxError(
                f"{{% smartcache %}} got a negative timeout value: {value!r}."
            )
        return value

    def _dependencies(self, context: template.Context) -> tuple[list[Any], list[str]]:
        deps: list[Any] = []
        tags = {GLOBAL}
        for expr in self.depends_on:
            value = _resolve_dependency(expr, context)
            items = list(value) if isinstance(value, _EXPANDED) else [value]
            try:
                tags.update(read_tags(items))
            except TypeError as exc:
                raise TypeError(f"{{% smartcache %}} depends_on {expr.token!r}: {exc}") from exc
            deps.extend(items)
        return deps, sorted(tags)

    def _uncached(self, context: template.Context, tags: list[str]) -> str:
        record(tags)  # an enclosing cached computation still depends on what we show
        return self.nodelist.render(context)


def _request_of(context: template.Context) -> Any:
    """The request being rendered for: a ``RequestContext``'s, or one in the context."""
    request = getattr(context, "request", None)
    if request is None:
        request = context.get("request") if hasattr(context, "get") else None
    return request if hasattr(request, "META") else privacy.current_request()


@contextmanager
def _visitor_vars(context: template.Context, request: Any) -> Iterator[None]:
    """Put the watched user where the template would find the request's user.

    The auth context processor bound ``user`` and ``perms`` when the template
    started, and a view may have handed the user on under another name
    (``{"me": request.user}``): those are the same object, read unwatched. For the
    fragment they are replaced by the recorder, so reading them counts.
    """
    if request is None:
        yield
        return
    extra = {}
    for name, value in context.flatten().items():
        found = privacy.stand_in(value)
        if found is not None:
            extra[name] = found
        elif isinstance(value, PermWrapper):
            found = privacy.stand_in(value.user)
            if found is not None:
                extra[name] = PermWrapper(found)
    if not extra:
        yield
        return
    with context.push(**extra):
        yield


def _shareable(rendered: str, reads: set[str], request: Any, secrets: set[str]) -> tuple[str, str]:
    """What to store of a rendered fragment, and what makes it private (``""``: nothing).

    A fragment key does not tell visitors apart, so any read of the visitor makes it
    private, unless the key names that visitor. A CSRF token is the exception:
    punched out here, filled in per visitor on each hit; whatever looks like a token
    and is not one of the visitor's (a rotated secret's, no request to tell) is not.
    """
    private = reads - {privacy.CSRF}
    if private:
        return rendered, ", ".join(sorted(private))
    if csrf.holds_placeholder(rendered):
        return rendered, "placeholder-like content"
    if request is not None:
        cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
        if cookie and len(cookie) == csrf.CSRF_SECRET_LENGTH:
            secrets = {*secrets, cookie}
    if not secrets:
        if csrf.looks_like_a_token(rendered):  # a token, perhaps, with no secret to check
            return rendered, "CSRF token, perhaps, with no request to tell"
        return rendered, ""
    stored, _ = csrf.punch(rendered, secrets)
    if csrf.exposes(stored, secrets) or (privacy.CSRF in reads and csrf.looks_like_a_token(stored)):
        return rendered, "CSRF token, where it cannot be replaced"
    return stored, ""


def _for_visitor(value: str, request: Any) -> str:
    """A stored fragment with this visitor's CSRF token filled in, if it had one."""
    if csrf.PLACEHOLDER in value:
        return csrf.fill_in(value, request)
    return value


def _resolve_dependency(expr: FilterExpression, context: template.Context) -> Any:
    """``expr.resolve()``, except that a model class is not called (templates call callables)."""
    var = expr.var
    if isinstance(var, Variable) and var.lookups and not expr.filters:
        *path, last = var.lookups
        try:
            owner = Variable(".".join(path)).resolve(context) if path else None
        except template.VariableDoesNotExist:
            return expr.resolve(context)
        found = context.get(last) if not path else _attribute(owner, last)
        if isinstance(found, type) and issubclass(found, models.Model):
            return found
    return expr.resolve(context)


def _attribute(owner: Any, name: str) -> Any:
    try:
        return owner[name]
    except (TypeError, AttributeError, KeyError, ValueError, IndexError):
        return getattr(owner, name, None)


def _key_part(value: Any) -> str:
    """A vary_on value as part of a key, typed: the user named "AnonymousUser" is not the
    anonymous user, nor the string "1" the number 1; a row is its label and pk."""
    value = privacy.real(value)
    if isinstance(value, models.Model):
        return f"<{value._meta.label_lower}:{value.pk}>"
    if getattr(value, "is_anonymous", False) is True:
        return "<anonymous>"
    return f"{type(value).__name__}:{value}"


def _digest(vary: list[Any], tags: list[str]) -> str:
    """One digest of the vary-on values and the tags, each part length-prefixed so that
    ``["a:b"]`` and ``["a", "b"]`` never share an entry (Django's own key can)."""
    hasher = hashlib.md5(usedforsecurity=False)
    for part in (*(_key_part(v) for v in vary), None, *tags):
        data = b"|" if part is None else part.encode()
        hasher.update(b"%d:" % len(data) if part is not None else b"")
        hasher.update(data)
    return hasher.hexdigest()


def _safely(action: Any, alias: str) -> None:
    try:
        action()
    except Exception as exc:
        breaker(alias).failed(exc, "storing")


@register.tag("smartcache")
def do_smartcache(parser: Parser, token: Token) -> SmartcacheNode:
    """Compile a ``{% smartcache %}`` block (see the module docstring)."""
    nodelist = parser.parse(("endsmartcache",))
    parser.delete_first_token()
    tag, *args = token.split_contents()

    def fail(problem: str) -> template.TemplateSyntaxError:
        usage = f'{{% {tag} timeout name [vary_on ...] [depends_on dep ...] [using="alias"] %}}'
        return template.TemplateSyntaxError(f"'{tag}' tag {problem}. Usage: {usage}")

    using = None
    if args and args[-1].startswith(USING):
        value = args.pop()[len(USING) :]
        if not value:
            raise fail("has 'using=' without a cache alias after it")
        using = parser.compile_filter(value)
    if any(arg.startswith(USING) for arg in args):
        raise fail("accepts 'using=' only as its last argument")
    if any(arg.startswith(DEPENDS_ON + "=") for arg in args):
        raise fail(f"takes '{DEPENDS_ON}' as a separate word followed by the dependencies")
    if len(args) < 2:
        raise fail(f"requires at least 2 arguments, a timeout and a fragment name; got {len(args)}")
    if DEPENDS_ON in args[:2]:
        raise fail(f"needs a timeout and a fragment name before '{DEPENDS_ON}'")
    timeout, name, *rest = args
    depends_on: list[str] = []
    if DEPENDS_ON in rest:
        at = rest.index(DEPENDS_ON)
        rest, depends_on = rest[:at], rest[at + 1 :]
        if not depends_on:
            raise fail(f"has '{DEPENDS_ON}' with no dependency after it")
        if DEPENDS_ON in depends_on:
            raise fail(f"has '{DEPENDS_ON}' more than once")
    if using is not None and isinstance(using.var, str) and not using.filters:
        use_alias(using.var)  # a literal alias: invalidations reach it from now on
    return SmartcacheNode(
        nodelist,
        parser.compile_filter(timeout),
        name,
        [parser.compile_filter(arg) for arg in rest],
        [parser.compile_filter(arg) for arg in depends_on],
        using,
    )
