"""The staff console in headless Chromium against the real stack (Rasa, action
server, console), driven the way staff use it. Screenshots go to
tests/artifacts/screenshots/.
"""
from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from console.refs import conversation_ref
from tests.conftest import new_sender, rasa_api, rest_send
from tests.console.conftest import PASSWORD, Client
from tests.console.routes import PUBLIC, concrete_routes

pytestmark = [pytest.mark.stack, pytest.mark.browser]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "tests" / "artifacts" / "screenshots"
RED_FLAG = "I've wet myself and my back is killing me"
XSS = '<script>window.__xss=1</script> is this normal? <img src=x onerror="window.__xss=2">'
FAQ = "What is facet joint pain?"


def cli(stack, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=stack.env(), timeout=120)


@pytest.fixture(scope="module")
def accounts(stack) -> dict:
    names = {}
    for role in ("clinician", "reception"):
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        done = cli(stack, "create-user", name, "--role", role, stdin=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
        names[role] = name
    assert set(names.values()) <= set(cli(stack, "list-users").stdout.split())
    return names


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Tuple[object, Path]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("chromium")
    downloads = tmp / "downloads"
    downloads.mkdir()
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                f"--user-data-dir={tmp / 'profile'}", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver, downloads
    finally:
        driver.quit()


def shot(driver, name: str) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(1000, min(int(height) + 40, 4000)))
    driver.save_screenshot(str(SCREENSHOTS / f"console-{name}.png"))
    driver.set_window_size(1400, 1000)


def wait_for(cond, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def login(driver, stack, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(stack.console_url + "/")
    assert "/login" in driver.current_url  # not logged in: sent to the login page
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: driver.current_url.rstrip("/") == stack.console_url, what="the queue after login")


def body_text(driver) -> str:
    """The page's text; "" while a navigation replaces the page (wait_for then polls again)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def tracker_events(stack, sender: str) -> List[dict]:
    return rasa_api(stack, "GET", f"/conversations/{sender}/tracker")["events"]


def assert_inert(driver) -> None:
    assert driver.execute_script("return typeof window.__xss") == "undefined"


def test_red_flag_to_reply_resume_and_export(stack, accounts, browser):
    from selenium.webdriver.common.by import By

    driver, downloads = browser
    sender = new_sender("console-redflag")
    safety = rest_send(stack, sender, RED_FLAG)
    assert safety, "the red flag got no safety reply"

    driver.get(stack.console_url + "/")
    shot(driver, "01-login")
    login(driver, stack, accounts["clinician"])
    link = wait_for(lambda: driver.find_elements(By.LINK_TEXT, sender), what="the ticket in the queue")[0]
    row = link.find_element(By.XPATH, "./ancestor::tr")
    assert RED_FLAG in row.text
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Escalation queue")
    shot(driver, "02-queue")

    link.click()
    wait_for(lambda: "/conversations/" in driver.current_url, what="the transcript")
    text = body_text(driver)
    assert RED_FLAG in text and "in handoff" in text and "Handoff started" in text
    assert "intent" in text  # NLU details are shown for each user message
    shot(driver, "03-transcript")

    # While in handoff the bot stays quiet...
    assert rest_send(stack, sender, FAQ) == []
    driver.refresh()
    assert FAQ in body_text(driver)

    reply = f"Hello, this is the clinic team ({uuid.uuid4().hex[:6]}). Please call 999 now if you cannot pass urine."
    driver.find_element(By.ID, "reply-text").send_keys(reply)
    driver.find_element(By.ID, "send-reply").click()
    wait_for(lambda: "Reply sent." in body_text(driver), what="the reply confirmation")
    staff_events = [e for e in tracker_events(stack, sender) if e.get("event") == "bot" and e.get("text") == reply]
    assert staff_events and staff_events[0]["metadata"]["staff_reply"] is True
    from console.auth import default_display_name

    # patients see the account's display name, never its login name
    assert staff_events[0]["metadata"]["staff"] == default_display_name(accounts["clinician"]) != accounts["clinician"]
    assert reply in [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.staff .text")]
    shot(driver, "04-replied")

    driver.find_element(By.ID, "resume-bot").click()
    wait_for(lambda: "Handed back to the assistant" in body_text(driver), what="the resume confirmation")
    slots = [e for e in tracker_events(stack, sender) if e.get("event") == "slot" and e.get("name") == "handoff_active"]
    assert slots[-1]["value"] is False
    answer = rest_send(stack, sender, FAQ)
    assert answer and any(m.get("text") for m in answer), "the bot did not answer after being handed back"
    driver.refresh()
    assert "the assistant is answering" in body_text(driver)
    assert not driver.find_elements(By.ID, "reply-text")
    shot(driver, "05-resumed")

    driver.find_element(By.ID, "export-csv").click()
    csv_file = wait_for(lambda: [p for p in downloads.glob("conversation-*.csv")], what="the CSV download")[0]
    wait_for(lambda: not list(downloads.glob("*.crdownload")), what="the download to finish")
    content = csv_file.read_text(encoding="utf-8")
    assert content.splitlines()[0].startswith("conversation,timestamp,kind,text,intent")
    assert RED_FLAG in content and reply in content and sender in content

    driver.get(stack.console_url + f"/conversations?q={sender}")
    assert sender in body_text(driver)
    shot(driver, "06-conversations")
    driver.get(stack.console_url + "/reports/unanswered")
    shot(driver, "07-unanswered")


def test_patient_html_is_shown_as_text_and_runs_nothing(stack, accounts, browser):
    from selenium.webdriver.common.by import By

    driver, _ = browser
    plain = new_sender("console-xss")
    rest_send(stack, plain, XSS)
    flagged = new_sender("console-xss-flag")
    rest_send(stack, flagged, XSS + " " + RED_FLAG)
    login(driver, stack, accounts["clinician"])
    assert_inert(driver)
    queue_links = driver.find_elements(By.LINK_TEXT, flagged)
    assert queue_links, "the red flag with HTML in it did not reach the queue"
    row = queue_links[0].find_element(By.XPATH, "./ancestor::tr")
    assert "<script>window.__xss=1</script>" in row.text and '<img src=x onerror="window.__xss=2">' in row.text
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
    shot(driver, "08-xss-queue")

    driver.get(stack.console_url + "/conversations?q=__xss")
    assert_inert(driver)
    driver.find_element(By.LINK_TEXT, plain).click()
    wait_for(lambda: "/conversations/" in driver.current_url, what="the transcript")
    texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".msg.user .text")]
    assert XSS in texts
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
    assert_inert(driver)
    shot(driver, "09-xss-transcript")
    driver.get(stack.console_url + "/reports/unanswered?from=2000-01-01")
    assert_inert(driver)


def test_reception_sees_phone_numbers_masked(stack, accounts, browser):
    from selenium.webdriver.common.by import By

    driver, _ = browser
    phone = "4477009" + str(uuid.uuid4().int)[:5]  # a WhatsApp-style sender id, through the REST channel
    rest_send(stack, phone, RED_FLAG + ". Call me back on 07700 900123")
    login(driver, stack, accounts["reception"])
    text = body_text(driver)
    assert phone not in text and "07700 900123" not in text
    masked = "•" * (len(phone) - 3) + phone[-3:]
    assert masked in text and "••••• •••123" in text
    driver.find_element(By.LINK_TEXT, masked).click()
    wait_for(lambda: "/conversations/" in driver.current_url, what="the transcript")
    assert phone not in driver.page_source and "07700 900123" not in driver.page_source
    assert phone not in driver.current_url
    assert not driver.find_elements(By.ID, "export-csv")  # reception cannot export
    shot(driver, "10-reception-masked")


def test_every_route_refuses_unauthenticated_requests(stack):
    env = stack.env()
    sender = new_sender("console-auth")
    rest_send(stack, sender, "hello")
    ref = conversation_ref(env["CONSOLE_SECRET_KEY"], sender)
    anon = Client(stack.console_url)
    refused = 0
    for method, path, name in concrete_routes(env, ref):
        if (method, path) in PUBLIC:
            continue
        r = anon.request(method, path)
        if method == "GET" and not path.endswith((".csv", ".jsonl", ".yml")):
            assert r.status == 303 and r.header("Location").startswith("/login"), (name, path, r.status)
        else:
            assert r.status == 401, (name, method, path, r.status)
        refused += 1
    assert refused >= 15
    assert anon.get("/health").status == 200


def test_csrf_less_posts_are_refused(stack, accounts):
    sender = new_sender("console-csrf")
    rest_send(stack, sender, RED_FLAG)
    env = stack.env()
    ref = conversation_ref(env["CONSOLE_SECRET_KEY"], sender)
    c = Client(stack.console_url)
    assert c.login(accounts["clinician"]).status == 303
    assert c.get(f"/conversations/{ref}").status == 200
    posts = [(m, p) for m, p, _ in concrete_routes(env, ref) if m == "POST" and (m, p) not in PUBLIC]
    for _, path in posts:
        assert c.post(path, {"text": "forged", "note": "forged", "confirm": "DELETE"}).status == 403, path
        assert c.post(path, {"csrf_token": "f" * 64, "text": "forged"}).status == 403, path
    events = tracker_events(stack, sender)
    assert not any(e.get("event") == "bot" and e.get("text") == "forged" for e in events)
    assert any(e.get("event") == "user" for e in events)  # not erased
    anon = Client(stack.console_url)
    anon.get("/login")
    assert anon.post("/login", {"username": accounts["clinician"], "password": PASSWORD}).status == 403
