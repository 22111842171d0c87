"""Stores own where entries and tokens live: the django-redis store (its Lua scripts in
lua/*.lua) and the portable Django-cache store. They may import conf only.

The layers, each importing only those below it (pyproject's ``[tool.importlinter]``
contracts, run in CI by ``tests/test_layers.py``)::

    operations    admin, actions, checks, command, overview, warm
    frontends     pages, http, csrf, decorators, middleware, fragments, functions,
                  writethrough, registry
    invalidation  bumps, recovery, outbox, leases, lease_reclaim, autocommit, dbwrites,
                  sqlwrites, sqltokens, signals, tracking, purge
    core          engine, tags, context, privacy, standins, snapshots, breaker, stats
    stores        base, factory, redis_store (Lua in lua/*.lua, via scripts),
                  cluster_store (and cluster, its clients), cache_store,
                  server_identity
    conf, models  settings (read lazily) and the app's models: any layer may use them

The modules Django looks for stay at the top (``apps``, ``models``, ``admin``,
``middleware``, ``templatetags/``, ``management/commands/``); those that belong to a
layer are thin and import from it. No layer imports them.
"""
