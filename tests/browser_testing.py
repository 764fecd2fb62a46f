"""Headless Chromium for the browser tests (imported by name: tests/conftest.py puts this folder on
sys.path): Debian's chromium driven by Playwright (never `playwright install`)."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT_MS = 120_000       # MLflow's UI is a large single-page app; the machine's 2 cores are shared


def chromium_page(artifacts: Path, width: int = 1500, height: int = 950) -> Iterator[Any]:
    """Body of a `page` fixture: one Chromium page (skips when Playwright or chromium is missing)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (see constraints.txt)")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (scripts/install_stack.sh installs it)")
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": width, "height": height})
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        yield pg
        browser.close()


def close_assistant(pg: Any) -> None:
    """MLflow 3's assistant panel takes a third of the screen on a first visit; close it when it is there."""
    button = pg.locator("button[aria-label='Close']")
    if button.count():
        try:
            button.first.click(timeout=3000)
        except Exception:  # noqa: BLE001 - not clickable: the screenshots are only narrower
            pass
