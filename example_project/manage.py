#!/usr/bin/env python
"""Django's command-line utility for the demo shop.

Run it from anywhere, e.g. from the repo root: ``python example_project/manage.py migrate``.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent  # example_project/
ROOT = HERE.parent  # the repo root: django_smartcache/ and example_project/ import from here


def main():
    # The demo's modules are imported by their full names (example_project.demo.settings,
    # example_project.shop), so the repo root goes first; it also makes the working copy of
    # django_smartcache win over any installed one. example_project/ itself stays on the path
    # (Python puts the script's directory there anyway) after it.
    for path in (str(HERE), str(ROOT)):
        while path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.demo.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Run the demo with `python3 dev.py demo`, which builds a "
            "virtualenv with everything it needs."
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
