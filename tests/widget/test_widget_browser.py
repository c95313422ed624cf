"""The website chat widget, end to end in headless Chromium against the real
servers of the session `stack` (demo site + widget, Rasa, action server).

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator, List, Optional

import pytest

from clinic_bot.launcher import Stack, free_port, wait_http
from tests.browser import CHROMEDRIVER, CHROMIUM, chromium_options
from tests.conftest import SECOND_SITE_PORT, rasa_api

pytestmark = [pytest.mark.stack, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
REPLY_TIMEOUT = 90  # seconds; the first turn after start-up is the slowest

REST_QUESTION = "should I rest with facet joint pain?"
REST_ANSWER = "Complete rest usually isn't helpful"  # domain/faq.yml utter_faq/should_i_rest
RED_FLAG = "I can't feel anything when I wipe and I've wet myself"

if not CHROMIUM.exists():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (Debian package 'chromium')", allow_module_level=True)
if not CHROMEDRIVER.exists():
    pytest.skip(f"browser tests need chromedriver at {CHROMEDRIVER} (Debian package 'chromium-driver')", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
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


def _driver_fixture(request: pytest.FixtureRequest, width: int, height: int, mobile: bool) -> Iterator[WebDriver]:
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


def stored_state(driver: WebDriver) -> dict:
    raw = driver.execute_script(
        "for (var i = 0; i < localStorage.length; i++) { var k = localStorage.key(i);"
        " if (k.indexOf('clinic-chat:') === 0) return localStorage.getItem(k); } return null;"
    )
    assert raw, "the widget stored nothing in localStorage"
    return json.loads(raw)


def console_errors(driver: WebDriver) -> List[str]:
    ignored = ("favicon.ico", ".map")
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and not any(i in e["message"] for i in ignored)]


def watch_typing_indicator(driver: WebDriver) -> None:
    driver.execute_script(
        "window.__typingSeen = false; var t = document.querySelector('.rsw-typing');"
        "new MutationObserver(function () { if (t.classList.contains('rsw-typing-on')) window.__typingSeen = true; })"
        ".observe(t, {attributes: true, attributeFilter: ['class']});"
    )


def active_element_matches(driver: WebDriver, selector: str) -> bool:
    return driver.execute_script("return !!document.activeElement && document.activeElement.matches(arguments[0]);", selector)


@pytest.fixture(autouse=True)
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
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)
    answer = [m for m in bot_messages(driver) if REST_ANSWER in m.text][-1]
    buttons = answer.find_elements(By.CSS_SELECTOR, ".rsw-choice")
    assert [b.text for b in buttons] == ["Tell me more", "Talk to a person"]
    buttons[0].click()
    wait_for_log(driver, "Moving regularly helps ease stiffness")  # domain/faq.yml should_i_rest "more"
    assert "more_info" not in log_text(driver), "the payload must not be shown"


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


def test_reload_restores_the_conversation(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)
    before = [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg")]
    session_id = stored_state(driver)["sessionId"]
    assert session_id

    driver.refresh()
    wait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg"))
    assert driver.find_element(By.ID, "rsw-panel").is_displayed(), "an open chat stays open across a reload"
    after = [m.text for m in driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg")]
    assert after == before
    # buttons of answered messages stay disabled after a reload; the answer's own
    # "Tell me more" / "Talk to a person" (the newest message) stay usable
    enabled = driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-choice:not([disabled])")
    newest = bot_messages(driver)[-1].find_elements(By.CSS_SELECTOR, ".rsw-choice")
    assert (
        [b.text for b in enabled] == [b.text for b in newest] == ["Tell me more", "Talk to a person"]
    ), "buttons of answered messages stay disabled after a reload"
    assert all(b in newest for b in enabled)

    # the same Rasa conversation continues
    wait(driver, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-root[data-connection='online']"))
    assert stored_state(driver)["sessionId"] == session_id
    send_with_button(driver, "thank you")
    wait_for_log(driver, "You're welcome")
    tracker = rasa_api(stack, "GET", f"/conversations/{session_id}/tracker")
    said = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert REST_QUESTION in said and "thank you" in said


def test_new_conversation_clears_the_device(stack: Stack, driver: WebDriver) -> None:
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)
    first_session = stored_state(driver)["sessionId"]

    driver.find_element(By.CSS_SELECTOR, ".rsw-restart").click()
    driver.switch_to.alert.accept()
    wait_for_greeting(driver)
    assert REST_ANSWER not in log_text(driver)
    state = stored_state(driver)
    assert state["sessionId"] and state["sessionId"] != first_session
    assert REST_QUESTION not in json.dumps(state), "the old transcript is gone from localStorage"


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


# --------------------------------------------- unreachable server, retry ---
class TcpForwarder:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, started on demand: a Rasa server that comes back."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.listener: Optional[socket.socket] = None
        self.conns: List[socket.socket] = []

    def start(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.listener is not None
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        for s in [self.listener, *self.conns]:
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def offline_site(stack: Stack) -> Iterator[Any]:
    """A second demo site whose Rasa URL is a port where nothing listens (yet)."""
    forwarder = TcpForwarder(stack.rasa_port)
    port = SECOND_SITE_PORT  # an origin the stack's socket.io allows (tests/conftest.py)
    proc = subprocess.Popen(
        [sys.executable, "-m", "widget.serve", "--host", "127.0.0.1", "--port", str(port), "--rasa-url", f"http://127.0.0.1:{forwarder.port}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
        yield f"http://127.0.0.1:{port}/", forwarder
    finally:
        forwarder.stop()
        proc.terminate()
        proc.wait(timeout=20)


def test_unreachable_server_shows_error_and_retry(offline_site: Any, driver: WebDriver) -> None:
    url, forwarder = offline_site
    open_widget(driver, url)
    error = wait(driver, 30).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rsw-error"))
    wait(driver, 30).until(lambda d: error.is_displayed())
    assert error.get_attribute("role") == "alert"
    assert "can't reach the assistant" in error.text
    assert "999" in error.text, "the error state still tells people what to do in an emergency"

    send_with_button(driver, "hello?")
    assert driver.find_element(By.ID, "rsw-input").get_attribute("value") == "hello?", "unsent text is kept"
    assert not driver.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-user")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / "test_unreachable_server_shows_error_and_retry-offline.png"))

    forwarder.start()  # the server is back
    retry = driver.find_element(By.CSS_SELECTOR, ".rsw-retry")
    retry.click()
    wait_for_greeting(driver)
    wait(driver, 10).until(lambda d: not error.is_displayed())
    driver.find_element(By.CSS_SELECTOR, ".rsw-send").click()  # the kept text goes now
    wait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rsw-log .rsw-msg-user"))


def test_staff_reply_reaches_the_page(stack: Stack, driver: WebDriver) -> None:
    """A reply from the console (HTTP API, output_channel=latest) arrives in the open widget, marked as staff."""
    open_widget(driver, stack.widget_url + "/")
    wait_for_greeting(driver)
    send_with_button(driver, REST_QUESTION)
    wait_for_log(driver, REST_ANSWER)
    session_id = stored_state(driver)["sessionId"]

    event = {"event": "bot", "text": "Hello, this is Sam from the clinic.", "metadata": {"staff_reply": True, "staff": "Sam"}}
    rasa_api(
        stack, "POST", f"/conversations/{session_id}/tracker/events?include_events=NONE" "&output_channel=latest&execute_side_effects=true", [event]
    )
    wait_for_log(driver, "Hello, this is Sam from the clinic.", timeout=30)
    staff = driver.find_element(By.CSS_SELECTOR, ".rsw-log .rsw-msg-staff")
    assert "Sam, clinic team" in staff.text


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
