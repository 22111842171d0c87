"""Invalidation owns bumps and what sends them: signals, the SQL watcher, the outbox and
its recovery, the writer leases, tracking. It may import core, stores, conf and models.

The layers, each importing only those below it (pyproject's ``[tool.importlinter]``
contracts, run in CI by ``tests/test_layers.py``)::

    operations    admin, actions, checks, command, overview, warm
    frontends     pages, http, csrf, decorators, middleware, fragments, functions,
                  writethrough, registry
    invalidation  bumps, recovery, outbox, leases, lease_reclaim, autocommit, backlog,
                  dbwrites, sqlwrites, sqltokens, signals, tracking, purge
    core          engine, tags, context, privacy, standins, snapshots, breaker, stats
    stores        base, factory, redis_store (Lua in lua/*.lua, via scripts),
                  cache_store, server_identity
    conf, models  settings (read lazily) and the app's models: any layer may use them

The modules Django looks for stay at the top (``apps``, ``models``, ``admin``,
``middleware``, ``templatetags/``, ``management/commands/``); those that belong to a
layer are thin and import from it. No layer imports them.
"""
