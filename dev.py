#!/usr/bin/env python3
"""django-smartcache developer entry point (Python 3.11+, standard library only).

    python3 dev.py demo [runserver args]   run the demo shop at http://127.0.0.1:8000/
    python3 dev.py test [pytest args]      ruff check + ruff format --check, then pytest
    python3 dev.py lint                    ruff check + ruff format --check
    python3 dev.py fmt                     ruff format + ruff check --fix
    python3 dev.py docs                    build the docs into docs/_build/html (warnings are
                                           errors), then run the code examples they show
    python3 dev.py bench [--smoke] [...]   benchmark suite (bench/run.py; --help for options)

Each command builds (or reuses) a virtualenv in .venvs/<python>-<django>, e.g.
.venvs/py3.11-default or .venvs/py3.12-django-6, and installs the project into it in editable
mode. It reinstalls only when pyproject.toml, the extras or the Django spec changed.

Environment:
    SMARTCACHE_PYTHON   interpreter to build the venv with (default: the one running dev.py);
                        a name on PATH (python3.12) or a path
    SMARTCACHE_DJANGO   extra pip requirement for Django, e.g. "django>=6.0,<7" (default: none,
                        whatever pyproject.toml allows)
    DATABASE_URL        demo database (mysql://... adds the mysql extra); default SQLite
    REDIS_URL           demo Redis; default an in-process fakeredis
    SMARTCACHE_TEST_DATABASE_URL / SMARTCACHE_TEST_REDIS_URL / SMARTCACHE_REQUIRE_SERVICES
                        test backends, see tests/settings.py and tests/conftest.py
    BENCH_DATABASE_URL / BENCH_REDIS_URL / BENCH_DJANGO_REDIS_URL
                        benchmark services (default: MariaDB database smartcache_bench, Redis
                        databases 9 and 10 on 127.0.0.1, which the suite flushes); bench/run.py
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - say so clearly instead of a SyntaxError later
    sys.exit("dev.py needs Python 3.11 or newer (found %d.%d)" % sys.version_info[:2])  # noqa: UP031

ROOT = Path(__file__).resolve().parent
VENVS = ROOT / ".venvs"
MANAGE = ROOT / "example_project" / "manage.py"
DEMO_ADDR = "127.0.0.1:8000"
DEMO_LOGIN = ("admin", "admin")  # created by `manage.py seed_demo`
# Bump to force every venv to reinstall after a change in how dev.py installs.
INSTALL_SCHEMA = 1

# pip prints these for every package with this machine's extra local indexes; they are noise.
_PIP_NOISE = re.compile(r"^WARNING: Location '.*' is ignored: it is neither a file nor a directory")


# --------------------------------------------------------------------------- output


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def show_cmd(cmd: list[str | os.PathLike], cwd: Path = ROOT) -> None:
    shown = [os.path.relpath(c, cwd) if isinstance(c, Path) else str(c) for c in cmd]
    say("$ " + shlex.join(shown))


def die(message: str, code: int = 1) -> None:
    print(f"dev.py: error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def run(cmd: list, *, env: dict | None = None, check: bool = True) -> int:
    """Run ``cmd`` from the repo root, echoing it first; return its exit code."""
    show_cmd(cmd)
    try:
        code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)
    except FileNotFoundError as exc:
        die(f"cannot run {cmd[0]}: {exc}")
    if check and code != 0:
        die(f"command failed with exit code {code}: {shlex.join(str(c) for c in cmd)}", code)
    return code


def run_pip(cmd: list, env: dict) -> int:
    """Run a quiet pip command, streaming its output minus the known noise lines."""
    show_cmd(cmd)
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if not _PIP_NOISE.match(line):
            sys.stdout.write(line)
            sys.stdout.flush()
    return proc.wait()


# --------------------------------------------------------------------------- interpreter


def _probe(python: str) -> dict | None:
    """Version and real path of interpreter ``python``, or None if it does not run."""
    code = (
        "import json, os, sys; print(json.dumps({'version': list(sys.version_info[:3]), "
        "'executable': os.path.realpath(sys.executable)}))"
    )
    try:
        out = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _pyenv_candidates(name: str) -> list[str]:
    """``name`` (e.g. python3.12) inside pyenv's installed versions, newest first.

    A pyenv shim for a version that is installed but not selected (`pyenv global`) exits with
    "command not found"; the interpreter itself is still there.
    """
    roots = [os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv")]
    found: list[str] = []
    for root in filter(None, roots):
        found += glob.glob(os.path.join(root, "versions", "*", "bin", name))

    def key(path: str):
        version = Path(path).parent.parent.name
        return [int(p) if p.isdigit() else -1 for p in re.split(r"[.\-]", version)]

    return sorted(set(found), key=key, reverse=True)


def resolve_python() -> tuple[str, dict]:
    """The interpreter to build the venv with (SMARTCACHE_PYTHON) and its probe info."""
    wanted = os.environ.get("SMARTCACHE_PYTHON", "").strip()
    if not wanted:
        return sys.executable, {
            "version": list(sys.version_info[:3]),
            "executable": os.path.realpath(sys.executable),
        }
    candidates = []
    if os.sep in wanted:
        candidates.append(wanted)
    else:
        on_path = shutil.which(wanted)
        if on_path:
            candidates.append(on_path)
        candidates += _pyenv_candidates(wanted)
    for candidate in candidates:
        info = _probe(candidate)
        if info:
            if info["version"][:2] < [3, 11]:
                die(f"SMARTCACHE_PYTHON={wanted} is Python {info['version']}; need 3.11+")
            return candidate, info
    die(
        f"SMARTCACHE_PYTHON={wanted}: no working interpreter found "
        f"(tried: {', '.join(candidates) or 'nothing on PATH'})"
    )
    raise AssertionError  # unreachable


# --------------------------------------------------------------------------- venv


def django_spec() -> str:
    return os.environ.get("SMARTCACHE_DJANGO", "").strip()


def venv_name(info: dict, spec: str) -> str:
    """e.g. py3.11-default, py3.12-django-6 (django>=6.0,<7), py3.11-django-5.2."""
    py = "py{}.{}".format(*info["version"][:2])
    if not spec:
        return f"{py}-default"
    match = re.search(r"(?:>=|==|~=|===|>)\s*([0-9]+(?:\.[0-9]+)*)", spec)
    if match:
        version = match.group(1)
        while version.endswith(".0") and version.count(".") >= 1:
            version = version[:-2]
        label = f"django-{version}"
    else:
        label = "django-" + hashlib.sha256(spec.encode()).hexdigest()[:8]
    return f"{py}-{re.sub(r'[^A-Za-z0-9.]+', '-', label)}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def venv_env(venv: Path) -> dict:
    """The environment for commands run inside ``venv`` (as if it were activated)."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONHOME", None)
    env.pop("PYENV_VERSION", None)
    return env


def _create_venv(python: str, info: dict, venv: Path) -> None:
    check = subprocess.run([python, "-c", "import venv, ensurepip"], capture_output=True, text=True)
    if check.returncode != 0:
        major_minor = "{}.{}".format(*info["version"][:2])
        die(
            f"{python} (Python {major_minor}) cannot create virtualenvs: the venv/ensurepip "
            f"modules are missing.\n  On Debian/Ubuntu install them with:  "
            f"sudo apt-get install python3-venv   (or python{major_minor}-venv)"
        )
    if venv.exists():
        shutil.rmtree(venv)
    VENVS.mkdir(exist_ok=True)
    code = run([python, "-m", "venv", venv], check=False)
    if code != 0 or not venv_python(venv).exists():
        shutil.rmtree(venv, ignore_errors=True)
        die(
            f"`{python} -m venv {venv}` failed. If it mentions ensurepip, install python3-venv "
            "(sudo apt-get install python3-venv)."
        )


def _install_fingerprint(info: dict, spec: str, extras: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update((ROOT / "pyproject.toml").read_bytes())
    digest.update(
        json.dumps(
            {
                "schema": INSTALL_SCHEMA,
                "python": info["executable"],
                "spec": spec,
                "extras": sorted(extras),
                # An editable install maps the packages that existed when it ran; reinstall
                # once the package appears (it may be written after the first install).
                "package": (ROOT / "django_smartcache" / "__init__.py").exists(),
            },
            sort_keys=True,
        ).encode()
    )
    return digest.hexdigest()


def ensure_venv(extras: list[str]) -> Path:
    """Create/refresh the venv for SMARTCACHE_PYTHON + SMARTCACHE_DJANGO with ``extras``."""
    python, info = resolve_python()
    spec = django_spec()
    venv = VENVS / venv_name(info, spec)
    say(
        f"venv {venv.relative_to(ROOT)} (Python {'.'.join(map(str, info['version']))} "
        f"at {info['executable']}; Django {spec or 'as pyproject.toml allows'})"
    )

    meta_file = venv / ".smartcache-python"
    if venv_python(venv).exists():
        recorded = meta_file.read_text().strip() if meta_file.exists() else None
        if recorded != info["executable"] or not _probe(str(venv_python(venv))):
            say(f"venv was built by another interpreter ({recorded}); rebuilding it")
            _create_venv(python, info, venv)
    else:
        _create_venv(python, info, venv)
    meta_file.write_text(info["executable"] + "\n")

    extras_label = "-".join(sorted(extras)) or "none"
    stamp = venv / f".smartcache-installed-{extras_label}"
    fingerprint = _install_fingerprint(info, spec, extras)
    if stamp.exists() and stamp.read_text().strip() == fingerprint:
        say(f"install up to date (.[{','.join(sorted(extras))}])")
        return venv

    target = "." + (f"[{','.join(sorted(extras))}]" if extras else "")
    cmd: list = [venv_python(venv), "-m", "pip", "install", "-q", "-e", target]
    if spec:
        cmd.append(spec)
    if run_pip(cmd, venv_env(venv)) != 0:
        stamp.unlink(missing_ok=True)
        hint = ""
        if "mysql" in extras:
            hint = (
                "\n  mysqlclient compiles against the MariaDB/MySQL client library: "
                "apt-get install libmariadb-dev pkg-config gcc"
            )
        die(f"pip install failed (see above){hint}")
    stamp.write_text(fingerprint + "\n")
    return venv


def _redact(url: str) -> str:
    """``url`` with its password masked, for printing."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url.strip())


def _db_extras(env_var: str) -> list[str]:
    """The extra that installs the driver for the database URL in ``env_var``."""
    url = os.environ.get(env_var, "").strip().lower()
    if url.startswith("mysql"):
        return ["mysql"]
    if url.startswith(("postgres", "pgsql")):
        return ["postgres"]
    return []


# --------------------------------------------------------------------------- commands


def _ruff_check(venv: Path) -> bool:
    env = venv_env(venv)
    ruff = venv / "bin" / "ruff"
    ok = run([ruff, "check", "."], env=env, check=False) == 0
    ok = run([ruff, "format", "--check", "."], env=env, check=False) == 0 and ok
    if not ok:
        print("ruff found problems; `python3 dev.py fmt` fixes most of them.", flush=True)
    return ok


def _test_extras() -> list[str]:
    return ["test", *_db_extras("SMARTCACHE_TEST_DATABASE_URL")]


def cmd_lint(args: list[str]) -> int:
    venv = ensure_venv(_test_extras())
    return 0 if _ruff_check(venv) else 1


def cmd_fmt(args: list[str]) -> int:
    venv = ensure_venv(_test_extras())
    env = venv_env(venv)
    ruff = venv / "bin" / "ruff"
    code = run([ruff, "format", "."], env=env, check=False)
    return run([ruff, "check", "--fix", "."], env=env, check=False) or code


def cmd_test(args: list[str]) -> int:
    venv = ensure_venv(_test_extras())
    lint_ok = _ruff_check(venv)
    code = run([venv_python(venv), "-m", "pytest", *args], env=venv_env(venv), check=False)
    if not lint_ok:
        say(f"pytest exited {code}, but ruff found problems (above): failing")
        return code or 1
    return code


DOCS = ROOT / "docs"
DOCS_HTML = DOCS / "_build" / "html"
# The tests that check the docs: their code examples run, and bench/report.py finds its blocks.
DOCS_TESTS = ["tests/test_docs_examples.py", "tests/test_bench_report.py"]


def cmd_docs(args: list[str]) -> int:
    """Build the documentation site with Sphinx, warnings as errors, then run its examples.

    The examples run through pytest against the test settings (an in-process fakeredis and
    SQLite unless SMARTCACHE_TEST_* say otherwise), so the venv gets the test extra too.
    """
    venv = ensure_venv(["docs", *_test_extras()])
    env = venv_env(venv)
    # -E: read every page again, so that a warning in a page that did not change still fails.
    build = [venv_python(venv), "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html"]
    code = run([*build, *args, DOCS, DOCS_HTML], env=env, check=False)
    if code != 0:
        say(f"the docs build failed (exit {code}); the examples were not run")
        return code
    say(f"docs built: {(DOCS_HTML / 'index.html').relative_to(ROOT)}")
    pytest = [venv_python(venv), "-m", "pytest", "-q", "-p", "no:cacheprovider", *DOCS_TESTS]
    return run(pytest, env=env, check=False)


def _manage(venv: Path, *args: str) -> list:
    return [venv_python(venv), MANAGE, *args]


def cmd_demo(args: list[str]) -> int:
    if not MANAGE.exists():
        die(f"{MANAGE.relative_to(ROOT)} is missing")
    extras = ["demo", *_db_extras("DATABASE_URL")]
    venv = ensure_venv(extras)
    env = venv_env(venv)

    run(_manage(venv, "migrate", "--noinput"), env=env)

    commands = subprocess.run(
        [str(c) for c in _manage(venv, "help", "--commands")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seeded = False
    if "seed_demo" in commands.stdout.split():
        run(_manage(venv, "seed_demo"), env=env)
        seeded = True
    else:
        say("no seed_demo command yet: skipping demo data")

    addr = args[0] if args and not args[0].startswith("-") else DEMO_ADDR
    extra = args[1:] if args and not args[0].startswith("-") else args
    host, _, port = addr.rpartition(":")
    host = host or "127.0.0.1"
    if host in ("0.0.0.0", "", "::", "[::]"):
        host = "127.0.0.1"
    base = f"http://{host}:{port or '8000'}"
    login = (
        f"{DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}"
        if seeded
        else f"create one with: {venv_python(venv)} {MANAGE} createsuperuser"
    )
    database = _redact(os.environ.get("DATABASE_URL", "")) or "SQLite (example_project/db.sqlite3)"
    redis = _redact(os.environ.get("REDIS_URL", "")) or "in-process fakeredis (nothing to install)"
    print(
        "\n"
        "  ----------------------------------------------------------------\n"
        f"   Demo shop:   {base}/\n"
        f"   A product:   {base}/products/laptop/    (change its price in the admin)\n"
        f"   Its API:     {base}/api/products/laptop/\n"
        f"   A typo:      {base}/news/summer-sale/   (fix it in the admin)\n"
        f"   Admin:       {base}/admin/    login: {login}\n"
        "   The tour:    docs/tutorial/demo-tour.md\n"
        f"   Database:    {database}\n"
        f"   Redis:       {redis}\n"
        "   Stop with Ctrl-C.\n"
        "  ----------------------------------------------------------------\n",
        flush=True,
    )
    cmd = _manage(venv, "runserver", addr, *extra)
    show_cmd(cmd)
    os.chdir(ROOT)
    os.execve(str(cmd[0]), [str(c) for c in cmd], env)
    return 0  # unreachable


def cmd_bench(args: list[str]) -> int:
    """The benchmark suite (bench/run.py): MariaDB, Redis (databases 9 and 10), gunicorn, wrk."""
    venv = ensure_venv(["bench"])
    env = venv_env(venv)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return run([venv_python(venv), "-m", "bench.run", *args], env=env, check=False)


COMMANDS = {
    "demo": cmd_demo,
    "test": cmd_test,
    "lint": cmd_lint,
    "fmt": cmd_fmt,
    "docs": cmd_docs,
    "bench": cmd_bench,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    name, args = argv[0], argv[1:]
    if name not in COMMANDS:
        print(__doc__, file=sys.stderr)
        die(f"unknown command {name!r}; expected one of: {', '.join(COMMANDS)}", 2)
    return COMMANDS[name](args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
