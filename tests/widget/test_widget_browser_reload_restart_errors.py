"""The website chat widget, end to end in headless Chromium against the real
servers of the session `stack` (demo site + widget, Rasa, action server):
reload, restart and errors. A reload restores the conversation (and the same Rasa
conversation continues), "new conversation" clears the device, and an unreachable
server shows an error with a retry that keeps the unsent text.

A screenshot per test goes to tests/artifacts/screenshots/<test name>.png.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from typing import Any, Iterator, List, Optional

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from clinic_bot.launcher import Stack, free_port, wait_http
from tests.conftest import SECOND_SITE_PORT, rasa_api
from tests.widget.browser_helpers import (
    REST_ANSWER,
    REST_QUESTION,
    ROOT,
    SCREENSHOTS,
    ask_the_usual_question,
    bot_messages,
    log_text,
    open_widget,
    send_with_button,
    stored_state,
    wait,
    wait_for_greeting,
    wait_for_log,
)

pytestmark = [pytest.mark.stack, pytest.mark.browser, pytest.mark.usefixtures("widget_channel_configured")]


# --------------------------------------------------------------- tests ---
def test_reload_restores_the_conversation(stack: Stack, driver: WebDriver) -> None:
    ask_the_usual_question(driver, stack.widget_url + "/")
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
    ask_the_usual_question(driver, stack.widget_url + "/")
    first_session = stored_state(driver)["sessionId"]

    driver.find_element(By.CSS_SELECTOR, ".rsw-restart").click()
    driver.switch_to.alert.accept()
    wait_for_greeting(driver)
    assert REST_ANSWER not in log_text(driver)
    state = stored_state(driver)
    assert state["sessionId"] and state["sessionId"] != first_session
    assert REST_QUESTION not in json.dumps(state), "the old transcript is gone from localStorage"


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
