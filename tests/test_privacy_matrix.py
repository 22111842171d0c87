"""Nothing private is ever shared (guarantee 5): every private channel x every kind of entry.

Each case tells the same story with two visitors, each with a ``django.test.Client`` of their own:
alice requests the URL (the first request, which fills the cache), then bob (his first request,
which may be served from what alice's filled), then alice and bob again (later hits). Then:

- no visitor ever received the other's private data, in the body or in a header: the values put
  in place before the story (session values, messages, user names, cookies, API tokens) and every
  cookie or CSRF form token a response handed out (owned by the visitor who got it first);
- each visitor saw their own private data, so the channel really was exercised;
- for CSRF channels, every form token a visitor got is accepted when that visitor posts it back
  (a ``Client(enforce_csrf_checks=True)``): 200, not 403;
- where the product promises it, the public part is cached: ``X-Smartcache`` per request, or how
  often a fragment's body ran.

Channels: a cookie set by the view (``set_cookie`` or a raw ``Set-Cookie`` header), ``Vary:
Cookie``, ``Cache-Control: private`` / ``no-store``, the ``Authorization`` header, the session,
``request.user`` (in the view, or only in the template), messages, and the CSRF token
(``get_token()`` in the view, ``{% csrf_token %}`` in the page, or in a fragment). Kinds: a page
(``cache_page``), a ``{% smartcache %}`` fragment in an uncached page and in a cached page, and a
``cached`` function given the request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.helpers import status
from tests.privacy.views import api_token
from tests.views import CALLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.privacy.urls")]

ALL, FIRST = "all", "first"  # on which of their requests a visitor must see a private value
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --------------------------------------------------------------------------- visitors


@dataclass
class Visitor:
    name: str
    client: Client
    headers: dict[str, str] = field(default_factory=dict)
    # value -> (what it is, on which requests its owner must see it: ALL, FIRST or None)
    secrets: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def marker(self, what: str) -> str:
        """A value unique to this visitor (and not a substring of their other values)."""
        return f"{what}-of-{self.name}-{uuid.uuid4().hex[:8]}"


def _anonymous(visitor: Visitor) -> None:
    """An anonymous visitor with a cookie of their own (no session)."""
    cookie = visitor.marker("cookie")
    visitor.client.cookies["visitor"] = cookie
    visitor.secrets[cookie] = ("visitor cookie", None)


def _cookie_shown(visitor: Visitor) -> None:
    """An anonymous visitor whose cookie the page shows."""
    _anonymous(visitor)
    cookie = visitor.client.cookies["visitor"].value
    visitor.secrets[cookie] = ("visitor cookie", ALL)


def _session(visitor: Visitor) -> None:
    """An anonymous visitor who put a value of their own into their session."""
    _anonymous(visitor)
    value = visitor.marker("secret")
    session = visitor.client.session
    session["secret"] = value
    session.save()
    visitor.secrets[value] = ("session value", ALL)


def _logged_in(visitor: Visitor) -> None:
    visitor.client.force_login(User.objects.create_user(visitor.name))
    visitor.secrets[f"[user:{visitor.name}]"] = ("user name", ALL)


def _message(visitor: Visitor) -> None:
    """An anonymous visitor with a message of their own queued (``messages.info``)."""
    _anonymous(visitor)
    text = visitor.marker("message")
    queued = visitor.client.get("/privacy/messages/queue/", {"text": text})
    assert queued.status_code == 200, f"queueing {visitor.name}'s message failed"
    visitor.secrets[text] = ("message", FIRST)  # shown once, then consumed


def _api_token(visitor: Visitor) -> None:
    """A user of the API: ``Authorization: Token <key>`` on every request, no session."""
    User.objects.create_user(visitor.name)
    token = api_token(visitor.name)
    visitor.headers["Authorization"] = f"Token {token}"
    visitor.secrets[token] = ("API token", None)
    visitor.secrets[f"[owner:{visitor.name}]"] = ("account name", ALL)


@dataclass(frozen=True)
class Channel:
    prepare: Callable[[Visitor], None]
    csrf: bool = False  # responses carry a CSRF form token, which the visitor posts back
    sets_cookie: bool = False  # the view sets a fresh ``visitor_id`` cookie on every response


CHANNELS = {
    "set_cookie": Channel(_anonymous, sets_cookie=True),
    "raw_set_cookie": Channel(_anonymous, sets_cookie=True),
    "vary_cookie": Channel(_cookie_shown),
    "cache_control_private": Channel(_cookie_shown),
    "cache_control_no_store": Channel(_cookie_shown),
    "authorization": Channel(_api_token),
    "session": Channel(_session),
    "user_in_view": Channel(_logged_in),
    "anonymous_user_in_view": Channel(_anonymous),
    "user_in_template": Channel(_logged_in),
    "request_user_in_template": Channel(_logged_in),
    "user_in_fragment_vary_on": Channel(_logged_in),
    "messages": Channel(_message),
    "csrf_get_token": Channel(_anonymous, csrf=True),
    "csrf_token_tag": Channel(_anonymous, csrf=True),
    "csrf_token_in_fragment": Channel(_anonymous, csrf=True),
}


# --------------------------------------------------------------------------- cases

NOT_HIT = "not HIT"
NEVER_HIT = (NOT_HIT,) * 4
BYPASSED = ("BYPASS",) * 4
FILLED_ONCE = ("MISS", "HIT", "HIT", "HIT")
PER_VARIANT = ("MISS", "MISS", "HIT", "HIT")

LOGGED_IN = "pages for logged-in users bypass the cache by default"
CSRF_PUNCHED = (
    "the page's only visitor-specific part is its CSRF token, which is punched out of the "
    "stored page and filled in per visitor on each hit"
)


@dataclass(frozen=True)
class Case:
    channel: str
    kind: str  # page, fragment, fragment_in_page or function
    url: str
    statuses: tuple[str, ...] | None = None  # expected X-Smartcache of the four requests
    why: str = ""
    renders: tuple[str, int, str] | None = None  # (Tick name, times the fragment ran, why)

    @property
    def id(self) -> str:
        return f"{self.channel}-{self.kind}"


def _template(part: str, kind: str) -> str:
    return f"/privacy/template/{part}/{kind.replace('_', '-')}/"


def _in_templates(channel: str, part: str, page: tuple[str, ...] | None, why: str) -> list[Case]:
    """The part shown by a cached page, by a fragment, and by a fragment in a cached page."""
    return [
        Case(channel, "page", _template(part, "page"), page, why),
        Case(channel, "fragment", _template(part, "fragment")),
        Case(channel, "fragment_in_page", _template(part, "fragment_in_page"), page, why),
    ]


CASES = [
    Case(
        "set_cookie",
        "page",
        "/privacy/set-cookie/",
        NEVER_HIT,
        "a response that sets a cookie is never stored",
    ),
    Case(
        "raw_set_cookie",
        "page",
        "/privacy/raw-set-cookie/",
        NEVER_HIT,
        "a response that sets a cookie in any form (here a raw Set-Cookie header) is never stored",
    ),
    Case(
        "vary_cookie",
        "page",
        "/privacy/vary-cookie/",
        PER_VARIANT,
        "the page says Vary: Cookie, so each visitor's variant is stored under its own key",
    ),
    Case(
        "cache_control_private",
        "page",
        "/privacy/cache-control/private/",
        NEVER_HIT,
        "a response marked Cache-Control: private is never stored",
    ),
    Case(
        "cache_control_no_store",
        "page",
        "/privacy/cache-control/no-store/",
        NEVER_HIT,
        "a response marked Cache-Control: no-store is never stored",
    ),
    Case(
        "authorization",
        "page",
        "/privacy/api/whoami/",
        NEVER_HIT,
        "a response to a request that carried Authorization is neither served from nor stored "
        "to the shared cache unless it says public, s-maxage or must-revalidate",
    ),
    Case(
        "session",
        "page",
        "/privacy/session/page/",
        NEVER_HIT,
        "a page that read the session is never stored",
    ),
    Case("session", "fragment", _template("session", "fragment")),
    Case(
        "session",
        "fragment_in_page",
        _template("session", "fragment_in_page"),
        NEVER_HIT,
        "a page holding a fragment that read the session is private too: never stored",
    ),
    Case("session", "function", "/privacy/session/function/"),
    Case("user_in_view", "page", "/privacy/user/page/", BYPASSED, LOGGED_IN),
    Case("user_in_view", "function", "/privacy/user/function/"),
    Case(
        "anonymous_user_in_view",
        "page",
        "/privacy/user/page/",
        FILLED_ONCE,
        "a page that only reads request.user is shared among anonymous visitors",
    ),
    *_in_templates("user_in_template", "user", BYPASSED, LOGGED_IN),
    *_in_templates("request_user_in_template", "request_user", BYPASSED, LOGGED_IN),
    Case(
        "user_in_fragment_vary_on",
        "fragment",
        "/privacy/per-user-fragment/",
        renders=(
            "fragment:per-user",
            2,
            "a fragment whose vary_on holds the user's pk is cached per user, once each",
        ),
    ),
    *_in_templates("messages", "messages", None, ""),
    Case("messages", "function", "/privacy/messages/function/"),
    Case("csrf_get_token", "page", "/privacy/csrf/page/", FILLED_ONCE, CSRF_PUNCHED),
    Case("csrf_get_token", "function", "/privacy/csrf/function/"),
    Case("csrf_token_tag", "page", _template("csrf_token", "page"), FILLED_ONCE, CSRF_PUNCHED),
    Case(
        "csrf_token_in_fragment",
        "fragment",
        _template("csrf_token", "fragment"),
        renders=(
            "fragment:csrf_token",
            1,
            "a fragment whose only visitor-specific part is a CSRF token is stored with the "
            "token punched out, and filled in per visitor",
        ),
    ),
    Case(
        "csrf_token_in_fragment",
        "fragment_in_page",
        _template("csrf_token", "fragment_in_page"),
        FILLED_ONCE,
        CSRF_PUNCHED,
    ),
]


# --------------------------------------------------------------------------- checks


@dataclass
class Seen:
    """One response, and to whom it went."""

    visitor: Visitor
    label: str
    response: object

    @property
    def status(self) -> str:
        return status(self.response) or "page not cached"

    @property
    def body(self) -> str:
        return self.response.content.decode(errors="replace")

    def places(self) -> list[tuple[str, str]]:
        headers = "\n".join(f"{name}: {value}" for name, value in self.response.items())
        return [("body", self.body), ("headers", f"{headers}\n{self.response.cookies.output()}")]

    def handed_out(self) -> list[tuple[str, str]]:
        """``(value, what)`` of every cookie and CSRF form token this response carries."""
        found = [
            (morsel.value, f"cookie {name!r}")
            for name, morsel in self.response.cookies.items()
            if morsel.value
        ]
        raw = self.response.get("Set-Cookie")
        if raw:
            name, _, value = raw.split(";", 1)[0].partition("=")
            if value.strip():
                found.append((value.strip(), f"cookie {name.strip()!r}"))
        found += [(token, "CSRF form token") for token in TOKEN_RE.findall(self.body)]
        return found

    def sets_visitor_id(self) -> bool:
        return "visitor_id" in self.response.cookies or self.response.get(
            "Set-Cookie", ""
        ).startswith("visitor_id=")


def _failed_requests(seen: list[Seen]) -> list[str]:
    return [
        f"{item.label} answered {item.response.status_code}, not 200"
        for item in seen
        if item.response.status_code != 200
    ]


def _leaks(seen: list[Seen], visitors: list[Visitor]) -> list[str]:
    """Private values found in a response to anyone but their owner."""
    owners = {value: (v.name, what) for v in visitors for value, (what, _) in v.secrets.items()}
    for item in seen:  # a value handed out belongs to whoever got it first
        for value, what in item.handed_out():
            owners.setdefault(value, (item.visitor.name, what))
    problems = []
    for item in seen:
        for value, (owner, what) in owners.items():
            if owner == item.visitor.name:
                continue
            where = [place for place, text in item.places() if value in text]
            if where:
                problems.append(
                    f"{item.visitor.name} received {owner}'s {what} ({value!r}) in the "
                    f"{' and '.join(where)} of {item.label} [{item.status}]"
                )
    return problems


def _own_data_missing(seen: list[Seen], channel: Channel) -> list[str]:
    """Each visitor saw their own private data: the channel under test was exercised."""
    problems, had_first = [], set()
    for item in seen:
        name = item.visitor.name
        first = name not in had_first
        had_first.add(name)
        for value, (what, shown) in item.visitor.secrets.items():
            if (shown == ALL or (shown == FIRST and first)) and value not in item.body:
                problems.append(
                    f"{name} did not see their own {what} ({value!r}) in {item.label} "
                    f"[{item.status}]; the body was {item.body[:300]!r}"
                )
        if channel.sets_cookie and not item.sets_visitor_id():
            problems.append(f"{item.label} [{item.status}] did not set {name} a visitor_id cookie")
        if channel.csrf and not TOKEN_RE.search(item.body):
            problems.append(
                f"{item.label} [{item.status}] holds no CSRF form token: {item.body[:300]!r}"
            )
    return problems


def _refused_posts(seen: list[Seen]) -> list[str]:
    """Every CSRF form token a visitor got is valid for that visitor's CSRF cookie."""
    problems = []
    for item in seen:
        name = item.visitor.name
        for token in TOKEN_RE.findall(item.body):
            posted = item.visitor.client.post("/privacy/submit/", {"csrfmiddlewaretoken": token})
            if posted.status_code != 200:
                problems.append(
                    f"{name} posted the form from {item.label} [{item.status}] and got "
                    f"{posted.status_code}: its CSRF token does not match {name}'s CSRF cookie"
                )
    return problems


def _wrong_statuses(seen: list[Seen], case: Case) -> list[str]:
    if case.statuses is None:
        return []
    problems = []
    for item, expected in zip(seen, case.statuses, strict=True):
        got = status(item.response)
        if (got == "HIT") if expected == NOT_HIT else (got != expected):
            problems.append(
                f"{item.label} was served as {item.status}, expected {expected}: {case.why}"
            )
    return problems


def _wrong_renders(case: Case) -> list[str]:
    if case.renders is None:
        return []
    tick, expected, why = case.renders
    if CALLS[tick] == expected:
        return []
    return [f"the fragment's body ran {CALLS[tick]} times in four requests, not {expected}: {why}"]


# --------------------------------------------------------------------------- the matrix

STORY = ((0, "first request"), (1, "first request"), (0, "second request"), (1, "second request"))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_visitor_ever_receives_another_visitors_private_data(case):
    channel = CHANNELS[case.channel]
    visitors = [
        Visitor(name, Client(enforce_csrf_checks=channel.csrf)) for name in ("alice", "bob")
    ]
    for visitor in visitors:
        channel.prepare(visitor)
    seen = []
    for index, when in STORY:
        visitor = visitors[index]
        response = visitor.client.get(case.url, headers=visitor.headers)
        seen.append(Seen(visitor, f"{visitor.name}'s {when}", response))
    problems = [
        *_failed_requests(seen),
        *_leaks(seen, visitors),
        *_own_data_missing(seen, channel),
        *_wrong_statuses(seen, case),
        *_wrong_renders(case),
    ]
    if channel.csrf:  # after all the GETs, as a visitor would submit a form they were shown
        problems += _refused_posts(seen)
    assert not problems, f"GET {case.url} ({case.id}):\n- " + "\n- ".join(problems)
