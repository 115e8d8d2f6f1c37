"""Real headless Chromium for the browser tests (Debian's chromium, driven by Playwright)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

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
        yield browser
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
