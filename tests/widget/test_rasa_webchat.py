"""rasa-webchat, the community widget most Rasa sites embed, against the real stack.

rasa-webchat (Botfront, on npm; version pinned in tests/widget/webchat/package-lock.json)
shows a `bot_uttered` payload only when, with `metadata` set aside, it is text
alone or text with `quick_replies`/`buttons` (or an image, video or carousel).
Anything else, e.g. text with a `custom` part, goes to a React `customComponent`
that a <script> embed cannot pass, and nothing is shown. When the red-flag advice
carried its urgency in `custom`, rasa-webchat showed "follow the advice above"
with no advice above it. These tests embed the real bundle the way its README
does and check that every category's safety advice is on the screen, word for
word, and that the empty message the default embed sends when the chat is
opened (no `initPayload`) starts the conversation cleanly.

Origin: the page is served from the session stack's own demo-site origin
(`stack.widget_url`; the demo service is stopped for this module, its port reused,
and restarted afterwards), the origin the Rasa server's CORS settings must allow
for the demo widget anyway, so the test does not depend on `WIDGET_ORIGINS`.

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from clinic_bot.content import answer_slots
from clinic_bot.launcher import Stack
from clinic_bot.profile import load_profile
from clinic_bot.safety import UNSPECIFIED, load_table
from tests.conftest import rasa_api
from tests.e2e.test_red_flags_rest import CATEGORY_MESSAGES
from tests.e2e.test_safety_decision_rest import CARER, weak_message  # noqa: F401  (fixture)
from tests.widget.browser_helpers import REPLY_TIMEOUT

pytestmark = [pytest.mark.stack, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
WEBCHAT_DIR = Path(__file__).resolve().parent / "webchat"
BUNDLE = WEBCHAT_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"
DEMO_SERVICE = "website demo + widget"
HANDOFF_START = "I've alerted the clinic team"  # utter_handoff_started, which ends "follow the advice above."
YES_NOW = "Yes, this is happening now"  # utter_red_flag_check's first button
GREETING = "Hello! Ask me anything about facet joint pain"  # utter_greet
DISCLAIMER = f"In an emergency, call {load_profile().locale.emergency_number}."  # utter_disclaimer, at session start

from selenium.common.exceptions import (  # noqa: E402
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# rasa-webchat's README "In a <script> tag" snippet, with the bundle served locally.
PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Clinic site with rasa-webchat</title></head>
<body>
<h1>A clinic website that embeds rasa-webchat</h1>
<script>!(function () {
  let e = document.createElement("script"),
    t = document.head || document.getElementsByTagName("head")[0];
  (e.src = "/rasa-webchat/lib/index.js"),
    (e.async = !0),
    (e.onload = () => {
      window.WebChat.default(
        {
          customData: { language: "en" },
          socketUrl: "%(rasa_url)s",
        },
        null
      );
    }),
    t.insertBefore(e, t.firstChild);
})();
</script>
</body>
</html>
"""


# ------------------------------------------------------------- the page ---
def install_webchat() -> None:
    """`npm ci` of the pinned rasa-webchat when node_modules is missing or stale (scripts/test.sh does it first)."""
    if shutil.which("npm") is None:
        pytest.skip(
            "the rasa-webchat browser test needs npm (Debian package 'npm') to install rasa-webchat " "from tests/widget/webchat/package-lock.json"
        )
    result = subprocess.run([str(WEBCHAT_DIR / "install.sh")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and BUNDLE.is_file(), f"npm ci failed:\n{result.stdout}\n{result.stderr}"


def page_handler(page: bytes, bundle: bytes) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            routes = {"/": (page, "text/html; charset=utf-8"), "/rasa-webchat/lib/index.js": (bundle, "text/javascript; charset=utf-8")}
            body, kind = routes.get(self.path, (b"not found", "text/plain"))
            self.send_response(200 if self.path in routes else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def webchat_url(stack: Stack) -> Iterator[str]:
    """The embed page, served from the demo site's origin while the demo service is stopped."""
    install_webchat()
    page = (PAGE % {"rasa_url": stack.rasa_url}).encode()
    stack.stop_service(DEMO_SERVICE)
    try:
        server = ThreadingHTTPServer((stack.host, stack.widget_port), page_handler(page, BUNDLE.read_bytes()))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield stack.widget_url + "/"
        finally:
            server.shutdown()
            server.server_close()
    finally:
        stack.restart_service(DEMO_SERVICE)


# ------------------------------------------------------------- helpers ---
def normalised(text: str) -> str:
    return " ".join(text.split())


def wait(driver: WebDriver, timeout: float = REPLY_TIMEOUT) -> WebDriverWait:
    """rasa-webchat (React) re-renders the conversation as messages arrive: an element found a
    moment ago may be gone, so a condition that meets a stale element is simply tried again."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException, ElementClickInterceptedException))


def texts_of(driver: WebDriver, selector: str) -> List[str]:
    """The rendered text of every element matching `selector`, read in one go in the page."""
    found = driver.execute_script("return Array.from(document.querySelectorAll(arguments[0])).map(function (e) { return e.innerText; });", selector)
    return [normalised(t) for t in found]


def bot_texts(driver: WebDriver) -> List[str]:
    return texts_of(driver, ".rw-response .rw-message-text")


def chat_text(driver: WebDriver) -> str:
    return "\n".join(texts_of(driver, ".rw-messages-container > *"))


def wait_for_bot_text(driver: WebDriver, text: str, timeout: float = REPLY_TIMEOUT) -> int:
    """Index of the first bot message that contains `text` (whitespace-normalised), once it is on screen."""
    want = normalised(text)
    try:
        (index,) = wait(driver, timeout).until(  # a 1-tuple: index 0 would read as "not yet"
            lambda d: next(((i,) for i, t in enumerate(bot_texts(d)) if want in t), None)
        )
        return index
    except TimeoutException:
        raise AssertionError(f"{want!r} is not shown in rasa-webchat within {timeout}s; the chat shows:\n{chat_text(driver)}") from None


def open_chat(driver: WebDriver, url: str) -> str:
    """Load the page, open rasa-webchat as a visitor does and return its Rasa session id."""
    driver.get(url)

    def click_launcher(d: WebDriver) -> bool:
        launcher = d.find_element(By.CSS_SELECTOR, ".rw-launcher")
        if not launcher.is_displayed():  # rasa-webchat shows it once connected
            return False
        launcher.click()
        return True

    wait(driver, 60).until(click_launcher)
    wait(driver, 20).until(lambda d: d.find_element(By.CSS_SELECTOR, ".rw-conversation-container").is_displayed())
    raw = wait(driver, 20).until(lambda d: d.execute_script("return window.localStorage.getItem('chat_session')"))
    session_id = json.loads(raw).get("session_id")
    assert session_id, f"rasa-webchat stored no session id: {raw}"
    return session_id


def type_message(driver: WebDriver, text: str) -> None:
    def send(d: WebDriver) -> bool:
        box = d.find_element(By.CSS_SELECTOR, ".rw-new-message")
        if not box.is_enabled():
            return False
        box.send_keys(text + Keys.ENTER)
        return True

    wait(driver, 20).until(send)


def click_reply(driver: WebDriver, title: str) -> None:
    def click(d: WebDriver) -> bool:
        button = next(iter(e for e in d.find_elements(By.CSS_SELECTOR, ".rw-reply") if normalised(e.text) == title), None)
        if button is None:
            return False
        button.click()
        return True

    try:
        wait(driver).until(click)
    except TimeoutException:
        raise AssertionError(f"no {title!r} button in rasa-webchat; the chat shows:\n{chat_text(driver)}") from None


@lru_cache(maxsize=None)
def safety_text(urgency: Optional[str], about: str = "self", category: Optional[str] = None) -> str:
    """utter_red_flag_safety as Rasa fills it for these slots (domain/safety.yml, the clinic profile's numbers;
    within emergency the advice is also worded per category)."""
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain

    nlg = TemplatedNaturalLanguageGenerator(Domain.load(str(ROOT / "domain")).responses)
    slots = {"red_flag_urgency": urgency, "red_flag_category": category, "red_flag_about": about, **answer_slots(load_profile())}
    return nlg.generate_from_slots("utter_red_flag_safety", slots, "socketio")["text"]


def assert_advice_shown_before_the_handoff(driver: WebDriver, advice: str) -> None:
    at = wait_for_bot_text(driver, advice)
    handoff = wait_for_bot_text(driver, HANDOFF_START)
    assert at < handoff, f"the advice should come before {HANDOFF_START!r}:\n{chat_text(driver)}"
    assert wait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rw-response .rw-message-text")[at].is_displayed()), advice


def categories() -> List[str]:
    return sorted(load_table().category_urgency)


# --------------------------------------------------------------- tests ---
def test_opening_the_chat_greets_without_a_junk_turn(stack: Stack, webchat_url: str, driver: WebDriver) -> None:
    """The default embed sends `user_uttered` without a `message` when the chat opens:
    it is answered with the disclaimer and the greeting, and nothing else happens."""
    log = (stack.log_dir or stack.var_dir / "logs") / "rasa.log"  # where the launcher appends the server's output
    log_start = log.stat().st_size if log.exists() else 0

    session_id = open_chat(driver, webchat_url)
    wait_for_bot_text(driver, DISCLAIMER)
    wait_for_bot_text(driver, GREETING)
    click_reply(driver, "Should I rest?")  # the greeting's buttons are shown, and work
    wait_for_bot_text(driver, "Complete rest usually isn't helpful")

    events = rasa_api(stack, "GET", f"/conversations/{session_id}/tracker")["events"]
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    assert [(events[i]["text"], events[i]["parse_data"]["intent"]["name"]) for i in users[:1]] == [("/greet", "greet")], events
    assert all((events[i].get("text") or "").strip() for i in users), "an empty user turn reached the dialogue"
    opening = [normalised(e["text"]) for e in events[: users[1]] if e["event"] == "bot"]
    assert len(opening) == 2 and DISCLAIMER in opening[0] and opening[1].startswith(GREETING), opening
    assert "undefined" not in chat_text(driver)  # what rasa-webchat shows for a reply without text
    new_log = log.read_bytes()[log_start:].decode("utf-8", "replace") if log.exists() else ""
    assert "Traceback" not in new_log and " ERROR " not in new_log, new_log[-3000:]


@pytest.mark.parametrize("category", categories())
def test_every_categorys_safety_advice_is_shown(stack: Stack, webchat_url: str, driver: WebDriver, weak_message: str, category: str) -> None:  # noqa: F811
    """Each category's trigger (tests/e2e/test_red_flags_rest.py) gets its urgency's advice,
    on screen and word for word, before the "follow the advice above" message. With no
    category (`unspecified`), the safety check's "Yes, this is happening now" button escalates."""
    urgency = load_table().urgency_of(category)
    open_chat(driver, webchat_url)
    wait_for_bot_text(driver, DISCLAIMER)  # the conversation has started (however the open message was taken)
    if category == UNSPECIFIED:
        type_message(driver, weak_message)
        click_reply(driver, YES_NOW)
        advice = safety_text(None)  # the broad advice of the variant without a condition
    else:
        assert category in CATEGORY_MESSAGES, f"no trigger message for {category!r} in tests/e2e/test_red_flags_rest.py"
        type_message(driver, CATEGORY_MESSAGES[category])
        advice = safety_text(urgency, category=category)
    assert_advice_shown_before_the_handoff(driver, advice)


def test_a_carers_report_shows_the_advice_about_that_person(stack: Stack, webchat_url: str, driver: WebDriver) -> None:
    open_chat(driver, webchat_url)
    wait_for_bot_text(driver, DISCLAIMER)
    type_message(driver, CARER)
    # legs giving way since this morning: a new weakness (progressive_neuro_deficit), told about the dad
    assert_advice_shown_before_the_handoff(driver, safety_text("emergency", "other", "progressive_neuro_deficit"))
