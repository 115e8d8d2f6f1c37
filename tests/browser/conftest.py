"""Real headless Chromium for the browser tests (Debian's chromium, driven by Playwright)."""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import connections

# Outside the checkout (the suite writes nothing there); CONSULT_SCREENSHOTS keeps them elsewhere.
SCREENSHOTS = Path(
    os.environ.get("CONSULT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "consult-screenshots"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path():
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if path is None:
        message = "Chromium is not installed (Debian package chromium; scripts/system-deps)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls made here
    # between browser steps are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            # While Playwright's loop runs in this thread, Django keeps the thread's
            # connections per asyncio context (asgiref's Local): the ones the test opened are
            # not the thread's own, which Django's test teardown closes. Closed here, or each
            # stays open to the end of the run (only ending it lets the test database be
            # dropped).
            try:
                connections.close_all()
            finally:
                browser.close()


@pytest.fixture
def page(browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def console(message):
        # A form answered with 400 is the page working as designed; anything else is not.
        if message.type == "error" and "status of 400" not in message.text:
            errors.append(message.text)

    page.on("console", console)
    page.on(
        "response",
        lambda response: response.status == 404 and errors.append(f"404 {response.url}"),
    )
    yield page
    context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def axe_findings(page, name: str) -> list[str]:
    """axe-core's violations on the page as it stands (its default rules: WCAG 2 A/AA and best
    practices), one line each; the screenshot and the full JSON are kept as axe-NAME.*."""
    from axe_playwright_python.sync_playwright import Axe

    # No preload: it parses stylesheets only for css-orientation-lock, an experimental rule
    # the default run leaves out, and axe 4.12.1 fetches an @import (the admin's forms.css
    # imports widgets.css) from the page's URL instead of the stylesheet's and builds an inline
    # <style> of the answer, which the CSP refuses and the page would be blamed for
    # (dequelabs/axe-core#5268).
    options = {"resultTypes": ["violations"], "preload": False}
    violations = Axe().run(page, options=options).response["violations"]
    page.screenshot(path=SCREENSHOTS / f"axe-{name}.png", full_page=True)
    (SCREENSHOTS / f"axe-{name}.json").write_text(
        json.dumps(violations, ensure_ascii=False, indent=1)
    )
    return [
        f"{name}: {v['id']} [{v['impact']}] {[node['target'] for node in v['nodes']]} {v['help']}"
        for v in violations
    ]
