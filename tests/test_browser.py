"""The admin purge flow in a real headless Chromium, driven by Playwright.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright``
package (never ``playwright install``: the system browser is used). Without
them the test skips, which ``SMARTCACHE_REQUIRE_SERVICES=1`` turns into a
failure. The browser runs in a worker thread: Playwright's sync API runs an
event loop, and Django refuses database access from a thread with one.

``SMARTCACHE_SCREENSHOTS=docs`` also saves the docs' screenshots there.
"""

from __future__ import annotations

import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from tests.admin_users import PASSWORD, make_user
from tests.testapp.models import Category, Product

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class CannotLaunch(Exception):
    """Chromium or Playwright is not available here."""


def cache_status(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the live server
        return response.headers.get("X-Smartcache", "")


def in_browser(steps, *args):
    """Run ``steps(browser, *args)`` in a worker thread with a fresh headless Chromium."""

    def run():
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise CannotLaunch(f"playwright is not installed ({exc})") from exc
        if not Path(CHROMIUM).exists():
            raise CannotLaunch(f"{CHROMIUM} is missing: apt-get install chromium")
        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            except Exception as exc:
                raise CannotLaunch(f"Chromium did not start: {exc}") from exc
            try:
                return steps(browser, *args)
            finally:
                browser.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(run).result(timeout=240)
        except CannotLaunch as exc:
            pytest.skip(str(exc))


def log_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(20_000)
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Site administration" in page.title()
    return page


def purger_flow(browser, base: str, shots: list[Path]) -> list[str]:
    """Row action, then purge everything through the Smart cache page; returns what it saw."""
    seen = []
    page = log_in(browser, base, "admin")

    page.goto(f"{base}/admin/testapp/product/")
    page.locator("#result_list tr", has_text="Laptop").locator("input.action-select").check()
    page.select_option("select[name=action]", "smartcache_purge_selected")
    for folder in shots:
        page.screenshot(path=str(folder / "admin-purge-action.png"))
    page.click("button[name=index]")
    seen.append(page.locator(".messagelist .success").inner_text())
    seen.append(cache_status(f"{base}/products/laptop/"))  # purged: recomputed
    seen.append(cache_status(f"{base}/products/phone/"))  # another row: still cached

    page.goto(f"{base}/admin/")
    page.locator(".app-django_smartcache a", has_text="Smart cache").last.click()
    page.wait_for_selector("#smartcache-models")
    seen.append(page.locator("h1").inner_text())
    seen.append(
        page.locator("#smartcache-entries tr[data-name='tests.views.catalog']").inner_text()
    )
    for folder in shots:
        page.screenshot(path=str(folder / "admin-smart-cache.png"), full_page=True)
    page.click("#smartcache-purge-all")
    seen.append(page.locator("#content h1").inner_text())
    seen.append(cache_status(f"{base}/products/phone/"))  # the confirmation purged nothing
    page.click("input[type=submit][value='Yes, purge']")
    seen.append(page.locator(".messagelist .success").inner_text())
    seen.append(cache_status(f"{base}/products/phone/"))
    return seen


def staff_flow(browser, base: str) -> list[str]:
    """A staff user without the permission: no action, no page link, 403 on the page."""
    page = log_in(browser, base, "staff")
    seen = [str("Smart cache" in page.locator("#content-main").inner_text())]
    page.goto(f"{base}/admin/testapp/product/")
    options = page.locator("select[name=action] option").all_inner_texts()
    seen.append(" | ".join(options[1:]))  # after the blank choice
    response = page.goto(f"{base}/admin/django_smartcache/cachecontrol/")
    seen.append(str(response.status))
    return seen


@pytest.mark.django_db(transaction=True)
def test_admin_purge_flow_in_chromium(live_server, tmp_path):
    category = Category.objects.create(name="Computers", slug="computers")
    for name, price in (("Laptop", "999.00"), ("Phone", "499.00")):
        Product.objects.create(
            name=name, slug=name.lower(), price=Decimal(price), category=category
        )
    make_user("admin", purge=True, superuser=True)
    make_user("staff", purge=False)
    base = live_server.url
    for url in ("/catalog/", "/products/laptop/", "/products/phone/"):
        cache_status(base + url)
        assert cache_status(base + url) == "HIT"
    shots = [tmp_path]
    if os.environ.get("SMARTCACHE_SCREENSHOTS"):
        shots.append(Path(os.environ["SMARTCACHE_SCREENSHOTS"]))

    seen = in_browser(purger_flow, base, shots)

    assert seen[:3] == ["Purged the cache for 1 product.", "MISS", "HIT"]
    assert seen[3] == "Smart cache"
    # name, kind, cache, hits, misses, stale, bypass, invalidated, hit ratio
    assert seen[4].split() == [
        "tests.views.catalog",
        "view",
        "default",
        "1",
        "1",
        "0",
        "0",
        "0",
        "50%",
    ]
    assert seen[5:] == [
        "Are you sure?",
        "HIT",
        "Purged everything in the smart cache.",
        "MISS",
    ]
    assert (tmp_path / "admin-purge-action.png").stat().st_size > 10_000
    assert (tmp_path / "admin-smart-cache.png").stat().st_size > 10_000

    staff_saw = in_browser(staff_flow, base)
    assert staff_saw == ["False", "Delete selected products", "403"]
