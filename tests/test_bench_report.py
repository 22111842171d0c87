"""bench/report.py still finds its blocks: the full results on the docs' Benchmarks page and
the summary with the chart in the README (a benchmark run rewrites both)."""

from __future__ import annotations

import shutil

import pytest

# bench/ is in the repository, not in the sdist.
report = pytest.importorskip("bench.report", reason="bench/ is not here (an sdist)")


def test_the_readme_and_the_docs_page_carry_the_bench_markers():
    readme = report.README.read_text()
    page = report.DOCS_PAGE.read_text()
    assert report.SUMMARY_BEGIN in readme and report.SUMMARY_END in readme
    assert report.BEGIN in page and report.END in page
    assert report.BEGIN not in readme, "the full results live on the docs page, not the README"


def test_a_rebuild_rewrites_both_blocks_from_the_latest_results(tmp_path):
    readme, page = tmp_path / "README.md", tmp_path / "benchmarks.md"
    shutil.copy(report.README, readme)
    shutil.copy(report.DOCS_PAGE, page)
    date, loaded = report.load()
    chart = f"{date}-throughput.png"

    updated = report.update_docs(loaded["results"], chart, loaded["summary"], readme, page)

    assert len(updated) == 2, updated
    summary = readme.read_text().split(report.SUMMARY_BEGIN)[1].split(report.SUMMARY_END)[0]
    assert f"](bench/results/{chart})" in summary, "the README shows the chart"
    assert "req/s" in summary and "docs/explanation/benchmarks.md" in summary
    full = page.read_text().split(report.BEGIN)[1].split(report.END)[0]
    assert f"](../../bench/results/{chart})" in full, "the chart path is relative to the page"
    assert "| Target | Goal | Measured | Met |" in full
    assert "Execute wrapper, per SELECT" in full, "the wrapper results are loaded too"
    # Text outside the markers is kept.
    assert readme.read_text().startswith("# django-smartcache")
    assert page.read_text().startswith("# Benchmarks")
