"""Shared fixtures: one real stack (Rasa server, action server, console, widget)
per test session on free loopback ports, with a temporary data folder and a
recording server standing in for the staff webhook and the WhatsApp Graph API.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from clinic_bot.launcher import DEFAULT_MODEL, Stack, free_port
from clinic_bot.origins import default_widget_origins
from tests.fakes import RecordingServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STAFF_HOOK_PATH = "/staff-hook"
SECOND_SITE_PORT = free_port()  # reserved for a second demo site the widget tests start
GRAPH_PATH = "/graph"
TEST_SECRETS = {
    "WHATSAPP_APP_SECRET": "test-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "test-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "test-access-token",
    "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
    "CONSOLE_SECRET_KEY": "test-console-secret-key-0123456789abcdef",
}


@pytest.fixture(scope="session")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(recorder: RecordingServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make test`, which trains it")
    var_dir = tmp_path_factory.mktemp("var")
    extra_env = {
        "STAFF_WEBHOOK_URL": recorder.url + STAFF_HOOK_PATH,
        "STAFF_WEBHOOK_TIMEOUT": "1",
        "STAFF_WEBHOOK_RETRIES": "3",
        "RECONCILE_EVERY_S": "1",
        "WHATSAPP_GRAPH_URL": recorder.url + GRAPH_PATH,
        "CLINIC_DB_URL": f"sqlite:///{var_dir / 'clinic.db'}",
        **TEST_SECRETS,
    }
    s = Stack(
        var_dir=var_dir,
        rasa_port=0,
        action_port=0,
        console_port=0,
        widget_port=0,
        extra_env=extra_env,
        log_dir=PROJECT_ROOT / "tests" / "artifacts" / "logs",
    )
    # the widget's socket.io answers only allowed origins: the demo site, and the second demo site
    # the widget tests start on SECOND_SITE_PORT (an unreachable-server case)
    s.extra_env["WIDGET_ORIGINS"] = " ".join([*default_widget_origins(s.widget_url), f"http://127.0.0.1:{SECOND_SITE_PORT}"])
    os.environ.update({"CLINIC_DB_URL": extra_env["CLINIC_DB_URL"], "RASA_URL": s.rasa_url, "RASA_JWT_SECRET": s.token})
    s.start()
    yield s
    s.stop()


def rest_send(stack: Stack, sender: str, text: str, timeout: float = 60.0) -> List[Dict[str, Any]]:
    """One user turn through the REST channel; returns the bot's messages."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(f"{stack.rasa_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def rasa_api(stack: Stack, method: str, path: str, payload: Any = None, timeout: float = 60.0) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        f"{stack.rasa_url}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **stack.api_headers()},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def new_sender(prefix: str = "test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
