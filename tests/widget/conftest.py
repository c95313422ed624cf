"""Fixtures of the chat widget's browser tests: headless Chromium at desktop
(`driver`) and phone (`phone`) size, with a screenshot per test to
tests/artifacts/screenshots/<test name>.png, and the check that Rasa runs the
widget's socket.io channel (`widget_channel_configured`, which the browser test
modules use through `pytest.mark.usefixtures`).

Selenium and the helpers are imported inside the fixtures: tests/widget/browser_helpers.py
skips when Chromium is missing, which must not affect the tests here that need no browser.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from clinic_bot.launcher import Stack

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


# --------------------------------------------------------------- browser ---
def _driver_fixture(request: pytest.FixtureRequest, width: int, height: int, mobile: bool) -> Iterator[WebDriver]:
    from tests.widget.browser_helpers import SCREENSHOTS, start_chromium

    profile_dir = tempfile.mkdtemp(prefix="widget-chromium-")
    driver = start_chromium(profile_dir, width, height, mobile)
    try:
        yield driver
    finally:
        try:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))
        finally:
            driver.quit()
            shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture
def driver(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    yield from _driver_fixture(request, 1280, 900, mobile=False)


@pytest.fixture
def phone(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    yield from _driver_fixture(request, 375, 740, mobile=True)


@pytest.fixture
def widget_channel_configured(stack: Stack) -> None:
    """Fail fast, with the fix, when Rasa runs the stock socket.io channel (the widget then gets no replies)."""
    rasa = next(svc for svc in stack.services if svc.name == "rasa server")
    credentials = Path(rasa.argv[rasa.argv.index("--credentials") + 1]).read_text()
    if "widget.rasa_channel.WidgetSocketIOInput" not in credentials:
        pytest.fail(
            "credentials.yml configures Rasa's stock `socketio` channel. With python-socketio 5.18 it never "
            "delivers replies to a session (enter_room is not awaited) and it fails on red-flag messages' `custom`. "
            "Replace the `socketio:` key with `widget.rasa_channel.WidgetSocketIOInput:` (docs/widget.md)."
        )
