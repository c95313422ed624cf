"""The website chat widget, end to end in headless Chromium against the real
servers of the session `stack` (demo site + widget, Rasa, action server):
accessibility. A phone-sized screen (full-screen panel, no sideways overflow,
44 px touch targets), keyboard-only use (focus, Enter/Escape/Space, markup typed
by a person shown as text, safe links) and the accessible structure (dialog, log,
labels, who wrote each message).

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from clinic_bot.launcher import Stack
from tests.widget.browser_helpers import (
    REST_ANSWER,
    REST_QUESTION,
    active_element_matches,
    bot_messages,
    open_widget,
    send_with_button,
    wait,
    wait_for_greeting,
    wait_for_log,
)

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.usefixtures("widget_channel_configured")]


# --------------------------------------------------------------- tests ---
def test_phone_sized_screen(stack: Stack, phone: WebDriver) -> None:
    open_widget(phone, stack.widget_url + "/")
    panel = phone.find_element(By.ID, "rsw-panel")
    rect = panel.rect
    assert (rect["x"], rect["y"], rect["width"], rect["height"]) == (0, 0, 375, 740), f"panel is {rect}, not full screen"
    assert not phone.find_element(By.CSS_SELECTOR, ".rsw-launcher").is_displayed()

    wait_for_greeting(phone)
    send_with_button(phone, REST_QUESTION)
    wait_for_log(phone, REST_ANSWER)
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 375
    overflow = phone.execute_script("var l = document.querySelector('.rsw-log'); return l.scrollWidth - l.clientWidth;")
    assert overflow <= 0, "messages overflow sideways"
    for button in phone.find_elements(By.CSS_SELECTOR, ".rsw-panel button"):
        if button.is_displayed():
            assert button.size["height"] >= 44 and button.size["width"] >= 44, f"small touch target: {button.get_attribute('outerHTML')[:80]}"

    phone.find_element(By.CSS_SELECTOR, ".rsw-close").click()
    assert not panel.is_displayed()
    assert phone.find_element(By.CSS_SELECTOR, ".rsw-launcher").is_displayed()
    phone.find_element(By.CSS_SELECTOR, ".rsw-launcher").click()  # reopen for the screenshot
    wait_for_log(phone, REST_ANSWER, timeout=5)


def test_keyboard_only(stack: Stack, driver: WebDriver) -> None:
    driver.get(stack.widget_url + "/")
    wait(driver, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-launcher"))
    keys = ActionChains(driver)
    for _ in range(40):
        if active_element_matches(driver, ".rsw-launcher"):
            break
        keys.send_keys(Keys.TAB).perform()
    else:
        raise AssertionError("the chat button cannot be reached with Tab")
    launcher = driver.find_element(By.CSS_SELECTOR, ".rsw-launcher")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert launcher.value_of_css_property("outline-style") == "solid", "no visible focus on the chat button"

    keys.send_keys(Keys.ENTER).perform()
    wait(driver, 10).until(lambda d: active_element_matches(d, "#rsw-input"))
    assert launcher.get_attribute("aria-expanded") == "true"
    wait_for_greeting(driver)

    keys.send_keys("is facet joint pain serious?", Keys.ENTER).perform()
    wait_for_log(driver, "rarely serious or dangerous")
    assert active_element_matches(driver, "#rsw-input"), "focus stays in the message box after sending"

    # markup typed by a person is shown as text, never parsed
    count = len(bot_messages(driver))
    keys.send_keys('<img src=x onerror="window.__xss=1"><b>bold</b>', Keys.ENTER).perform()
    wait_for_log(driver, "<b>bold</b>")
    assert not driver.find_elements(By.CSS_SELECTOR, ".rsw-log img, .rsw-log b")
    assert driver.execute_script("return window.__xss === undefined")
    wait(driver).until(lambda d: len(bot_messages(d)) > count)  # the reply to it, before the next question

    # links in bot text are safe links
    keys.send_keys("how do I book an appointment?", Keys.ENTER).perform()
    wait_for_log(driver, "book online at")
    link = driver.find_element(By.CSS_SELECTOR, ".rsw-log a[href='https://riverside-physio.example/book']")
    assert link.get_attribute("target") == "_blank"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert link.text.startswith("https://riverside-physio.example/book")

    keys.send_keys(Keys.ESCAPE).perform()
    wait(driver, 5).until(lambda d: not d.find_element(By.ID, "rsw-panel").is_displayed())
    assert active_element_matches(driver, ".rsw-launcher"), "closing the chat returns focus to the chat button"
    keys.send_keys(Keys.SPACE).perform()
    wait(driver, 5).until(lambda d: d.find_element(By.ID, "rsw-panel").is_displayed())


def test_accessible_structure(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    panel = driver.find_element(By.ID, "rsw-panel")
    assert panel.get_attribute("role") == "dialog"
    assert driver.find_element(By.ID, panel.get_attribute("aria-labelledby")).text == "Riverside Physio assistant"
    log = driver.find_element(By.CSS_SELECTOR, ".rsw-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    box = driver.find_element(By.ID, "rsw-input")
    assert driver.find_element(By.CSS_SELECTOR, "label[for='rsw-input']").get_attribute("textContent").strip()
    for button in driver.find_elements(By.CSS_SELECTOR, "#rsw-root button"):
        name = (button.get_attribute("aria-label") or button.get_attribute("textContent") or "").strip()
        assert name, f"unlabelled button: {button.get_attribute('outerHTML')[:120]}"
    assert box.get_attribute("type") == "text"
    # each message says who wrote it, for screen readers
    first = driver.find_element(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot .rsw-sr")
    assert first.get_attribute("textContent") == "Assistant: "
