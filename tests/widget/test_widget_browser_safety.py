"""The website chat widget, end to end in headless Chromium against the real
servers of the session `stack` (demo site + widget, Rasa, action server):
safety and urgency display. A red-flag message is shown as urgent (alert role,
999 link, urgent styling) and followed by the escalation; weak evidence gets the
safety check's quick replies, not an escalation; a carer's report is urgent and
addressed to the writer.

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from clinic_bot.launcher import Stack
from tests.conftest import rasa_api
from tests.widget.browser_helpers import bot_messages, log_text, open_widget, send_with_button, wait, wait_for_greeting, wait_for_log

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.usefixtures("widget_channel_configured")]

RED_FLAG = "I can't feel anything when I wipe and I've wet myself"


# --------------------------------------------------------------- tests ---
def test_red_flag_message_is_shown_as_urgent(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, RED_FLAG)

    try:
        urgent = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot.rsw-urgent"))
    except TimeoutException:
        parsed = rasa_api(stack, "POST", "/model/parse", {"text": RED_FLAG})
        entities = [(e.get("entity"), e.get("value")) for e in parsed.get("entities", [])]
        raise AssertionError(
            f"no urgent-styled message; the chat shows:\n{log_text(driver)}\n"
            f"The model parses the message as intent {parsed.get('intent', {}).get('name')!r}, entities {entities}: "
            "if that is not report_red_flag with a red_flag entity, check that models/facet-assistant.tar.gz was "
            "trained with config.yml (RedFlagEntityDetector)."
        ) from None

    assert urgent.get_attribute("role") == "alert"
    assert urgent.get_attribute("data-urgency") == "emergency"
    assert "999" in urgent.text
    assert "emergency advice" in urgent.text.lower()
    assert urgent.find_element(By.CSS_SELECTOR, "a.rsw-tel").get_attribute("href") == "tel:999"
    bubble = urgent.find_element(By.CSS_SELECTOR, ".rsw-bubble")
    assert bubble.value_of_css_property("border-left-color") == "rgba(179, 38, 30, 1)"
    assert bubble.value_of_css_property("background-color") == "rgba(253, 236, 234, 1)"
    assert urgent.find_elements(By.CSS_SELECTOR, "svg.rsw-alert-icon")
    # the escalation after the safety advice ran too (a failed turn would stop before it)
    wait_for_log(driver, "alerted the clinic team")
    normal = [m for m in bot_messages(driver) if "alerted the clinic team" in m.text][-1]
    assert "rsw-urgent" not in normal.get_attribute("class")


# ------------------------------------------------- the safety decision ---
def test_weak_evidence_check_offers_quick_replies_and_no_carries_on(stack: Stack, driver: WebDriver) -> None:
    from tests.e2e.test_safety_decision_rest import WEAK_CANDIDATES

    checked = [
        t for t in WEAK_CANDIDATES if (rasa_api(stack, "POST", "/model/parse", {"text": t}).get("safety_decision") or {}).get("action") == "check"
    ]
    assert checked, f"the model checks none of {WEAK_CANDIDATES}"
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, checked[0])
    wait_for_log(driver, "happening now")
    choices = [b for b in driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-choice:not([disabled])")]
    titles = [b.text for b in choices]
    assert titles == ["Yes, this is happening now", "No", "Talk to a person"], titles
    assert not driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot.rsw-urgent"), "a check is not an escalation"
    choices[1].click()
    wait_for_log(driver, "Thanks for letting me know")
    assert not driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot.rsw-urgent")


def test_carer_report_is_urgent_and_addressed_to_the_writer(stack: Stack, driver: WebDriver) -> None:
    from tests.e2e.test_safety_decision_rest import CARER

    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, CARER)
    urgent = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-log .rsw-msg-bot.rsw-urgent"))
    assert urgent.get_attribute("data-urgency") == "emergency"
    assert "999 for them" in urgent.text
    wait_for_log(driver, "alerted the clinic team")
