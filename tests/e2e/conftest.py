"""Browser tests: headless Chromium (Debian's, not a Playwright download) against pytest-django's live server.

Run them with `pytest -m browser`. Screenshots go to test-artifacts/ at the repo root (git-ignored).
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; without this, every ORM call made by
# the test body or its fixtures raises SynchronousOnlyOperation. The server runs in its own thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        # A missing browser must fail the suite, not quietly skip the end-to-end test.
        pytest.fail(f"No Chromium at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM_PATH)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


@pytest.fixture
def screenshot(page):
    """`screenshot("01-login")` saves the whole page as test-artifacts/01-login.png."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS_DIR / f"{name}.png"
        # From the top (a full-page shot of a scrolled page draws the sticky top bar mid-page), no hover.
        page.evaluate("window.scrollTo(0, 0)")
        page.mouse.move(0, 0)
        page.screenshot(path=path, full_page=True)
        return path

    return take
