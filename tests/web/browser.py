"""Headless Chromium (Debian's package) driven by Playwright: the browser and page fixtures
the inbox's browser tests share (registered in tests/web/conftest.py).

Chromium comes from the system (`/usr/bin/chromium`, installed by `.ci/run`); we never run
`playwright install`. Without it these tests skip locally, with the reason, and fail in CI
(`CI` set), so CI never passes by skipping them. Screenshots go to docs/img/ only with
JIRAGATE_DOC_SCREENSHOTS=1, otherwise into a temporary directory, so a test run never
changes tracked files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.service import REPO_ROOT, Service
from tests.web.helpers import PASSWORDS

CHROMIUM = os.environ.get("JIRAGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = (
    REPO_ROOT / "docs" / "img"
    if os.environ.get("JIRAGATE_DOC_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "jiragate-inbox-screenshots"
)
WAIT_MS = 30_000  # an upper bound for the page to show what the server did, not a timing


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 400, "height": 800}


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Any:
        # Deterministic pixels for the docs' screenshots: one scale, no animations' state.
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_with_the_keyboard(page: Any, service: Service, name: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{service.url}/inbox/")
    assert "/inbox/signin" in page.url
    # The name field has focus on arrival (autofocus); nothing below needs a mouse. Wait for
    # the focus itself: on a loaded machine typing can start before the browser applies it.
    expect(page.locator("#name")).to_be_focused()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[name])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{service.url}/inbox/")
    assert f"Signed in as {name}" in page.inner_text("header")


def shoot(page: Any, name: str, *, full_page: bool = False) -> None:
    """A screenshot for docs/img (under JIRAGATE_DOC_SCREENSHOTS=1; else a temp dir), the
    same on every run: times and random ids masked, no caret, no animations."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SHOTS / name),
        full_page=full_page,
        animations="disabled",
        caret="hide",
        mask=[page.locator("time"), page.locator(".crumbs .muted"), page.locator("#queue-updated")],
        mask_color="#dde1e8",
    )
