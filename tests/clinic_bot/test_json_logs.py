"""LOG_FORMAT=json and LOG_TO_STDOUT=1 (clinic_bot/logs.py): every line a JSON object, made
from the already redacted text, and the same lines on the launcher's stdout."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import List

import pytest

from clinic_bot.launcher import PROJECT_ROOT, Service, Stack
from clinic_bot.logs import LogPump, json_line, line_level

PATIENT_TEXT = "my legs went numb and I wet myself"
PHONE = "447700900123"
LINES = [
    f"handling user message '{PATIENT_TEXT}' from sender '{PHONE}'",
    json.dumps({"event": "rest.message.received.failure", "level": "error", "text": PATIENT_TEXT, "sender_id": PHONE}),
    f"2025-01-02 10:00:00 WARNING  rasa.core.processor  - Circuit breaker tripped for sender '{PHONE}'.",
    f"call me on +44 7700 900123 please, user said {PATIENT_TEXT!r}",
    "",
    '{"not json": ',
]


def pump(tmp_path: Path, lines: List[str], **kwargs) -> Path:
    path = tmp_path / "logs" / "rasa.log"
    p = LogPump(io.BytesIO("\n".join(lines).encode() + b"\n"), path, max_bytes=kwargs.pop("max_bytes", 1_000_000), retention_days=2, **kwargs)
    p.close()
    return path


def entries(path: Path) -> List[dict]:
    return [json.loads(line) for copy in sorted(path.parent.iterdir()) for line in copy.read_text().splitlines()]


def test_every_line_is_a_json_object_with_the_patient_data_removed(tmp_path) -> None:
    path = pump(tmp_path, LINES, log_format="json")
    raw = path.read_text()
    assert PATIENT_TEXT not in raw and PHONE not in raw and "7700 900123" not in raw
    logged = entries(path)  # every line parses
    assert len(logged) == len(LINES)
    for entry in logged:
        assert set(entry) <= {"ts", "service", "level", "message"} and entry["service"] == "rasa"
        ts = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00"))
        assert ts.utcoffset() == timedelta(0)
    assert logged[0]["message"].startswith("handling user message '[removed]' from sender '[id …123]'")
    assert json.loads(logged[1]["message"])["text"] == "[removed]" and logged[1]["level"] == "ERROR"
    assert logged[2]["level"] == "WARNING" and "level" not in logged[0]
    assert logged[3]["message"].endswith("123 please, user said '[removed]'") and logged[4]["message"] == ""


def test_json_lines_rotate_like_text_lines(tmp_path) -> None:
    path = pump(tmp_path, [f"line {i} from 07700900{i:03d}" for i in range(20)], log_format="json", max_bytes=1500)
    assert len(list(path.parent.iterdir())) > 1  # rotated at the size cap
    logged = entries(path)
    assert len(logged) == 20 and all("07700900" not in e["message"] for e in logged)


def test_text_stays_the_default_and_stdout_gets_each_redacted_line(tmp_path, capsys) -> None:
    path = pump(tmp_path, LINES[:1], to_stdout=True)
    assert path.read_text() == "handling user message '[removed]' from sender '[id …123]'\n"
    assert capsys.readouterr().out == "[rasa] handling user message '[removed]' from sender '[id …123]'\n"
    pump(tmp_path / "json", LINES[:2], log_format="json", to_stdout=True)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(json.loads(line)["service"] == "rasa" for line in out)
    assert PATIENT_TEXT not in "".join(out) and PHONE not in "".join(out)


def test_an_unknown_format_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        pump(tmp_path, ["x"], log_format="yaml")


def test_levels_are_read_only_where_a_logger_printed_them() -> None:
    assert line_level("[2025-01-02 10:00:00 +0000] [123] [INFO] Goin' Fast @ http://127.0.0.1:5005") == "INFO"
    assert line_level("WARNING:console.reconcile:recovered a lost escalation") == "WARNING"
    assert line_level("the patient said there was an error") is None  # words in a message are not levels
    assert line_level('{"level": "<b>x</b>"}') is None
    assert json.loads(json_line("console", "CRITICAL boom", when=0))["ts"] == "1970-01-01T00:00:00.000Z"


def test_the_launcher_applies_the_settings(tmp_path, monkeypatch, capfd) -> None:
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_TO_STDOUT", "1")
    stack = Stack(var_dir=tmp_path / "var", with_console=False, with_widget=False, with_actions=False)
    talk = f"print({LINES[0]!r}); print({LINES[1]!r})"
    svc = Service("fake service", [sys.executable, "-c", talk], "", "")
    stack.services = [svc]
    stack._spawn(svc, {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    svc.proc.wait(30)
    stack.stop_service("fake service")
    logged = entries(tmp_path / "var" / "logs" / "fake.log")
    assert [e["service"] for e in logged] == ["fake", "fake"]
    out = [line for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert [json.loads(line)["message"] for line in out] == [e["message"] for e in logged]
    assert PATIENT_TEXT not in "".join(out) and PHONE not in "".join(out)
