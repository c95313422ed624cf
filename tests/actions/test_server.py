"""The action server as `make run` starts it: loopback only, and only Rasa may call it.

Runs the real entry point (python -m actions.server) on a free port. A forged
POST to /webhook used to open an emergency ticket and alert staff without going
through Rasa (issue 11.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest

from actions.server import SECRET_HEADER, build_app, secret_matches
from clinic_bot.launcher import PROJECT_ROOT, free_port, wait_http

SECRET = "test-action-secret-0123456789"
FORGED_RED_FLAG = {
    "next_action": "action_escalate_red_flag",
    "sender_id": "attacker",
    "version": "3.6.21",
    "domain": {},
    "tracker": {
        "sender_id": "attacker",
        "slots": {},
        "events": [],
        "latest_message": {"text": "forged", "intent": {"name": "report_red_flag"}, "entities": [{"entity": "red_flag", "value": "cauda_equina"}]},
        "latest_input_channel": "rest",
        "active_loop": {},
        "paused": False,
        "latest_event_time": 0,
        "followup_action": None,
        "latest_action_name": None,
    },
}


def call(url: str, body: Optional[dict] = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, dict, Dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", "Origin": "https://evil.example", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("actions-var")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ACTION_SERVER_SECRET": SECRET,
        "CLINIC_VAR_DIR": str(var),
        "CLINIC_DB_URL": f"sqlite:///{var / 'clinic.db'}",
    }
    env.pop("ACTION_HOST", None)
    log = open(var / "actions.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(port)], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 120, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_secret_check_fails_closed() -> None:
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(None, SECRET) and not secret_matches("wrong", SECRET)
    assert not secret_matches("", "")  # no secret configured: nobody gets in
    with pytest.raises(ValueError):
        build_app("")


def test_forged_webhook_call_is_refused_and_opens_no_ticket(action_server: str, tmp_path_factory) -> None:
    status, body, headers = call(f"{action_server}/webhook", FORGED_RED_FLAG)
    assert status == 401 and "unauthorised" in body["error"]
    status, _, _ = call(f"{action_server}/webhook", FORGED_RED_FLAG, {SECRET_HEADER: "guess"})
    assert status == 401
    status, _, _ = call(f"{action_server}/actions")
    assert status == 401
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_rasa_with_the_secret_is_served(action_server: str) -> None:
    status, body, headers = call(f"{action_server}/actions", headers={SECRET_HEADER: SECRET})
    assert status == 200 and {"name": "action_escalate_red_flag"} in body
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_errors_do_not_echo_the_conversation(action_server: str) -> None:
    broken = {**FORGED_RED_FLAG, "tracker": {"sender_id": "x", "latest_message": "patient says: my secret symptom"}}
    status, body, _ = call(f"{action_server}/webhook", broken, {SECRET_HEADER: SECRET})
    assert status >= 400
    assert "secret symptom" not in json.dumps(body)


def test_listens_on_loopback_only(action_server: str) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("`ss` (iproute2) is not available to list listening sockets")
    local_addresses = [line.split()[3] for line in out.stdout.splitlines() if line.strip()]
    assert local_addresses and all(a.startswith("127.0.0.1:") for a in local_addresses), local_addresses


def test_endpoints_send_the_secret() -> None:
    for name in ("endpoints.yml", "endpoints.production.yml"):
        text = (Path(PROJECT_ROOT) / name).read_text()
        assert "X-Action-Secret: ${ACTION_SERVER_SECRET}" in text, name
