"""Shared helpers of the chat widget's browser tests (test_widget_browser_*.py):
Chromium start-up, waiting for the chat, reading and driving the widget.

Importing this module skips the importing test module when Chromium or chromedriver
is missing (as the browser tests always have). The `driver` and `phone` fixtures
that use `start_chromium` are in conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

from tests.browser import CHROMEDRIVER, CHROMIUM, chromium_options

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
REPLY_TIMEOUT = 90  # seconds; the first turn after start-up is the slowest

REST_QUESTION = "should I rest with facet joint pain?"
REST_ANSWER = "Complete rest usually isn't helpful"  # domain/faq.yml utter_faq/should_i_rest

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package 'chromium')", allow_module_level=True)
if not CHROMEDRIVER.exists():
    pytest.skip(f"browser tests need chromedriver at {CHROMEDRIVER} (Debian package 'chromium-driver')", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


# --------------------------------------------------------------- browser ---
def start_chromium(profile_dir: str, width: int, height: int, mobile: bool = False) -> WebDriver:
    opts = chromium_options(profile_dir, width, height, "--lang=en-GB")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    if mobile:
        driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    return driver


# ------------------------------------------------------------- helpers ---
def wait(driver: WebDriver, timeout: float = REPLY_TIMEOUT) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.2)


def log_text(driver: WebDriver) -> str:
    return driver.execute_script("var l = document.querySelector('.rsw-log'); return l ? l.textContent : '';")


def bot_messages(driver: WebDriver) -> List[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot")


def wait_for_log(driver: WebDriver, text: str, timeout: float = REPLY_TIMEOUT) -> None:
    try:
        wait(driver, timeout).until(lambda d: text.lower() in log_text(d).lower())
    except TimeoutException:
        raise AssertionError(f"{text!r} did not appear in the chat within {timeout}s; the chat shows:\n{log_text(driver)}") from None


def open_widget(driver: WebDriver, url: str) -> None:
    driver.get(url)
    launcher = wait(driver, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-launcher"))
    launcher.click()
    wait(driver, 10).until(lambda d: d.find_element(By.ID, "rsw-panel").is_displayed())


def wait_for_greeting(driver: WebDriver) -> None:
    """On a new conversation the widget sends /greet: disclaimer, then the greeting with buttons."""
    try:
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-choice:not([disabled])"))
    except TimeoutException:
        raise AssertionError(f"no greeting buttons; the chat shows:\n{log_text(driver)}") from None


def send_with_button(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "rsw-input")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, ".rsw-send").click()


def ask_the_usual_question(driver: WebDriver, url: str) -> None:
    """Open the widget on `url`, wait for the greeting, ask REST_QUESTION and wait for its answer."""
    open_widget(driver, url)
    wait_for_greeting(driver)
    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)


def stored_state(driver: WebDriver) -> dict:
    raw = driver.execute_script(
        "for (var i = 0; i < localStorage.length; i++) { var k = localStorage.key(i);"
        " if (k.indexOf('clinic-chat:') === 0) return localStorage.getItem(k); } return null;"
    )
    assert raw, "the widget stored nothing in localStorage"
    return json.loads(raw)


def active_element_matches(driver: WebDriver, selector: str) -> bool:
    return driver.execute_script("return !!document.activeElement && document.activeElement.matches(arguments[0]);", selector)
