"""Service logs without patient data, rotated and expired.

Why: a failed turn put a patient's message and sender id into var/logs/rasa.log
(Rasa's structured error records carry the message `text`, and their JSON
tracebacks include every frame's local variables), the file grew for ever and
nothing deleted it. Two layers keep patient data out:

* `install()` runs in each service process we start through our own code
  (`clinic_bot.rasa_runtime`, the staff console): a log-record factory that
  rewrites every record as it is made, whatever handler prints it. Records that
  are JSON (Rasa's structlog output) lose the fields that hold conversation
  content and the frames' local variables; all text is passed through
  `redact_text`.
* The launcher (clinic_bot/launcher.py) reads every service's output through
  `LogPump`, which applies `redact_line` again (for processes it cannot
  instrument, such as `rasa run actions`, and for text printed outside
  `logging`) and writes it with `ExpiringLogFile`: owner-only files rotated
  daily or at LOG_MAX_BYTES, copies deleted after LOG_RETENTION_DAYS.
  With LOG_FORMAT=json each line is written as one JSON object (`json_line`),
  made from the already redacted text, for log collectors that parse JSON;
  with LOG_TO_STDOUT=1 the launcher also prints each line on its own stdout
  (container platforms collect stdout, not files).

What `redact_text` removes: quoted messages ("user message '…'"), phone-like
digit runs (all but the last 3 digits), conversation ids in Rasa API paths and
in "sender '…'" / "conversation ID '…'" phrases, tokens in URLs and
Authorization headers, and SQL parameters in database errors. It cannot know arbitrary free text in an exception message:
the first layer drops the fields Rasa puts patient text in, and our own code
logs no message text. LOG_LEVEL=DEBUG makes Rasa log whole messages: never in
production.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
import threading
import time
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any, Optional

from clinic_bot.files import PRIVATE_FILE, make_private, private_dir

REMOVED = "[removed]"
MAX_LINE = 20_000

# Fields of Rasa's structured (structlog) records that hold conversation content:
# Rasa's own anonymisation list (rasa.utils.log_utils._anonymizer) plus ids.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "response_text",
        "user_text",
        "slot_values",
        "parse_data_text",
        "parse_data_entities",
        "prediction_events",
        "tracker_latest_message",
        "prefilled_slots",
        "message",
        "response",
        "slot_candidates",
        "rasa_event",
        "rasa_events",
        "tracker_states",
        "current_states",
        "old_states",
        "successes",
        "current_entity",
        "next_entity",
        "states",
        "entity",
        "token_text",
        "user_message",
        "json_message",
        "metadata",
        "entities",
        "sender_id",
        "conversation_id",
        "recipient_id",
        "wa_id",
        "events",
        "tracker",
        "parse_data",
        "body",
        "payload",
    }
)

_TOKEN_PARAM = re.compile(r"(?i)\b((?:access_|auth_)?token|secret|password)=([^&\s'\"]+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_API_CONVERSATION = re.compile(r"(/conversations/)([^/\s'\"?#]+)")
_NAMED_ID = re.compile(r"(?i)\b(sender(?:[ _]id)?|conversation(?:[ _]id)?|recipient(?:[ _]id)?)(\s*[:=]?\s*)(['\"])" r"([^'\":\s][^'\"]{0,199})\3")
_SQL_PARAMETERS = re.compile(r"\[parameters: .*")
# Plain-text records that quote what someone wrote: "user message 'I can't feel my legs'".
_QUOTED_MESSAGE = re.compile(r"(?i)\b((?:user )?message|text|utterance|user said)(\s*[:=]?\s*)(['\"])(.{1,4000}?)\3")
_LONG_DIGITS = re.compile(r"(?<![\w.])\+?\d{7,}(?![\w.])")
_SPACED_PHONE = re.compile(r"(?<![\w.:-])\+?\d{2,5}[ -]\d{3,4}[ -]?\d{3,4}(?![\w.:-])")


def _mask_digits(match: "re.Match[str]") -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "•" * (len(digits) - 3) + digits[-3:]


def _short_id(value: str) -> str:
    return f"[id …{value[-3:]}]" if len(value) > 3 else "[id]"


def redact_text(text: str) -> str:
    """`text` without tokens, conversation ids, SQL parameters or phone numbers."""
    text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
    text = _QUOTED_MESSAGE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REMOVED}{m.group(3)}", text)
    text = _TOKEN_PARAM.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} [redacted]", text)
    text = _API_CONVERSATION.sub(lambda m: m.group(1) + _short_id(m.group(2)), text)
    text = _NAMED_ID.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{_short_id(m.group(4))}{m.group(3)}", text)
    text = _LONG_DIGITS.sub(_mask_digits, text)
    return _SPACED_PHONE.sub(_mask_digits, text)


def redact_structure(value: Any, key: str = "") -> Any:
    """A structlog event dict (or part of one) without conversation content."""
    if key in SENSITIVE_KEYS and value not in (None, "", [], {}):
        return REMOVED
    if isinstance(value, dict):
        return {k: redact_structure(v, str(k)) for k, v in value.items() if k != "locals"}
    if isinstance(value, list):
        return [redact_structure(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_line(line: str) -> str:
    """One line of a service's output, ready for the log file."""
    line = line[:MAX_LINE]
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return json.dumps(redact_structure(data), ensure_ascii=False, default=str)
    return redact_text(line)


# -- in-process: every log record ------------------------------------------------------
_INSTALLED = threading.Lock()
_installed = False


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep the template, without its arguments
        message = str(record.msg)
    record.msg, record.args = redact_line(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


class _AccessLogRedactor(logging.Filter):
    """Sanic's access log prints the request line from `extra` fields, which the record
    factory never sees (they are added after it ran)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        if isinstance(request, str):
            record.request = redact_text(request)
        return True


def install() -> None:
    """Redact every log record this process makes (idempotent). Call first thing in a service."""
    global _installed
    with _INSTALLED:
        if _installed:
            return
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        logging.getLogger("sanic.access").addFilter(_AccessLogRedactor())
        logging.captureWarnings(True)  # warnings go through the factory too
        _installed = True


# -- the launcher: files ------------------------------------------------------------------
TEXT, JSON = "text", "json"
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL|EXCEPTION)\b")
_LEVEL_NAMES = {"WARN": "WARNING", "FATAL": "CRITICAL", "EXCEPTION": "ERROR"}
_STDOUT = threading.Lock()


def line_level(line: str) -> Optional[str]:
    """The level a service printed on this line, if it printed one: a structured
    record's `level` / `log_level` field, else an upper-case level name (as `logging` prints
    it) in the line's first 100 characters."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            value = data.get("level") or data.get("log_level")
            name = value.upper() if isinstance(value, str) else ""
            return _LEVEL_NAMES.get(name, name) if _LEVEL.fullmatch(name) else None
    match = _LEVEL.search(line[:100])
    return _LEVEL_NAMES.get(match.group(1), match.group(1)) if match else None


def json_line(service: str, redacted: str, when: Optional[float] = None) -> str:
    """One log line as a JSON object; `redacted` must already have been through `redact_line`."""
    ts = datetime.fromtimestamp(time.time() if when is None else when, tz=timezone.utc)
    entry: dict = {"ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "service": service}
    level = line_level(redacted)
    if level:
        entry["level"] = level
    entry["message"] = redacted
    return json.dumps(entry, ensure_ascii=False)


class ExpiringLogFile(RotatingFileHandler):
    """An owner-only log file, rotated daily or at `max_bytes`; copies older than `retention_days` are deleted.

    Rotation and the size cap are the standard library's RotatingFileHandler; this
    adds the daily rotation (so nothing stays in the live file longer than a day)
    and the expiry of old copies, which the standard handlers only do by count."""

    def __init__(self, path: Path, *, max_bytes: int, retention_days: int, max_age_s: float = 86400.0) -> None:
        path = Path(path)
        private_dir(path.parent)
        self.max_age_s = max_age_s
        self.retention_s = max(1, retention_days) * 86400.0
        super().__init__(path, maxBytes=max_bytes, backupCount=max(1, retention_days), encoding="utf-8")
        self.opened_at = time.time()
        if os.path.getsize(self.baseFilename) > 0:  # start each run on a fresh file: its age is then known
            self.doRollover()
        else:
            self.expire()

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        make_private(Path(self.baseFilename))
        return io.TextIOWrapper(os.fdopen(fd, "ab"), encoding=self.encoding or "utf-8", errors="replace")

    def due(self) -> bool:
        return time.time() - self.opened_at >= self.max_age_s

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        return bool(super().shouldRollover(record)) or self.due()

    def doRollover(self) -> None:
        super().doRollover()
        self.opened_at = time.time()
        self.expire()

    def roll_if_due(self) -> None:
        """Called periodically: a quiet service's file is rotated (and copies expired) all the same."""
        self.acquire()
        try:
            if self.due():
                self.doRollover()
            else:
                self.expire()
        finally:
            self.release()

    def expire(self) -> int:
        """Delete this log's rotated copies older than the retention period; returns how many."""
        cutoff = time.time() - self.retention_s
        base = Path(self.baseFilename)
        removed = 0
        for copy in base.parent.glob(base.name + ".*"):
            try:
                if copy.stat().st_mtime < cutoff:
                    copy.unlink()
                    removed += 1
                else:
                    make_private(copy)
            except FileNotFoundError:
                pass
        return removed


class LogPump:
    """Copies a child process's output, line by line and redacted, into an ExpiringLogFile (a thread).

    `log_format` "json" writes each line as `json_line`; `to_stdout` also prints it on
    this process's stdout (in text format prefixed with the service name, so lines of
    several services stay apart)."""

    def __init__(
        self,
        stream: IO[bytes],
        path: Path,
        *,
        max_bytes: int,
        retention_days: int,
        log_format: str = TEXT,
        to_stdout: bool = False,
        service: str = "",
    ) -> None:
        if log_format not in (TEXT, JSON):
            raise ValueError(f"LOG_FORMAT must be {TEXT} or {JSON}, not {log_format!r}")
        self.stream = stream
        self._closed = False
        self.log_format = log_format
        self.to_stdout = to_stdout
        self.service = service or Path(path).stem
        self.file = ExpiringLogFile(path, max_bytes=max_bytes, retention_days=retention_days)
        self.file.setFormatter(logging.Formatter("%(message)s"))
        self.thread = threading.Thread(target=self._run, name=f"log-pump-{Path(path).stem}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for raw in iter(self.stream.readline, b""):
                if self._closed:  # a grandchild kept the pipe open after stop: stop writing
                    break
                line = self.format(redact_line(raw.decode("utf-8", "replace").rstrip("\r\n")))
                record = logging.LogRecord("service", logging.INFO, __file__, 0, line, None, None)
                self.file.handle(record)
                if self.to_stdout:
                    self._print(line)
        except (OSError, ValueError):  # the stream was closed under us (stop)
            pass
        finally:
            self.file.flush()

    def format(self, redacted: str) -> str:
        return json_line(self.service, redacted) if self.log_format == JSON else redacted

    def _print(self, line: str) -> None:
        with _STDOUT:  # one pump thread per service: whole lines, never interleaved
            sys.stdout.write((line if self.log_format == JSON else f"[{self.service}] {line}") + "\n")
            sys.stdout.flush()

    def close(self, timeout_s: float = 5.0) -> None:
        """After the process exited: wait for its last lines, then close the file."""
        self.thread.join(timeout_s)
        self._closed = True
        self.file.close()


def open_pump(stream: Optional[IO[bytes]], path: Path, settings: Any) -> Optional[LogPump]:
    if stream is None:
        return None
    return LogPump(
        stream,
        path,
        max_bytes=settings.log_max_bytes,
        retention_days=settings.log_retention_days,
        log_format=settings.log_format,
        to_stdout=settings.log_to_stdout,
    )
