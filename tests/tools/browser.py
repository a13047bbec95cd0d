"""Debian's headless Chromium driven by Playwright (never a downloaded browser), for the page tests.

Tests that use it carry `BROWSER_MARKS`: they are skipped when /usr/bin/chromium is missing on a
developer's machine, and fail in CI (CI=true), where the browser must be there.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="/usr/bin/chromium is missing (apt-get install chromium); required when CI is set",
    ),
]


@contextlib.asynccontextmanager
async def launch_chromium() -> AsyncIterator[Any]:
    """A headless Chromium browser, closed afterwards."""
    playwright_api = pytest.importorskip("playwright.async_api")
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing but CI is set: browser tests must run in CI")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()
