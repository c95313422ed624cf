"""The website chat widget, end to end in headless Chromium against the real
servers of the session `stack` (demo site + widget, Rasa, action server):
conversation basics. A FAQ question gets its answer, a greeting button sends its
payload, an answer offers "Tell me more" and a person, and a staff reply from the
console reaches the open page.

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

from typing import List

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from clinic_bot.launcher import Stack
from tests.conftest import rasa_api
from tests.widget.browser_helpers import (
    REST_ANSWER,
    REST_QUESTION,
    active_element_matches,
    ask_the_usual_question,
    bot_messages,
    log_text,
    open_widget,
    send_with_button,
    stored_state,
    wait_for_greeting,
    wait_for_log,
)

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.usefixtures("widget_channel_configured")]


def console_errors(driver: WebDriver) -> List[str]:
    ignored = ("favicon.ico", ".map")
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and not any(i in e["message"] for i in ignored)]


def watch_typing_indicator(driver: WebDriver) -> None:
    driver.execute_script(
        "window.__typingSeen = false; var t = document.querySelector('.rsw-typing');"
        "new MutationObserver(function () { if (t.classList.contains('rsw-typing-on')) window.__typingSeen = true; })"
        ".observe(t, {attributes: true, attributeFilter: ['class']});"
    )


# --------------------------------------------------------------- tests ---
def test_faq_question_gets_the_answer(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    assert active_element_matches(driver, "#rsw-input"), "opening the chat should put the focus in the message box"
    wait_for_greeting(driver)
    watch_typing_indicator(driver)

    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)

    answer = bot_messages(driver)[-1].text
    assert "gentle, regular movement" in answer
    user = driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-user")
    assert user and user[-1].text.endswith(REST_QUESTION)
    assert driver.execute_script("return window.__typingSeen"), "no typing indicator while waiting for the reply"
    assert driver.find_element(By.ID, "rsw-input").get_attribute("value") == ""
    # the page's strict CSP (no inline script, connect-src = Rasa) did not block anything
    assert console_errors(driver) == []


def test_greeting_button_sends_its_payload(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    greeting_buttons = driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-choice")
    titles = [b.text for b in greeting_buttons]
    assert "Should I rest?" in titles, titles
    group = driver.find_element(By.CSS_SELECTOR, ".rsw-choices")
    assert group.get_attribute("role") == "group" and group.get_attribute("aria-label")

    greeting_buttons[titles.index("Should I rest?")].click()
    wait_for_log(driver, REST_ANSWER)

    user = driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-user")
    assert user[-1].text.endswith("Should I rest?"), "the button's title is shown as the person's message"
    assert "choose_faq" not in log_text(driver), "the payload must not be shown"
    assert all(not b.is_enabled() for b in greeting_buttons), "buttons of answered messages are disabled"
    chosen = driver.find_elements(By.CSS_SELECTOR, ".rsw-choice.rsw-chosen")
    assert [b.text for b in chosen] == ["Should I rest?"]
    assert active_element_matches(driver, "#rsw-input")


def test_an_answer_offers_tell_me_more_and_a_person(stack: Stack, driver: WebDriver) -> None:
    ask_the_usual_question(driver, stack.widget_url + "/")
    answer = [m for m in bot_messages(driver) if REST_ANSWER in m.text][-1]
    buttons = answer.find_elements(By.CSS_SELECTOR, ".rsw-choice")
    assert [b.text for b in buttons] == ["Tell me more", "Talk to a person"]
    buttons[0].click()
    wait_for_log(driver, "Moving regularly helps ease stiffness")  # domain/faq.yml should_i_rest "more"
    assert "more_info" not in log_text(driver), "the payload must not be shown"


def test_staff_reply_reaches_the_page(stack: Stack, driver: WebDriver) -> None:
    """A reply from the console (HTTP API, output_channel=latest) arrives in the open widget, marked as staff."""
    ask_the_usual_question(driver, stack.widget_url + "/")
    session_id = stored_state(driver)["sessionId"]

    event = {"event": "bot", "text": "Hello, this is Sam from the clinic.", "metadata": {"staff_reply": True, "staff": "Sam"}}
    rasa_api(
        stack, "POST", f"/conversations/{session_id}/tracker/events?include_events=NONE" "&output_channel=latest&execute_side_effects=true", [event]
    )
    wait_for_log(driver, "Hello, this is Sam from the clinic.", timeout=30)
    staff = driver.find_element(By.CSS_SELECTOR, ".rsw-log .rsw-msg-staff")
    assert "Sam, clinic team" in staff.text
