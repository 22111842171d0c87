"""Sanity checks of the test infrastructure itself (round-trip counter, Lua, cache aliases)."""

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection

# The counter and Lua on a standalone client; the cluster run has its own in test_cluster.py.
pytestmark = pytest.mark.not_on_cluster


@pytest.mark.parametrize("alias", ["default", "other"])
def test_cache_get_is_one_round_trip(alias, redis_commands):
    cache = caches[alias]
    cache.set("x", 1)
    redis_commands.reset()

    assert cache.get("x") == 1

    assert redis_commands.count == 1, redis_commands.commands
    assert redis_commands.commands == [("GET",)]


def test_cache_get_many_is_one_round_trip(redis_commands):
    cache = caches["default"]
    cache.set_many({"a": 1, "b": 2})
    redis_commands.reset()

    assert cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}

    assert redis_commands.count == 1, redis_commands.commands
    assert redis_commands.commands == [("MGET",)]


@pytest.mark.parametrize("transaction", [True, False])
def test_pipeline_of_three_commands_is_one_round_trip(transaction, redis_commands):
    client = get_redis_connection("default")
    redis_commands.reset()

    pipe = client.pipeline(transaction=transaction)
    pipe.set("p1", "v")
    pipe.incr("p2")
    pipe.get("p1")
    assert pipe.execute() == [True, 1, b"v"]

    assert redis_commands.count == 1, redis_commands.commands


def test_counter_reset_and_handshakes_not_counted(redis_commands):
    client = get_redis_connection("default")
    client.connection_pool.disconnect()  # the next command opens a fresh connection
    redis_commands.reset()

    client.get("nothing")

    assert redis_commands.count == 1, redis_commands.commands
    assert redis_commands.connects == 1
    redis_commands.reset()
    assert (redis_commands.count, redis_commands.commands) == (0, [])


def test_lua_eval_works(redis_commands):
    client = get_redis_connection("default")
    script = """
    redis.call('SET', KEYS[1], ARGV[1])
    return {redis.call('GET', KEYS[1]), redis.call('INCRBY', KEYS[2], 5)}
    """
    redis_commands.reset()

    assert client.eval(script, 2, "lua:k", "lua:n", "hello") == [b"hello", 5]

    assert redis_commands.count == 1


def test_registered_script_is_one_round_trip_once_loaded(redis_commands):
    client = get_redis_connection("default")
    script = client.register_script("return redis.call('EXISTS', KEYS[1])")
    script(keys=["k"])  # first call: EVALSHA -> NOSCRIPT -> SCRIPT LOAD -> EVALSHA
    redis_commands.reset()

    assert script(keys=["k"]) == 0

    assert redis_commands.commands == [("EVALSHA",)]


def test_aliases_are_separate_databases():
    caches["default"].set("shared-key", "default")
    caches["other"].set("shared-key", "other")
    caches["locmem"].set("shared-key", "locmem")

    assert caches["default"].get("shared-key") == "default"
    assert caches["other"].get("shared-key") == "other"
    assert caches["locmem"].get("shared-key") == "locmem"


def test_caches_start_empty():
    for alias in ("default", "other", "locmem"):
        assert caches[alias].get("shared-key") is None, alias


@pytest.mark.django_db
def test_database_works():
    from tests.testapp.models import Category, Product, Tag

    category = Category.objects.create(name="Books", slug="books")
    product = Product.objects.create(name="Dune", slug="dune", price="9.99", category=category)
    product.tags.add(Tag.objects.create(name="sf"))

    assert list(Product.objects.filter(tags__name="sf")) == [product]
