"""``bench.settings`` plus django-cacheops, for the writes section's comparison only.

Used by the subprocess of ``bench/writes.py`` (cacheops patches QuerySet, Manager, Atomic and
CursorWrapper process-wide, so it never runs in the suite's main process or its servers).
cacheops' Redis is ``BENCH_DJANGO_REDIS_URL``'s database, which the suite flushes; its keys
(``q:...``, ``conj:...``) never meet django-redis' (``:1:...``).
"""

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS, _django_redis_url

INSTALLED_APPS = [*INSTALLED_APPS, "cacheops"]
CACHEOPS_REDIS = _django_redis_url
CACHEOPS = {"shop.product": {"ops": "all", "timeout": 60 * 15}}
