"""The staff console in headless Chromium against the real stack (Rasa, action
server, console), driven the way staff use it. Screenshots go to
tests/artifacts/screenshots/.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from console.refs import conversation_ref
from tests.browser import CHROMEDRIVER, chromium_options
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
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args], input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, env=stack.env(), timeout=120
    )


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
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("chromium")
    downloads = tmp / "downloads"
    downloads.mkdir()
    opts = chromium_options(tmp / "profile", 1400, 1000)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
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


# ---------------------------------------------------------------- waiting for the page
# A click that submits a form or follows a link returns before the next page is
# there; an element read from the old page then raises StaleElementReferenceException
# (or reads the old text). So: wait with WebDriverWait on conditions, wait for the old
# page to go stale after a click that navigates, and find elements again afterwards.
def wait_for(driver, cond, timeout: float = 20.0, what: str = "condition"):
    """`cond(driver)` once it is truthy; an element going stale or missing meanwhile means "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException))
    return wait.until(cond, message=f"timed out waiting for {what}")


def read(driver, get, what: str = "the page"):
    """`get(driver)` (which finds its elements afresh), retried while the page is being replaced."""
    return wait_for(driver, lambda d: (get(d),), what=what)[0]


def page_loaded(driver) -> bool:
    return driver.execute_script("return document.readyState") == "complete"


def wait_for_new_page(driver, old_page, what: str) -> None:
    from selenium.webdriver.support import expected_conditions as EC

    wait_for(driver, EC.staleness_of(old_page), what=f"{what}: the old page to go")
    wait_for(driver, page_loaded, what=f"{what}: the new page to load")


def click_to_page(driver, locator: Tuple[str, str], what: str) -> None:
    """Click the element at `locator` (a link or a submit button) and wait until the page it leads to has loaded."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    old_page = driver.find_element(By.TAG_NAME, "html")
    wait_for(driver, EC.element_to_be_clickable(locator), what=what).click()
    wait_for_new_page(driver, old_page, what)


def reload(driver) -> None:
    from selenium.webdriver.common.by import By

    old_page = driver.find_element(By.TAG_NAME, "html")
    driver.refresh()
    wait_for_new_page(driver, old_page, "the reload")


def login(driver, stack, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(stack.console_url + "/")
    assert "/login" in driver.current_url  # not logged in: sent to the login page
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    click_to_page(driver, (By.CSS_SELECTOR, "form button[type=submit]"), "the login")
    wait_for(driver, lambda d: d.current_url.rstrip("/") == stack.console_url, what="the queue after login")


def body_text(driver) -> str:
    """The page's text, read from the current page (retried while a navigation replaces it)."""
    from selenium.webdriver.common.by import By

    return read(driver, lambda d: d.find_element(By.TAG_NAME, "body").text)


def texts(driver, css: str) -> List[str]:
    """The text of every element matching `css` on the current page."""
    from selenium.webdriver.common.by import By

    return read(driver, lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, css)])


def row_text(driver, link_text: str) -> str:
    """The text of the table row holding the link `link_text`."""
    from selenium.webdriver.common.by import By

    return read(driver, lambda d: d.find_element(By.LINK_TEXT, link_text).find_element(By.XPATH, "./ancestor::tr").text)


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
    wait_for(driver, lambda d: d.find_elements(By.LINK_TEXT, sender), what="the ticket in the queue")
    assert RED_FLAG in row_text(driver, sender)
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Escalation queue")
    shot(driver, "02-queue")

    click_to_page(driver, (By.LINK_TEXT, sender), "the transcript")
    wait_for(driver, lambda d: "/conversations/" in d.current_url, what="the transcript")
    text = body_text(driver)
    assert RED_FLAG in text and "in handoff" in text and "Handoff started" in text
    assert "intent" in text  # NLU details are shown for each user message
    shot(driver, "03-transcript")

    # While in handoff the bot stays quiet...
    assert rest_send(stack, sender, FAQ) == []
    reload(driver)
    assert FAQ in body_text(driver)

    reply = f"Hello, this is the clinic team ({uuid.uuid4().hex[:6]}). Please call 999 now if you cannot pass urine."
    driver.find_element(By.ID, "reply-text").send_keys(reply)
    click_to_page(driver, (By.ID, "send-reply"), "the reply")
    wait_for(driver, lambda d: "Reply sent." in body_text(d), what="the reply confirmation")
    staff_events = [e for e in tracker_events(stack, sender) if e.get("event") == "bot" and e.get("text") == reply]
    assert staff_events and staff_events[0]["metadata"]["staff_reply"] is True
    from console.auth import default_display_name

    # patients see the account's display name, never its login name
    assert staff_events[0]["metadata"]["staff"] == default_display_name(accounts["clinician"]) != accounts["clinician"]
    assert reply in texts(driver, ".msg.staff .text")
    shot(driver, "04-replied")

    click_to_page(driver, (By.ID, "resume-bot"), "the hand-back")
    wait_for(driver, lambda d: "Handed back to the assistant" in body_text(d), what="the resume confirmation")
    slots = [e for e in tracker_events(stack, sender) if e.get("event") == "slot" and e.get("name") == "handoff_active"]
    assert slots[-1]["value"] is False
    answer = rest_send(stack, sender, FAQ)
    assert answer and any(m.get("text") for m in answer), "the bot did not answer after being handed back"
    reload(driver)
    assert "the assistant is answering" in body_text(driver)
    assert not driver.find_elements(By.ID, "reply-text")
    shot(driver, "05-resumed")

    driver.find_element(By.ID, "export-csv").click()
    csv_file = wait_for(driver, lambda d: list(downloads.glob("conversation-*.csv")), what="the CSV download")[0]
    wait_for(driver, lambda d: not list(downloads.glob("*.crdownload")), what="the download to finish")
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
    assert driver.find_elements(By.LINK_TEXT, flagged), "the red flag with HTML in it did not reach the queue"
    row = row_text(driver, flagged)
    assert "<script>window.__xss=1</script>" in row and '<img src=x onerror="window.__xss=2">' in row
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
    shot(driver, "08-xss-queue")

    driver.get(stack.console_url + "/conversations?q=__xss")
    assert_inert(driver)
    click_to_page(driver, (By.LINK_TEXT, plain), "the transcript")
    wait_for(driver, lambda d: "/conversations/" in d.current_url, what="the transcript")
    assert XSS in texts(driver, ".msg.user .text")
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main script")
    assert_inert(driver)
    shot(driver, "09-xss-transcript")
    driver.get(stack.console_url + "/reports/unanswered?from=2000-01-01")
    assert_inert(driver)


def test_reception_sees_phone_numbers_masked(stack, accounts, browser):
    from selenium.webdriver.common.by import By

    driver, _ = browser
    from tests.channels.test_whatsapp_e2e import notification, post_webhook, text_message

    phone = "4477009" + str(uuid.uuid4().int)[:5]  # a real WhatsApp conversation (REST refuses phone-number ids)
    assert post_webhook(stack, notification(phone, text_message(phone, RED_FLAG + ". Call me back on 07700 900123"))) == 200
    escalated = lambda d: any(e.get("event") == "slot" and e.get("name") == "handoff_active" and e.get("value") for e in tracker_events(stack, phone))  # noqa: E731
    wait_for(driver, escalated, what="the WhatsApp red flag's escalation", timeout=90)
    login(driver, stack, accounts["reception"])
    text = body_text(driver)
    assert phone not in text and "07700 900123" not in text
    masked = "•" * (len(phone) - 3) + phone[-3:]
    assert masked in text and "••••• •••123" in text
    click_to_page(driver, (By.LINK_TEXT, masked), "the transcript")
    wait_for(driver, lambda d: "/conversations/" in d.current_url, what="the transcript")
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
