"""The report in a real headless browser (Debian's chromium driven by Playwright): it renders
without console errors, page errors or network requests, and a screenshot is kept as a test
artifact: ``report.png`` in ``$AGENTFLAN_TEST_ARTIFACTS`` when set (CI keeps that folder), else in
pytest's temporary folder — never in the repository.

Chromium is installed with apt when absent and possible (root, apt-get); otherwise the test
skips with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentflan.io import atomic_path
from agentflan.report.html import write_report
from quickstart_run import shared_quickstart

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def _artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("AGENTFLAN_TEST_ARTIFACTS")
    return (Path(folder) if folder else tmp_path_factory.getbasetemp() / "artifacts") / "report.png"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            try:
                subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=900)
            except (subprocess.SubprocessError, OSError) as exc:
                _unavailable(f"chromium is not installed and `{' '.join(cmd)}` failed: {exc}")
        found = shutil.which("chromium")
    if not found:
        _unavailable("chromium is not installed (apt-get install chromium needs root and Debian's mirrors)")
    return str(found)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def _load(context: Any, path: Path) -> tuple[Any, list[str]]:
    """Open a local page; every console error, page error and request that is not local is a problem."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "assert") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: None if r.url.startswith(("file://", "data:")) else problems.append(f"network: {r.url}"))
    page.goto(path.as_uri(), wait_until="load")
    return page, problems


def test_browser_reports_console_errors(browser: Any, tmp_path: Path) -> None:
    """The harness itself: a page that logs an error and throws must be caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><title>x</title><script>console.error('boom'); undefinedCall();</script>", encoding="utf-8")
    page, problems = _load(browser, bad)
    page.close()
    assert any("boom" in p for p in problems) and any("page error" in p for p in problems)


@pytest.mark.slow
def test_report_renders_without_console_errors(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    ablation = shared_quickstart(tmp_path_factory)
    report = write_report([ablation], tmp_path_factory.mktemp("browser") / "report.html", title="agentflan quickstart")
    page, problems = _load(browser, report)
    try:
        assert page.title() == "agentflan quickstart"
        svgs = page.locator("figure.plot svg")
        assert svgs.count() >= 12
        box = svgs.first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100  # the plots are laid out, not collapsed
        artifact = _artifact(tmp_path_factory)
        artifact.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(artifact) as tmp:
            page.screenshot(path=str(tmp), type="png", full_page=True)
    finally:
        page.close()
    assert not problems, problems
    assert artifact.stat().st_size > 50_000
