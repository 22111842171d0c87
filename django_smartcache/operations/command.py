"""``manage.py smartcache purge|stats|warm``: purge, inspect and warm the smart cache."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ..core.tags import row_bump_tags
from ..invalidation.bumps import bump, invalidate, invalidate_all
from ..invalidation.purge import invalidate_url, model_from_label
from ..invalidation.tracking import track
from . import overview
from .warm import Fetcher, Result, absolute, default_host, sitemap_path, sitemap_urls


class Command(BaseCommand):
    help = "Purge, inspect and warm the smart cache (django_smartcache)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{purge,stats,warm}")

        purge = sub.add_parser("purge", help="Make cached entries stale (one version bump).")
        what = purge.add_mutually_exclusive_group(required=True)
        what.add_argument("--all", action="store_true", help="everything this app stored")
        what.add_argument("--model", metavar="APP_LABEL.MODEL", help="entries on a model")
        what.add_argument("--url", metavar="URL", help="every cached variant of a URL path")
        what.add_argument("--tag", metavar="TAG", help="entries declared depends_on=[TAG]")
        purge.add_argument(
            "--pk",
            action="append",
            metavar="PK",
            help="with --model: only entries on these rows (repeat for several)",
        )

        sub.add_parser("stats", help="Tracked models, cached views and functions, hit counts.")

        warm = sub.add_parser("warm", help="Request URLs so that their pages are cached.")
        warm.add_argument("urls", nargs="*", metavar="URL", help="paths or full URLs")
        warm.add_argument(
            "--sitemap",
            nargs="?",
            const="",
            metavar="URL",
            help="also every URL of the sitemap (default: the one django.contrib.sitemaps serves)",
        )
        warm.add_argument("--host", help="host for paths (default: the Site, or ALLOWED_HOSTS)")
        warm.add_argument("--https", action="store_true", help="request paths over https")
        warm.add_argument(
            "--http",
            action="store_true",
            help="fetch from a running server over HTTP instead of through Django's test client",
        )
        warm.add_argument("--timeout", type=float, default=30.0, help="seconds, with --http")
        warm.add_argument(  # also after the subcommand: `smartcache warm URL -v 2`
            "-v",
            "--verbosity",
            type=int,
            choices=[0, 1, 2, 3],
            default=argparse.SUPPRESS,
            help="2 or more: one line per URL",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"handle_{options['subcommand']}")(options)

    # ----------------------------------------------------------------- purge

    def handle_purge(self, options: dict[str, Any]) -> None:
        if options["pk"] and not options["model"]:
            raise CommandError("--pk needs --model, e.g. --model shop.Product --pk 42.")
        if options["all"]:
            invalidate_all()
            done = "everything in the smart cache"
        elif options["model"]:
            done = self._purge_model(options["model"], options["pk"])
        elif options["url"]:
            try:
                done = f"every cached variant of {invalidate_url(options['url'])}"
            except ValueError as exc:
                raise CommandError(f"--url: {exc}") from None
        else:
            tag = options["tag"].strip()
            if not tag:
                raise CommandError("--tag needs a non-empty tag.")
            try:
                invalidate(tag)
            except (TypeError, ValueError) as exc:
                raise CommandError(f"--tag: {exc}") from None
            done = f"entries tagged {tag!r}"
        self.stdout.write(self.style.SUCCESS(f"Purged {done}."))

    def _purge_model(self, label: str, pks: list[str] | None) -> str:
        try:
            model = model_from_label(label)
        except LookupError as exc:
            raise CommandError(f"--model: {exc}") from None
        if not pks:
            invalidate(model)
            return f"the cache for {model._meta.verbose_name_plural} ({model._meta.label})"
        field = model._meta.pk
        try:
            values = [field.to_python(pk) for pk in pks]
        except ValidationError as exc:
            raise CommandError(f"--pk: {' '.join(exc.messages)}") from None
        track([model])
        bump(row_bump_tags(model, values))  # as if saved: the rows need not exist any more
        shown = ", ".join(str(v) for v in values)
        return f"the cache for {model._meta.label} rows {shown}"

    # ----------------------------------------------------------------- stats

    def handle_stats(self, options: dict[str, Any]) -> None:
        data = overview.collect()
        for error in data.errors:
            self.stderr.write(self.style.WARNING(error))
        now = timezone.now()

        def ago(when: Any) -> str:
            if when is None:
                return "-"
            return f"{when:%Y-%m-%d %H:%M:%S} UTC ({int((now - when).total_seconds())} s ago)"

        self.stdout.write(f"Everything last purged: {ago(data.purged_all)}\n")
        self.stdout.write(self.style.MIGRATE_HEADING("Tracked models"))
        rows = [
            [
                row.label,
                ago(row.last_invalidated),
                ", ".join(f"{d.name} ({d.how_text})" for d in row.dependants) or "-",
            ]
            for row in data.models
        ]
        self._table(["Model", "Last invalidated", "Depended on by"], rows)
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Cached views and functions"))
        rows = [
            [e.name, e.kind, e.alias or "-", e.hit, e.miss, e.stale, e.bypass, e.invalidated]
            + [e.ratio_text]
            for e in data.entries
        ]
        headers = ["Name", "Kind", "Cache", "Hits", "Misses", "Stale", "Bypass", "Invalidated"]
        self._table([*headers, "Hit ratio"], rows, numeric=range(3, 9))
        if data.local:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING("Local tier (per process, as flushed)"))
            rows = [[r.process, r.hits, r.evictions, r.bytes] for r in data.local]
            self._table(["Process", "Local hits", "Evictions", "Bytes"], rows, numeric=(1, 2, 3))
        if data.churning:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING("Invalidated more often than served"))
            for e in data.churning:
                assert e.churn is not None
                self.stdout.write(self.style.WARNING(f"  {e.name} ({e.kind}): {e.churn.message}."))
                self.stdout.write(f"    {e.churn.hint}")

    def _table(self, headers: list[str], rows: list[list[Any]], numeric: Any = ()) -> None:
        if not rows:
            self.stdout.write("  (none)")
            return
        cells = [[str(c) for c in row] for row in [headers, *rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for n, row in enumerate(cells):
            line = "  ".join(
                c.rjust(w) if i in numeric else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            self.stdout.write("  " + line.rstrip())
            if n == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))

    # ----------------------------------------------------------------- warm

    def handle_warm(self, options: dict[str, Any]) -> None:
        if not options["urls"] and options["sitemap"] is None:
            raise CommandError("Give URLs to warm, or --sitemap.")
        scheme = "https" if options["https"] else "http"
        base = f"{scheme}://{options['host'] or default_host()}"
        fetcher = Fetcher(http=options["http"], timeout=options["timeout"])
        try:
            urls = [absolute(url, base) for url in options["urls"]]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["sitemap"] is not None:
            urls += self._sitemap(options["sitemap"], base, fetcher)
        urls = list(dict.fromkeys(urls))
        started = time.monotonic()
        results = []
        for n, url in enumerate(urls, 1):
            result, _ = fetcher.get(url)
            results.append(result)
            self._progress(n, len(urls), result, options["verbosity"])
        self._summary(results, time.monotonic() - started)

    def _sitemap(self, location: str, base: str, fetcher: Fetcher) -> list[str]:
        if not location:
            if not apps.is_installed("django.contrib.sitemaps"):
                raise CommandError(
                    "--sitemap without a URL needs django.contrib.sitemaps in INSTALLED_APPS; "
                    "or give the sitemap's URL: --sitemap /sitemap.xml"
                )
            try:
                location = sitemap_path()
            except LookupError as exc:
                raise CommandError(
                    f"--sitemap: {exc}; give its URL: --sitemap /sitemap.xml"
                ) from None
        try:
            found = sitemap_urls(absolute(location, base), fetcher.get)
        except (LookupError, ValueError) as exc:
            raise CommandError(f"--sitemap: {exc}") from None
        if not found:
            raise CommandError(f"--sitemap: the sitemap {location} lists no URLs.")
        return found

    def _progress(self, n: int, total: int, result: Result, verbosity: int) -> None:
        outcome = result.error or f"{result.status} {result.cache or '-'}"
        if self.stdout.isatty() and verbosity < 2:
            bar = "#" * (20 * n // total)
            self.stdout.write(f"\r[{bar:<20}] {n}/{total} {outcome:<12}", ending="")
            if n == total:
                self.stdout.write("")
        elif verbosity >= 2 or result.failed:
            self.stdout.write(f"[{n}/{total}] {outcome:<12} {result.url}")

    def _summary(self, results: list[Result], seconds: float) -> None:
        caches = Counter(r.cache or "no header" for r in results if not r.failed)
        failed = [r for r in results if r.failed]
        parts = [f"{caches.pop(name, 0)} {name}" for name in ("HIT", "MISS", "BYPASS")]
        parts += [f"{count} {name}" for name, count in sorted(caches.items())]
        parts.append(f"{len(failed)} error{'s' if len(failed) != 1 else ''}")
        urls = "URL" if len(results) == 1 else "URLs"
        line = f"Warmed {len(results)} {urls} in {seconds:.1f} s: {', '.join(parts)}."
        if failed:
            for result in failed:
                self.stderr.write(f"  {result.url}: {result.error or f'HTTP {result.status}'}")
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))
