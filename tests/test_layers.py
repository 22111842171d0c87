"""The package is laid out by layer, and stays so: the import-linter contracts hold, no import
cycle comes back, and the paths users type keep working.

The contracts are in pyproject.toml (``[tool.importlinter]``); each subpackage's ``__init__``
draws the map. Cycles are counted over every import, module- or function-level: a late
import that dodges a cycle still counts as one.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import django_smartcache

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(django_smartcache.__file__).resolve().parent


def test_the_import_contracts_hold():
    # In a process of its own: import-linter reconfigures logging (it would silence the
    # "django_smartcache" logger for the tests that follow).
    lint = "from importlinter.cli import lint_imports_command as lint; lint()"
    done = subprocess.run(
        [sys.executable, "-c", lint, "pyproject.toml", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"an import breaks the layering:\n{done.stdout}{done.stderr}"
    assert "0 broken" in done.stdout, done.stdout


def _imports() -> dict[str, set[str]]:
    """Every module of the package -> the modules of the package it imports (at any level)."""
    modules: dict[str, tuple[Path, bool]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in filter(None, map(known, targets)):
                if target != name and not name.startswith(target + "."):  # its own package
                    edges[name].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_through_others():
    edges = _imports()
    assert len(edges) > 40, "the package was not found where expected"
    assert _cycles(edges) == [], "import cycles (a late import counts too)"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_paths_users_type_still_import():
    """Settings, templates and the README name these; they stay where they were."""
    for path, name in [
        ("django_smartcache.middleware", "SmartcacheMiddleware"),
        ("django_smartcache.admin", "SmartcacheAdminMixin"),
        ("django_smartcache.admin", "SmartcacheAdmin"),
        ("django_smartcache.templatetags.smartcache", "register"),
        ("django_smartcache.management.commands.smartcache", "Command"),
        ("django_smartcache.breaker", "counters"),
        ("django_smartcache.outbox", "counters"),
    ]:
        assert hasattr(importlib.import_module(path), name), f"{path}.{name} is gone"
    for name in django_smartcache.__all__:
        assert getattr(django_smartcache, name), name


def test_the_lua_scripts_are_package_data():
    from django_smartcache.stores import scripts

    lua = sorted(p.name for p in (PACKAGE / "stores" / "lua").glob("*.lua"))
    names = [
        *("BUMP", "CLAIM", "GENERATION", "LOCK", "MARK", "NODE"),
        *("RELEASE", "STAMP", "STORE", "TOKENS"),
    ]
    assert lua == [f"{name.lower()}.lua" for name in names]
    for name in names:
        assert "redis.call" in getattr(scripts, name), name
