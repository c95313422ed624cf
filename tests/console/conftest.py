"""Fixtures for the console tests that need no Rasa server.

`console_env` points every setting at a temporary folder; `writer` writes
conversations through Rasa's own SQLTrackerStore; `live_console` runs the real
`python -m console.app` on a free port against that data, with a recording
server standing in for Rasa's HTTP API.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from clinic_bot.launcher import free_port, wait_http
from tests.console.factory import ConversationWriter
from tests.fakes import RecordingServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET = "unit-test-console-secret-key-0123456789"
PASSWORD = "correct horse battery staple"


def console_environ(tmp: Path) -> Dict[str, str]:
    return {
        "CLINIC_VAR_DIR": str(tmp),
        "CLINIC_DB_URL": f"sqlite:///{tmp / 'clinic.db'}",
        "RASA_TRACKER_DB": str(tmp / "tracker.db"),
        "CONSOLE_SECRET_KEY": SECRET,
        "CONSOLE_TIMEZONE": "UTC",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }


@pytest.fixture
def console_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in console_environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CONSOLE_TRACKER_DB_URL", raising=False)
    monkeypatch.delenv("RASA_ENDPOINTS", raising=False)
    return tmp_path


@pytest.fixture
def writer(console_env: Path) -> ConversationWriter:
    return ConversationWriter(str(console_env / "tracker.db"))


def run_cli(env: Dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        timeout=120,
    )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Any
    body: str

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name)


@dataclass
class Client:
    """A cookie-keeping HTTP client that does not follow redirects."""

    base: str
    jar: CookieJar = field(default_factory=CookieJar)

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, data: Optional[Dict[str, str]] = None, headers: Optional[Dict[str, str]] = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        if body is None and method == "POST":
            body = b""
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.headers, exc.read().decode("utf-8", "replace"))

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, data: Optional[Dict[str, str]] = None) -> Reply:
        return self.request("POST", path, data or {})

    @staticmethod
    def csrf(html: str) -> str:
        m = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
        assert m, "no CSRF token in the page"
        return m.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Reply:
        page = self.get("/login")
        return self.post("/login", {"csrf_token": self.csrf(page.body), "username": username, "password": password, "next": "/"})

    def form_post(self, page_path: str, action: str, data: Dict[str, str]) -> Reply:
        """POST `data` to `action` with the CSRF token of `page_path`, like a browser would."""
        page = self.get(page_path)
        return self.post(action, {"csrf_token": self.csrf(page.body), **data})


@dataclass
class LiveConsole:
    url: str
    env: Dict[str, str]
    tmp: Path
    rasa: RecordingServer
    writer: ConversationWriter
    proc: subprocess.Popen

    def client(self) -> Client:
        return Client(self.url)

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return run_cli(self.env, *args, stdin=stdin)


def start_console(env: Dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "console.app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def live_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    tmp = tmp_path_factory.mktemp("console")
    rasa = RecordingServer().start()
    # staff replies look up the channel that owns the conversation (its first message)
    rasa.script("/conversations/", default=(200, {"events": [{"event": "user", "input_channel": "whatsapp"}]}, 0))
    env = {
        **console_environ(tmp),
        "RASA_URL": rasa.url,
        "RASA_JWT_SECRET": "rasa-test-jwt-secret-0123456789abcdef",
        "CONSOLE_LOCKOUT_IP_FAILURES": "1000",
    }  # the account lock-out tests all come from 127.0.0.1
    os.environ["SQLALCHEMY_SILENCE_UBER_WARNING"] = "1"
    writer = ConversationWriter(str(tmp / "tracker.db"))
    for role in ("admin", "clinician", "reception"):
        done = run_cli(env, "create-user", role, "--role", role, stdin=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
    port = free_port()
    proc = start_console(env, port, tmp / "console.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
        yield LiveConsole(f"http://127.0.0.1:{port}", env, tmp, rasa, writer, proc)
    finally:
        stop(proc)
        rasa.stop()


def seed_red_flag_conversation(
    writer: ConversationWriter, sender: str, engine_url: str, *, text: str = "I've wet myself and my back is killing me", channel: str = "whatsapp"
) -> Tuple[int, Any]:
    """A conversation as Rasa + the action server leave it after a red flag."""
    from clinic_bot.db import get_engine
    from clinic_bot.tickets import TicketStore

    w = writer
    w.save(
        sender,
        w.session()
        + [
            w.user(text, "report_red_flag", 0.97, channel=channel, entities=[{"entity": "red_flag", "value": "cauda_equina"}]),
            w.action("utter_red_flag_safety"),
            w.bot("Please call 999 now."),
            w.action("action_escalate_red_flag"),
            w.bot("I've alerted the clinic team."),
            w.slot("red_flag_category", "cauda_equina"),
            w.slot("red_flag_urgency", "emergency"),
            w.slot("handoff_active", True),
            w.action("action_listen"),
        ],
    )
    store = TicketStore(get_engine(engine_url))
    ticket, _ = store.create(
        dedupe_key=f"{sender}:red_flag:{time.time()}",
        conversation_id=sender,
        channel=channel,
        category="cauda_equina",
        urgency="emergency",
        trigger_message=text,
    )
    return ticket.id, store
