"""System checks: a correct project is clean; each mistake is named."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission, User
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_smartcache import cache_page, cached
from django_smartcache.frontends import registry
from django_smartcache.frontends.registry import check_installed
from django_smartcache.operations.checks import check_admin_actions
from tests.testapp.models import Tag


def smartcache_messages() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks() if m.id and m.id.startswith("smartcache.")]


@pytest.mark.django_db
def test_check_command_is_clean_on_the_test_project():
    """Also proves the admin purge action does not trigger admin.E129 on any ModelAdmin."""
    assert checks.run_checks() == []
    out = StringIO()
    call_command("check", stdout=out)
    assert "System check identified no issues" in out.getvalue()


@pytest.mark.django_db
def test_the_migration_matches_the_model():
    out = StringIO()
    call_command("makemigrations", "django_smartcache", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_the_purge_permission_exists_and_superusers_have_it():
    permission = Permission.objects.get(codename="purge_cache")
    assert permission.content_type.app_label == "django_smartcache"
    assert permission.name == "Can purge the smart cache"
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    assert root.has_perm("django_smartcache.purge_cache")
    assert not User.objects.create_user("someone", is_staff=True).has_perm(
        "django_smartcache.purge_cache"
    )


def test_missing_from_installed_apps_is_an_error_when_the_decorators_are_used():
    # Registered when the decorator modules were imported, not by ready().
    assert check_installed in checks.registry.registry.registered_checks
    apps = [app for app in settings.INSTALLED_APPS if app != "django_smartcache"]
    with override_settings(INSTALLED_APPS=apps):
        (message,) = check_installed()
        assert message.id == "smartcache.E003"
        assert "INSTALLED_APPS" in message.msg and "django_smartcache" in message.hint
        assert "smartcache.E003" in [m.id for m in checks.run_checks()]
    assert check_installed() == []


@pytest.fixture
def forget_declarations():
    """Drop the views and functions a test declares, so later checks stay clean."""
    before = dict(registry._declared)
    yield
    registry._declared.clear()
    registry._declared.update(before)


@pytest.mark.parametrize("decorate", ["view", "function"])
def test_unknown_cache_alias_on_a_decorator_is_an_error_naming_it(decorate, forget_declarations):
    def target(request=None):
        return None

    if decorate == "view":
        cache_page(60, cache="nowhere")(target)
    else:
        cached(60, cache="nowhere")(target)
    (message,) = smartcache_messages()
    assert message.id == "smartcache.E004"
    assert f"cached {decorate}" in message.msg and "target" in message.msg
    assert "cache='nowhere'" in message.msg
    with pytest.raises(SystemCheckError, match="nowhere"):
        call_command("check")


def test_model_admin_registered_too_late_for_the_action_gets_a_warning():
    site = admin.AdminSite(name="late")
    site.register(Tag)
    try:
        (message,) = check_admin_actions()
        assert message.id == "smartcache.W002"
        assert "testapp.Tag (late)" in message.msg
        assert "SmartcacheAdminMixin" in message.hint
    finally:
        site.unregister(Tag)
    assert check_admin_actions() == []


def test_untracked_models_need_no_action():
    site = admin.AdminSite(name="untracked")
    site.register(Tag)
    try:
        with override_settings(SMARTCACHE={"TRACK_MODELS": ["testapp.Product"]}):
            assert check_admin_actions() == []
    finally:
        site.unregister(Tag)


@pytest.mark.parametrize(
    ("alias", "lost"),
    [
        ("locmem", "an invalidation made by another process (another worker"),
        ("dummy", "it stores nothing"),
    ],
)
def test_backends_that_cannot_give_the_guarantees_get_a_warning_naming_what_is_lost(alias, lost):
    caches = {
        **settings.CACHES,
        "dummy": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    with override_settings(CACHES=caches, SMARTCACHE={"CACHE_ALIAS": alias}):
        (message,) = smartcache_messages()
    assert message.id == "smartcache.W001"
    assert lost in message.msg and f"'{alias}'" in message.msg


WITHOUT_OUR_MIDDLEWARE = [m for m in settings.MIDDLEWARE if "smartcache" not in m]


@pytest.mark.parametrize(
    ("middleware", "check_id"),
    [
        (WITHOUT_OUR_MIDDLEWARE, "smartcache.W003"),
        (
            ["django_smartcache.middleware.SmartcacheMiddleware", *WITHOUT_OUR_MIDDLEWARE],
            "smartcache.W004",
        ),
    ],
    ids=["missing", "before the session middleware"],
)
def test_a_missing_or_misplaced_smartcache_middleware_is_named(middleware, check_id):
    with override_settings(MIDDLEWARE=middleware):
        found = [m for m in smartcache_messages() if m.id == check_id]
    assert found, f"no {check_id} for MIDDLEWARE={middleware}"
    assert "MessageMiddleware" in found[0].hint


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    ],
)
def test_a_backend_whose_counters_are_not_atomic_is_refused(backend, tmp_path):
    location = str(tmp_path / "cache") if "filebased" in backend else "smartcache_x"
    caches = {**settings.CACHES, "default": {"BACKEND": backend, "LOCATION": location}}
    with override_settings(CACHES=caches):
        found = [m for m in smartcache_messages() if m.id == "smartcache.E005"]
    assert found and "not atomic" in found[0].msg, f"{backend} was accepted"


def test_locmem_is_a_warning_that_says_what_is_lost():
    caches = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with override_settings(CACHES=caches):
        found = [m for m in smartcache_messages() if m.id == "smartcache.W001"]
    assert found, "no warning for LocMem"
    assert "another process" in found[0].msg and "fine for tests" in found[0].msg


def test_a_redis_cluster_endpoint_is_refused(redis_server, tmp_path):
    from tests.redis_servers import RedisServer

    node = RedisServer(redis_server.executable, str(tmp_path))
    node.port = _port_with_a_free_cluster_bus()
    node.start("--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf"))
    try:
        caches = {
            **settings.CACHES,
            "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": node.url},
        }
        with override_settings(CACHES=caches):
            found = [m for m in smartcache_messages() if m.id == "smartcache.E006"]
    finally:
        node.kill()
    assert found and "CROSSSLOT" in found[0].msg, "a cluster endpoint passed the checks"


def _port_with_a_free_cluster_bus() -> int:
    """A free port whose cluster bus port (+10000) is free and valid too."""
    import socket

    for port in range(20000 + os.getpid() % 20000, 55000):
        try:
            with socket.socket() as one, socket.socket() as bus:
                one.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")
