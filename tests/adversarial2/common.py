"""Helpers for the second adversarial review."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client


def logged_in(username: str, **fields) -> Client:
    user = User.objects.create_user(username, password="pw", **fields)
    client = Client()
    client.force_login(user)
    return client


def with_session(**values) -> Client:
    client = Client()
    client.get("/session/put/?" + "&".join(f"{k}={v}" for k, v in values.items()))
    return client
