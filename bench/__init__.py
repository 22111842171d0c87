"""django-smartcache benchmark suite: ``python3 dev.py bench`` (see ``bench/run.py``)."""
