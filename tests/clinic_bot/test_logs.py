"""Service logs hold no patient data, rotate and expire; the project's files are owner-only
(issue 11, item 8 and low).

Probe: var/logs/rasa.log held a patient's message and sender id from a failed turn
(Rasa's structured error record plus its traceback's local variables), was never
rotated or deleted, and logs, databases and secrets were world-readable.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from clinic_bot.launcher import PROJECT_ROOT, Service, Stack
from clinic_bot.logs import ExpiringLogFile, redact_line

PATIENT_TEXT = "my legs went numb and I wet myself"
PHONE = "447700900123"

# What a failed REST turn makes Rasa log, run under clinic_bot.rasa_runtime's main()
# with Rasa's own structlog set-up (JSON records, tracebacks with locals).
RASA_FAILED_TURN = textwrap.dedent(f"""
    import logging, sys
    import structlog
    import clinic_bot.rasa_runtime as runtime

    def fake_rasa_main():
        from rasa.utils.log_utils import configure_structlog
        configure_structlog(logging.INFO)
        structlogger = structlog.get_logger("rasa.core.channels.rest")
        sender_id, text = "{PHONE}", "{PATIENT_TEXT}"
        try:
            raise ValueError("handling failed")
        except ValueError:
            structlogger.exception("rest.message.received.failure", text=text)
        logging.getLogger("rasa.core.processor").warning(
            "Circuit breaker tripped. Stopped predicting more actions for sender '%s'.", sender_id)
        access = logging.StreamHandler(sys.stdout)  # Sanic's access format prints the request line from `extra`
        access.setFormatter(logging.Formatter("access: %(request)s %(status)s"))
        logging.getLogger("sanic.access").addHandler(access)
        logging.getLogger("sanic.access").info("", extra={{"request": "POST http://h/conversations/{PHONE}/tracker/events?token=s3cr3t-token", "status": 200, "byte": 2, "host": "x"}})

    runtime.rasa_main = fake_rasa_main
    runtime.main()
""")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_rasas_own_process_logs_no_patient_text(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", RASA_FAILED_TURN],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    out = done.stdout + done.stderr
    assert "rest.message.received.failure" in out and "Circuit breaker" in out and "access: POST" in out, out[-2000:]
    assert PATIENT_TEXT not in out
    assert PHONE not in out
    assert "s3cr3t-token" not in out
    assert '"locals"' not in out  # tracebacks keep their frames, not the frames' variables


def test_the_launcher_writes_service_output_redacted_and_owner_only(tmp_path):
    stack = Stack(var_dir=tmp_path / "var", with_console=False, with_widget=False, with_actions=False)
    talk = (
        f"import json; print('handling user message \\'{PATIENT_TEXT}\\' from sender \\'{PHONE}\\'');"
        f"print(json.dumps({{'event': 'x', 'text': '{PATIENT_TEXT}', 'sender_id': '{PHONE}'}}));"
        f"open({str(tmp_path / 'made-by-child.txt')!r}, 'w').close()"
    )
    svc = Service("fake service", [sys.executable, "-c", talk], "", "")
    stack.services = [svc]
    stack._spawn(svc, {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    svc.proc.wait(30)
    stack.stop_service("fake service")
    log = tmp_path / "var" / "logs" / "fake.log"
    text = log.read_text()
    assert "handling user message" in text and '"event": "x"' in text
    assert PATIENT_TEXT not in text and PHONE not in text
    assert _mode(log) == 0o600 and _mode(log.parent) == 0o700
    assert _mode(tmp_path / "made-by-child.txt") == 0o600  # the children's umask: what they create is owner-only


def test_secrets_and_the_data_folder_are_owner_only(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    stack = Stack(var_dir=var)
    assert _mode(var) == 0o700
    assert _mode(var / "secrets") == 0o700
    for name in ("rasa_jwt_secret", "console_secret_key", "action_server_secret", "widget_session_secret", "staff_webhook_secret"):
        if not os.environ.get(name.upper()):
            assert _mode(var / "secrets" / name) == 0o600
    assert stack.token


def test_log_files_rotate_by_size_and_day_and_copies_expire(tmp_path):
    path = tmp_path / "logs" / "rasa.log"
    log = ExpiringLogFile(path, max_bytes=200, retention_days=2)
    import logging

    def write(line: str) -> None:
        log.handle(logging.LogRecord("t", logging.INFO, __file__, 0, line, None, None))

    for i in range(20):
        write(f"line {i} " + "x" * 40)
    copies = sorted(p.name for p in path.parent.iterdir())
    assert copies[0] == "rasa.log" and "rasa.log.1" in copies  # rotated at the size cap
    assert all(_mode(p) == 0o600 for p in path.parent.iterdir())
    # a copy older than the retention period is deleted at the next rotation
    old = path.parent / "rasa.log.2"
    old_time = time.time() - 3 * 86400
    os.utime(old, (old_time, old_time))
    log.opened_at -= 86400 + 1  # a day has passed: even a quiet log is rotated
    log.roll_if_due()
    assert all(p.stat().st_mtime > old_time + 3600 for p in path.parent.iterdir())  # the old copy is gone
    assert path.stat().st_size == 0
    log.close()
    # a restart begins a fresh file, so nothing in the live file is older than a day
    write_again = ExpiringLogFile(path, max_bytes=10_000, retention_days=2)
    write_again.close()


def test_redaction_rules():
    line = (
        f"POST /conversations/{PHONE}/tracker/events?token=abc123def call me on 07700 900123 "
        "[SQL: INSERT INTO t VALUES (?)] [parameters: ('I wet myself',)]"
    )
    out = redact_line(line)
    assert PHONE not in out and "abc123def" not in out and "900123" not in out and "wet myself" not in out
    assert "2026-12-01 13:47:13,171" in redact_line("2026-12-01 13:47:13,171 INFO started")  # dates stay
