"""Sphinx configuration for the django-smartcache documentation.

Build it with ``python3 dev.py docs`` (into docs/_build/html, warnings are errors), or by hand:
``python -m sphinx -W --keep-going -b html docs docs/_build/html``. The pages are Markdown
(MyST-Parser); the API reference is generated from the docstrings with autodoc, which imports
the package under a minimal Django configuration (no Redis or database is contacted).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django_smartcache",
        ],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
    )
    django.setup()

import django_smartcache  # noqa: E402

project = "django-smartcache"
author = "django-smartcache contributors"
copyright = "django-smartcache contributors"  # noqa: A001 - Sphinx's name
release = django_smartcache.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
# Headings get anchors so that pages can link to sections: [text](page.md#a-heading).
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# The public names are documented where users import them from: django_smartcache.<name>.
add_module_names = True

html_theme = "furo"
html_title = f"django-smartcache {release}"
html_static_path: list[str] = []
