"""The code examples in README.md and docs/ run, against these test settings.

Every fenced block of a page is collected in order and checked by its language:

- ``python``: executed. The blocks of one page share one namespace, in page order, the way a
  reader types them; that namespace is also the URLconf while the page runs (a block that
  defines ``urlpatterns`` routes Django's test client to its views). The database is a real
  transactional test database, so commits (and the invalidations they send) happen as in
  production. A block asserts what the page says happens (MISS, then HIT, ...).
- ``python`` preceded by ``<!-- example: settings -->``: a settings snippet. It is executed on
  its own (``...`` stands for the reader's other entries) and what it defines is checked
  against Django's system checks: ``SMARTCACHE`` must raise no ``smartcache.E*``,
  ``MIDDLEWARE`` no ``smartcache.W003``/``W004``, ``CACHES`` backends must import.
- ``python`` preceded by ``<!-- example: compile -->``: only compiled (said where it is used).
- ``django`` (templates): compiled by Django's template engine, ``{% load smartcache %}``
  included, so a tag with bad arguments fails here as it would on the site.

Shell blocks are not run here (the commands they show are tried by hand and in CI).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from django.core import checks
from django.template import engines
from django.test import override_settings
from django.urls import clear_url_caches
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES = [p for p in PAGES if "_build" not in p.parts]

FENCE = re.compile(
    r"(?:<!--\s*example:\s*(?P<mode>[\w-]+)\s*-->\s*\n)?"
    r"^(?P<fence>```+|~~~+)(?P<lang>[^\n`]*)\n(?P<code>.*?)^(?P=fence)\s*$",
    re.M | re.S,
)


class Block:
    def __init__(self, page: Path, line: int, lang: str, mode: str, code: str):
        self.page, self.line, self.lang, self.mode, self.code = page, line, lang, mode, code

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        lang = match["lang"].strip().split(" ")[0].lower()
        line = text.count("\n", 0, match.start("code"))  # 1-based line of the fence
        found.append(Block(page, line, lang, match["mode"] or "run", match["code"]))
    return found


def example_pages() -> list[Path]:
    return [p for p in PAGES if any(b.lang in ("python", "django") for b in blocks(p))]


def test_there_are_examples_to_check():
    counted = [b for p in PAGES for b in blocks(p) if b.lang in ("python", "django")]
    assert len(counted) >= 25, f"only {len(counted)} examples found; did the fence syntax change?"
    assert any(b.mode == "run" for b in counted)


def _compile(block: Block):
    """The block's code, compiled so that tracebacks point at the page's own line numbers."""
    return compile("\n" * block.line + block.code, str(block.page.relative_to(ROOT)), "exec")


def _check_settings(block: Block) -> None:
    namespace: dict = {}
    exec(_compile(block), namespace)
    names = {k for k in namespace if k.isupper()}
    assert names, f"{block.where}: a settings example that defines no setting"
    overrides = {}
    if "SMARTCACHE" in names:
        overrides["SMARTCACHE"] = namespace["SMARTCACHE"]
    if "MIDDLEWARE" in names:
        from django.conf import settings

        documented = [m for m in namespace["MIDDLEWARE"] if m is not Ellipsis]
        # The reader's other middleware stay; the documented ones go in the documented order.
        rest = [m for m in settings.MIDDLEWARE if m not in documented]
        overrides["MIDDLEWARE"] = rest[:1] + documented + rest[1:]
    if "CACHES" in names:
        for alias, config in namespace["CACHES"].items():
            import_string(config["BACKEND"])  # a typo in a documented backend path fails here
            assert "LOCATION" in config or "locmem" in config["BACKEND"], (block.where, alias)
    if "INSTALLED_APPS" in names:
        apps_listed = [a for a in namespace["INSTALLED_APPS"] if a is not Ellipsis]
        assert "django_smartcache" in apps_listed, block.where
        if "django.contrib.admin" in apps_listed:
            assert apps_listed.index("django.contrib.admin") < apps_listed.index(
                "django_smartcache"
            ), f"{block.where}: django_smartcache must come after django.contrib.admin"
    if overrides:
        with override_settings(**overrides):
            problems = [
                m
                for m in checks.run_checks(include_deployment_checks=False)
                if m.id and m.id.startswith("smartcache.") and m.id != "smartcache.W001"
            ]
        assert not problems, f"{block.where}: the documented settings fail the checks: {problems}"


def _check_template(block: Block) -> None:
    source = block.code
    if "{% load smartcache %}" not in source:
        source = "{% load smartcache %}" + source
    engines["django"].from_string(source)  # TemplateSyntaxError on a bad tag


@pytest.mark.parametrize("page", example_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, transactional_db, settings):
    module_name = "docs_example_" + re.sub(r"\W", "_", str(page.relative_to(ROOT)))
    module = types.ModuleType(module_name)
    module.__file__ = str(page)
    module.urlpatterns = []
    sys.modules[module_name] = module
    settings.ROOT_URLCONF = module_name
    try:
        for block in blocks(page):
            if block.lang == "django":
                _check_template(block)
            elif block.lang != "python":
                continue
            elif block.mode == "settings":
                _check_settings(block)
            elif block.mode == "compile":
                _compile(block)
            elif block.mode == "run":
                clear_url_caches()
                code = _compile(block)
                try:
                    exec(code, module.__dict__)
                except Exception as exc:
                    raise AssertionError(f"the example at {block.where} failed: {exc!r}") from exc
            else:
                raise AssertionError(f"{block.where}: unknown example mode {block.mode!r}")
    finally:
        clear_url_caches()
        sys.modules.pop(module_name, None)


# --------------------------------------------------------------------------- reference pages


def _first_column(page: Path) -> set[str]:
    """The backticked names in the first column of the page's tables."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("| `"):
            found.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return found


def test_the_settings_reference_lists_every_setting(settings):
    settings.SMARTCACHE = {"NOT_A_SETTING": 1}
    messages = [m.msg for m in checks.run_checks() if m.id == "smartcache.E001"]
    known = re.search(r"known: ([A-Z_, ]+)\.", " ".join(messages))
    assert known, f"smartcache.E001 no longer lists the known settings: {messages}"
    expected = {name.strip() for name in known.group(1).split(",")}
    documented = _first_column(ROOT / "docs" / "reference" / "settings.md")
    assert documented == expected, (
        f"docs/reference/settings.md lacks {sorted(expected - documented)} "
        f"and lists unknown {sorted(documented - expected)}"
    )


def test_the_checks_reference_lists_every_check_id():
    package = ROOT / "django_smartcache"
    in_code = {
        found
        for path in package.rglob("*.py")
        for found in re.findall(r"smartcache\.[EW]\d{3}", path.read_text())
    }
    documented = _first_column(ROOT / "docs" / "reference" / "checks.md")
    assert in_code and documented == in_code, (
        f"docs/reference/checks.md lacks {sorted(in_code - documented)} "
        f"and lists unknown {sorted(documented - in_code)}"
    )
