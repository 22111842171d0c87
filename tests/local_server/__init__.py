"""A small app server for tests/test_local_coherence.py, run under gunicorn as its own processes.

``settings`` extends the test settings: the test run's database (its name in
``SMARTCACHE_COHERENCE_DB_NAME``), the test run's Redis, ``SMARTCACHE`` from
``SMARTCACHE_COHERENCE_SMARTCACHE`` (JSON, e.g. ``{"LOCAL": {}}``), the admin and the price
pages of ``urls``.
"""
