"""Shared helpers for the adversarial tests."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test import Client

from django_smartcache.frontends.csrf import unmask

TOKEN_RUN = re.compile(rb"(?<![A-Za-z0-9])[A-Za-z0-9]{64}(?![A-Za-z0-9])")
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


def secret(client: Client) -> str | None:
    cookie = client.cookies.get("csrftoken")
    return cookie.value if cookie else None


def tokens_of(content: bytes) -> list[str]:
    return [m.decode() for m in TOKEN_RUN.findall(content)]


def owners(content: bytes, *clients: Client) -> set[int]:
    """Indexes of the clients whose CSRF secret some 64-char token in ``content`` unmasks to."""
    found = set()
    for token in tokens_of(content):
        try:
            plain = unmask(token)
        except (KeyError, ValueError):
            continue
        for i, c in enumerate(clients):
            if secret(c) and plain == secret(c):
                found.add(i)
    return found


def logged_in(username: str) -> Client:
    user = User.objects.create_user(username, password="pw")
    client = Client()
    client.force_login(user)
    return client


def with_session(**values) -> Client:
    client = Client()
    query = "&".join(f"{k}={v}" for k, v in values.items())
    client.get(f"/session/put/?{query}")
    return client
