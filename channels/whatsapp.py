"""WhatsApp Cloud API (Meta) channel for Rasa 3.6.

Webhook: ``/webhooks/whatsapp/webhook`` (GET = Meta's verification handshake,
POST = signed notifications). Replies go to ``{graph_url}/{phone_number_id}/messages``.

Design notes
* Secrets (app secret, verify token, access token) come from the environment only;
  credentials.yml may override non-secret values. Without them the channel answers
  503 instead of crashing the Rasa server.
* Every POST is authenticated with ``X-Hub-Signature-256`` over the raw body before
  anything is parsed. Bodies are capped (413); bad JSON or shape gives 400, never 500.
* Valid webhooks get 200 at once; messages are handled in a background task so a
  slow turn never makes Meta time out and redeliver.
* A WhatsApp message id is claimed in ``whatsapp_processed_messages`` (unique
  column) *before* it is handled, so a redelivered or concurrently duplicated
  notification is never answered twice, across restarts too.
* Phone numbers are personal data: logs show only the last 3 digits, and message
  ids (which encode the number) only as a short hash.
* Delivery failures are recorded (clinic_bot/deliveries.py) so staff see them in
  the console: sends the Graph API refuses or that never get through, and
  `failed` delivery statuses WhatsApp reports later (e.g. the 24-hour window had
  closed). Staff replies that were accepted are recorded with a hash of their
  message id, so a later `failed` status is shown on the reply.
* The Graph API version is a setting (`WHATSAPP_GRAPH_VERSION`); Meta supports
  each version for about two years, and a version past its end of support is
  warned about at start-up.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Text, Tuple

import aiohttp
import sqlalchemy as sa
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine

from clinic_bot.db import get_engine, metadata
from clinic_bot.deliveries import DeliveryLog
from clinic_bot.safety import load_table, message_urgency

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
GRAPH_HOST = "https://graph.facebook.com"
# Meta's Graph API versions and their end of support ("Expiration Date" in
# https://developers.facebook.com/docs/graph-api/changelog/versions/). v19.0, the
# old default, stopped on 21 May 2026. Update the default when Meta announces an
# end date within a year; WHATSAPP_GRAPH_VERSION overrides it.
DEFAULT_GRAPH_VERSION = "v25.0"
GRAPH_VERSION_END_OF_SUPPORT = {
    "v19.0": date(2026, 5, 21), "v20.0": date(2026, 9, 24), "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20), "v23.0": date(2027, 10, 8), "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}
DEFAULT_GRAPH_URL = f"{GRAPH_HOST}/{DEFAULT_GRAPH_VERSION}"
_GRAPH_VERSION_RE = re.compile(r"^v\d+\.\d+$")

# WhatsApp limits (Cloud API docs). Text bodies may be 4096 characters; we stay a
# little below because WhatsApp counts some emoji as two characters.
TEXT_LIMIT = 4000
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_REPLY_BUTTONS = 3
LIST_ROW_TITLE_LIMIT = 24
LIST_ROW_DESCRIPTION_LIMIT = 72
LIST_ROW_ID_LIMIT = 200
LIST_BUTTON_LABEL_LIMIT = 20
LIST_SECTION_TITLE_LIMIT = 24
MAX_LIST_ROWS = 10
MAX_CHALLENGE_LENGTH = 512
MAX_BACKOFF_S = 30.0

URGENT_MARKER = "⚠️ "

UNSUPPORTED_REPLY = (
    "Sorry, I can only read text messages, so I couldn't open that. "
    "Please type your question, or write \"talk to a person\" to reach the clinic team."
)
CAPTION_NOTE = "I can't open attachments, so I've only read the text you sent with it."
DEFAULT_BODY = "Please choose an option:"
# Message types that need no answer at all (a reaction to our message, a number change notice...).
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})
CAPTIONED_TYPES = frozenset({"image", "video", "document"})

ENV_NAMES = {
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "graph_url": "WHATSAPP_GRAPH_URL",
    "graph_version": "WHATSAPP_GRAPH_VERSION",
}
SECRET_KEYS = frozenset({"app_secret", "verify_token", "access_token"})


# --------------------------------------------------------------------------- privacy


def mask_phone(number: Any) -> str:
    """``447700900123`` -> ``*********123``: enough to tell people apart in logs, no more."""
    digits = str(number or "")
    if len(digits) <= 3:
        return "***"
    return "*" * (len(digits) - 3) + digits[-3:]


_LONG_DIGITS = re.compile(r"\+?\d{6,}")
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")


def message_ref(message_id: Any) -> str:
    """A log-safe reference to a WhatsApp message id (wamid.* ids encode the sender's number)."""
    return "msg#" + hashlib.sha256(str(message_id).encode("utf-8")).hexdigest()[:12]


def redact(text: Any, limit: int = 300) -> str:
    """Mask anything that looks like a phone number in text that is about to be logged."""
    text = _WAMID.sub(lambda m: message_ref(m.group(0)), str(text))
    return _LONG_DIGITS.sub(lambda m: mask_phone(m.group(0)), text)[:limit]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class WhatsAppConfig:
    app_secret: str = ""
    verify_token: str = ""
    access_token: str = ""
    phone_number_id: str = ""
    graph_version: str = DEFAULT_GRAPH_VERSION
    graph_url: str = ""  # empty: https://graph.facebook.com/<graph_version>
    timeout_s: float = 10.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_body_bytes: int = 256 * 1024
    list_button_label: str = "Choose"
    unsupported_reply: str = UNSUPPORTED_REPLY

    def __post_init__(self) -> None:
        if not self.graph_url:
            object.__setattr__(self, "graph_url", f"{GRAPH_HOST}/{self.graph_version}")

    def graph_version_warning(self, today: Optional[date] = None) -> Optional[str]:
        """Why the Graph API version in use needs attention (past or near Meta's end of support), if it does."""
        match = re.search(r"/(v\d+\.\d+)(?:/|$)", self.graph_url)
        version = match.group(1) if match else None
        if version is None:
            return None
        today = today or date.today()
        end = GRAPH_VERSION_END_OF_SUPPORT.get(version)
        major = float(version[1:])
        oldest = min(float(v[1:]) for v in GRAPH_VERSION_END_OF_SUPPORT)
        if (end is not None and end <= today) or (end is None and major < oldest):
            return (f"Graph API {version} is past Meta's end of support; sends may fail. "
                    f"Set WHATSAPP_GRAPH_VERSION (default {DEFAULT_GRAPH_VERSION}).")
        if end is not None and (end - today).days < 90:
            return f"Graph API {version} reaches Meta's end of support on {end.isoformat()}; set WHATSAPP_GRAPH_VERSION to a newer one."
        return None

    @property
    def missing(self) -> List[str]:
        """Environment variables that must be set before the channel can work."""
        return [ENV_NAMES[k] for k in ("app_secret", "verify_token", "access_token", "phone_number_id") if not getattr(self, k)]

    @property
    def configured(self) -> bool:
        return not self.missing

    @property
    def messages_url(self) -> str:
        return f"{self.graph_url.rstrip('/')}/{self.phone_number_id}/messages"

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None) -> "WhatsAppConfig":
        """Secrets from the environment; non-secret values from env, then credentials.yml overrides."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for key, var in ENV_NAMES.items():
            value = str(env.get(var, "") or "").strip()
            if value:
                values[key] = value

        numeric = {"timeout_s": float, "max_attempts": int, "backoff_s": float, "max_body_bytes": int}
        known = {f.name for f in fields(cls)}
        for key, raw in dict(credentials or {}).items():
            if key in SECRET_KEYS:
                logger.warning(
                    "whatsapp: ignoring '%s' in credentials.yml; secrets are read from %s only", key, ENV_NAMES[key]
                )
                continue
            if key not in known:
                logger.warning("whatsapp: unknown credentials key '%s' ignored", key)
                continue
            if raw is None or raw == "":
                continue
            if key in numeric:
                try:
                    value = numeric[key](raw)
                    if value < 0 or (value == 0 and key != "backoff_s"):
                        raise ValueError("out of range")
                except (TypeError, ValueError):
                    logger.warning("whatsapp: credentials key '%s' has an invalid value; using the default", key)
                    continue
                values[key] = value
            else:
                values[key] = str(raw).strip()
        if "graph_version" in values and not _GRAPH_VERSION_RE.match(values["graph_version"]):
            logger.warning("whatsapp: the Graph API version must look like v25.0; using %s", DEFAULT_GRAPH_VERSION)
            values.pop("graph_version")
        return cls(**values)


# --------------------------------------------------------------------------- redelivery guard

# Holds a SHA-256 of each WhatsApp message id, not the id itself: wamid.* ids are
# base64 and contain the sender's phone number.
processed_messages_table = sa.Table(
    "whatsapp_processed_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(64), nullable=False, unique=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


class ProcessedMessageStore:
    """Remembers handled WhatsApp message ids; the unique column makes a claim atomic."""

    RETENTION = timedelta(days=30)  # Meta retries failed deliveries for up to 7 days

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            processed_messages_table.create(engine, checkfirst=True)
        except sa.exc.OperationalError:  # created concurrently by another process
            pass

    @staticmethod
    def key(message_id: str) -> str:
        return hashlib.sha256(message_id.encode("utf-8")).hexdigest()

    def claim(self, message_id: str) -> bool:
        """True if this call recorded the id first (so it should be answered)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    processed_messages_table.insert().values(
                        message_key=self.key(message_id), received_at=datetime.now(timezone.utc)
                    )
                )
            return True
        except sa.exc.IntegrityError:
            return False

    def prune(self, older_than: timedelta = RETENTION) -> int:
        cutoff = datetime.now(timezone.utc) - older_than
        with self.engine.begin() as conn:
            return conn.execute(
                processed_messages_table.delete().where(processed_messages_table.c.received_at < cutoff)
            ).rowcount


# --------------------------------------------------------------------------- text helpers

_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+"),  # sentence
    re.compile(r"\n\s*"),  # line
    re.compile(r"(?<=[;:,])\s+"),  # clause
    re.compile(r"\s+"),  # word
)


def _cut_position(text: str, limit: int) -> Tuple[int, int]:
    """Where to end the first chunk (<= limit) and where the next one starts."""
    window = text[: limit + 1]
    for min_pos in (limit // 2, 1):
        for pattern in _BOUNDARIES:
            best = None
            for m in pattern.finditer(window):
                if min_pos <= m.start() <= limit:
                    best = m
            if best is not None:
                return best.start(), best.end()
    return limit, limit


def split_text(text: Optional[str], limit: int = TEXT_LIMIT) -> List[str]:
    """Split text into chunks of at most `limit` characters, preferring paragraph and sentence ends."""
    rest = (text or "").strip()
    parts: List[str] = []
    while len(rest) > limit:
        end, start = _cut_position(rest, limit)
        head = rest[:end].rstrip()
        if head:
            parts.append(head)
        rest = rest[start:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def split_label(text: str, limit: int) -> Tuple[str, str]:
    """Shorten `text` to `limit` characters at a word boundary (with '…'); also return what was cut off."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text, ""
    words = text.split(" ")
    head = ""
    used = 0
    for i, word in enumerate(words):
        candidate = f"{head} {word}" if head else word
        if len(candidate) + 1 > limit:
            break
        head, used = candidate, i + 1
    if not head:  # one very long word
        head = text[: limit - 1]
        return head.rstrip() + "…", text[limit - 1 :]
    head = head.rstrip(" ,;:-–")
    return head + "…", " ".join(words[used:])


def shorten(text: str, limit: int) -> str:
    return split_label(text, limit)[0]


def _unique_title(title: str, seen: Set[str], limit: int) -> str:
    candidate, n = title, 2
    while candidate in seen:
        suffix = f" ({n})"
        candidate = shorten(title, limit - len(suffix)) + suffix
        n += 1
    seen.add(candidate)
    return candidate


def with_urgency_marker(text: str, message: Any) -> str:
    """`text` with a warning sign in front when `message` (a bot response) is marked urgent.

    Text-only channels cannot style a message, so the urgencies marked in
    config/safety.yml get a visible marker; where the urgency is read from is
    `clinic_bot.safety.message_urgency`."""
    if text and message_urgency(message) in load_table().marked_urgencies:
        if not text.startswith(URGENT_MARKER.strip()):
            return URGENT_MARKER + text
    return text


# --------------------------------------------------------------------------- output


@functools.lru_cache(maxsize=8)
def delivery_log(engine: Engine) -> DeliveryLog:
    """One DeliveryLog per database (its constructor makes sure the table exists)."""
    return DeliveryLog(engine)


@dataclass(frozen=True)
class _Sending:
    """What is being sent, for the delivery record (set per response by send_response)."""

    staff_reply: bool = False


_SENDING: "contextvars.ContextVar[_Sending]" = contextvars.ContextVar("whatsapp_sending", default=_Sending())


class WhatsAppOutput(OutputChannel):
    """Sends bot messages through the Graph API. Never raises into Rasa's message handling;
    failures are logged and recorded for staff (clinic_bot/deliveries.py)."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, config: WhatsAppConfig, engine: Optional[Engine] = None) -> None:
        self.config = config
        self._engine = engine

    # ----- delivery records

    def _write_delivery(self, method: str, *args: Any, **kwargs: Any) -> None:
        getattr(delivery_log(self._engine or get_engine()), method)(*args, **kwargs)

    async def _record(self, method: str, recipient: Any, *args: Any, **kwargs: Any) -> None:
        """Write a delivery record off the event loop; a database problem is logged, never raised."""
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self._write_delivery, method, str(recipient), CHANNEL_NAME, *args, **kwargs))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("whatsapp: could not record the delivery outcome for %s", mask_phone(recipient))

    # ----- transport

    async def _post(self, payload: Dict[str, Any]) -> bool:
        cfg = self.config
        who = mask_phone(payload.get("to"))
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": f"Bearer {cfg.access_token}", "Content-Type": "application/json"}
        attempts = max(1, int(cfg.max_attempts))
        last_error = "not attempted"
        error_code: Optional[str] = None
        reason = ""
        attempt = 0
        sending = _SENDING.get()
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=cfg.timeout_s)) as session:
                for attempt in range(1, attempts + 1):
                    retry_after: Optional[float] = None
                    try:
                        async with session.post(cfg.messages_url, data=body, headers=headers) as resp:
                            if 200 <= resp.status < 300:
                                if sending.staff_reply:  # so a later `failed` status lands on this reply
                                    message_id = _graph_message_id(await resp.text())
                                    if message_id:
                                        await self._record("record_sent", payload.get("to"), message_id)
                                return True
                            text = await resp.text()
                            code, reason = _graph_error_parts(text)
                            error_code = str(code) if code else f"HTTP {resp.status}"
                            last_error = f"HTTP {resp.status}{_graph_error(text)}"
                            if resp.status < 500 and resp.status != 429:
                                break  # a request WhatsApp refuses will not pass on retry
                            retry_after = _retry_after(resp.headers.get("Retry-After"))
                    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                        last_error = type(exc).__name__ + (f": {redact(exc)}" if str(exc) else "")
                        error_code, reason = None, f"WhatsApp could not be reached ({type(exc).__name__})"
                    if attempt < attempts:
                        delay = cfg.backoff_s * (2 ** (attempt - 1))
                        if retry_after is not None:
                            delay = max(delay, retry_after)
                        await asyncio.sleep(min(delay, MAX_BACKOFF_S))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let a send failure break the conversation
            last_error = f"{type(exc).__name__}: {redact(exc)}"
            error_code, reason = None, f"sending failed ({type(exc).__name__})"
        logger.warning("whatsapp: sending a %s message to %s failed after %d attempt(s): %s",
                       payload.get("type"), who, attempt, last_error)
        await self._record("record_failure", payload.get("to"), error_code=error_code,
                           reason=redact(reason or last_error, 300), staff_reply=sending.staff_reply, source="send")
        return False

    async def _send(self, recipient_id: Text, message: Dict[str, Any]) -> bool:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": str(recipient_id), **message}
        try:
            return await self._post(payload)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - _post already catches everything
            logger.exception("whatsapp: unexpected error sending to %s", mask_phone(recipient_id))
            return False

    # ----- Rasa OutputChannel API

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # Staff replies (console, through Rasa's HTTP API) carry `staff_reply` from their metadata.
        token = _SENDING.set(_Sending(staff_reply=bool(message.get("staff_reply"))))
        try:
            message = dict(message)
            if message.get("text"):
                # WhatsApp can't style text: an urgent safety message is marked instead.
                message["text"] = with_urgency_marker(str(message["text"]), message)
            await super().send_response(recipient_id, message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("whatsapp: could not send a response to %s", mask_phone(recipient_id))
        finally:
            _SENDING.reset(token)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in split_text(text):
            await self._send(recipient_id, {"type": "text", "text": {"preview_url": False, "body": part}})

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        buttons = [b for b in (buttons or []) if isinstance(b, dict) and (b.get("title") or b.get("payload"))]
        if not buttons:
            await self.send_text_message(recipient_id, text)
            return
        if len(buttons) > MAX_LIST_ROWS:
            logger.warning("whatsapp: %d buttons, WhatsApp allows %d; sending the first %d",
                           len(buttons), MAX_LIST_ROWS, MAX_LIST_ROWS)
            buttons = buttons[:MAX_LIST_ROWS]
        parts = split_text(text)
        if parts and len(parts[-1]) > INTERACTIVE_BODY_LIMIT:
            parts = parts[:-1] + split_text(parts[-1], INTERACTIVE_BODY_LIMIT)
        body = parts.pop() if parts else DEFAULT_BODY
        for part in parts:  # long text: the lead-in goes first as plain text
            await self._send(recipient_id, {"type": "text", "text": {"preview_url": False, "body": part}})
        if len(buttons) <= MAX_REPLY_BUTTONS:
            interactive = self._reply_buttons(body, buttons)
        else:
            interactive = self._list(body, buttons)
        await self._send(recipient_id, {"type": "interactive", "interactive": interactive})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, {"type": "image", "image": {"link": str(image)}})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """`custom: {whatsapp: {...}}` is passed through as a Graph message; `custom.text` is sent as text.

        Anything else (e.g. only `urgency`) has no WhatsApp form and is not dumped at the person.
        """
        if not isinstance(json_message, dict):
            return
        raw = json_message.get("whatsapp")
        if isinstance(raw, dict) and raw.get("type"):
            await self._send(recipient_id, {k: v for k, v in raw.items() if k not in ("to", "messaging_product")})
        elif json_message.get("text"):
            # kwargs: the rest of the response, its `metadata` included
            await self.send_text_message(recipient_id, with_urgency_marker(str(json_message["text"]), kwargs))
        else:
            logger.debug("whatsapp: custom payload without a WhatsApp form skipped (keys: %s)", sorted(json_message))

    # ----- interactive payloads

    @staticmethod
    def _button_id(button: Dict[str, Any], limit: int) -> str:
        payload = str(button.get("payload") or button.get("title") or "").strip()
        if len(payload) <= limit:
            return payload
        # Too long for WhatsApp: fall back to the title, which the NLU reads as text.
        logger.warning("whatsapp: button payload longer than %d characters; using its title instead", limit)
        return " ".join(str(button.get("title") or payload).split())[:limit]

    def _reply_buttons(self, body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
        items, ids, titles = [], set(), set()
        for button in buttons:
            bid = self._button_id(button, BUTTON_ID_LIMIT)
            if not bid or bid in ids:
                continue
            ids.add(bid)
            title = _unique_title(shorten(str(button.get("title") or bid), BUTTON_TITLE_LIMIT), titles, BUTTON_TITLE_LIMIT)
            items.append({"type": "reply", "reply": {"id": bid, "title": title}})
        return {"type": "button", "body": {"text": body}, "action": {"buttons": items}}

    def _list(self, body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
        rows, ids, titles = [], set(), set()
        for button in buttons:
            rid = self._button_id(button, LIST_ROW_ID_LIMIT)
            if not rid or rid in ids:
                continue
            ids.add(rid)
            head, rest = split_label(str(button.get("title") or rid), LIST_ROW_TITLE_LIMIT)
            row: Dict[str, Any] = {"id": rid, "title": _unique_title(head, titles, LIST_ROW_TITLE_LIMIT)}
            description = str(button.get("description") or (f"…{rest}" if rest else "")).strip()
            if description:
                row["description"] = shorten(description, LIST_ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        label = shorten(self.config.list_button_label or "Choose", LIST_BUTTON_LABEL_LIMIT)
        return {
            "type": "list",
            "body": {"text": body},
            "action": {"button": label, "sections": [{"title": shorten("Options", LIST_SECTION_TITLE_LIMIT), "rows": rows}]},
        }


def _graph_error_parts(body: str) -> Tuple[Optional[Any], str]:
    """(code, message) of a Graph API error body; the message is redacted for logs and records."""
    try:
        err = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        return None, ""
    if not isinstance(err, dict):
        return None, ""
    return err.get("code"), redact(err.get("message") or err.get("title") or "", 200)


def _graph_error(body: str) -> str:
    code, msg = _graph_error_parts(body)
    return f" (code {code}: {msg})" if code or msg else ""


def _graph_message_id(body: str) -> Optional[str]:
    """The id WhatsApp gave an accepted message: {"messages": [{"id": "wamid..."}]}."""
    try:
        messages = json.loads(body).get("messages")
        return str(messages[0]["id"]) if messages else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return None


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- input


@dataclass
class IncomingMessage:
    message_id: str
    wa_id: str
    msg_type: str
    text: str = ""
    kind: str = "text"  # text | caption | unsupported
    timestamp: Optional[str] = None
    phone_number_id: Optional[str] = None

    def metadata(self) -> Dict[str, Any]:
        return {
            "whatsapp": {
                "message_id": self.message_id,
                "type": self.msg_type,
                "timestamp": self.timestamp,
                "phone_number_id": self.phone_number_id,
            }
        }


@dataclass(frozen=True)
class FailedStatus:
    """A `failed` delivery status: WhatsApp accepted a message but could not deliver it."""

    message_id: str
    recipient_id: str
    error_code: Optional[str]
    reason: str


def parse_failed_status(status: Any) -> Optional[FailedStatus]:
    """The failure in one entry of `statuses`, or None (not failed, or malformed)."""
    if not isinstance(status, dict) or status.get("status") != "failed":
        return None
    message_id, recipient = status.get("id"), status.get("recipient_id")
    if not (isinstance(message_id, str) and message_id and isinstance(recipient, (str, int)) and str(recipient).strip()):
        return None
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    err = errors[0] if errors and isinstance(errors[0], dict) else {}
    details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
    reason = " — ".join(str(x) for x in (err.get("title") or err.get("message"), details) if x)
    code = err.get("code")
    return FailedStatus(message_id=message_id[:255], recipient_id=str(recipient).strip()[:64],
                        error_code=None if code in (None, "") else str(code), reason=redact(reason, 300))


class WebhookShapeError(ValueError):
    """The JSON is not a WhatsApp Business Account notification."""


def verify_signature(secret: str, body: bytes, header: Optional[str]) -> bool:
    """`X-Hub-Signature-256` must be "sha256=" + hex HMAC-SHA256(app secret, raw body)."""
    if not secret or not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), header.strip().lower().encode("utf-8", "replace"))


def _json_error(status: int, error: str, detail: str) -> HTTPResponse:
    return response.json({"error": error, "detail": detail}, status=status)


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks; see the module docstring."""

    _warned_not_configured = False
    _warned_graph_version = False

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(WhatsAppConfig.load(credentials))

    def __init__(self, config: Optional[WhatsAppConfig] = None, engine: Optional[Engine] = None) -> None:
        self.config = config or WhatsAppConfig.load()
        self._engine = engine
        self._store: Optional[ProcessedMessageStore] = None
        self._tasks: Set[asyncio.Task] = set()
        if not self.config.configured and not WhatsAppInput._warned_not_configured:
            WhatsAppInput._warned_not_configured = True
            logger.warning(
                "WhatsApp channel not configured (missing %s); its webhook answers 503 until they are set",
                ", ".join(self.config.missing),
            )
        version_warning = self.config.graph_version_warning()
        if version_warning and not WhatsAppInput._warned_graph_version:
            WhatsAppInput._warned_graph_version = True
            logger.warning("whatsapp: %s", version_warning)

    # ----- storage

    def _processed_store(self) -> ProcessedMessageStore:
        if self._store is None:
            self._store = ProcessedMessageStore(self._engine or get_engine())
        return self._store

    def _claim_all(self, messages: List[IncomingMessage]) -> List[IncomingMessage]:
        """Blocking; runs in a worker thread. Fails open: a storage outage must not silence a patient."""
        claimed = []
        try:
            store = self._processed_store()
        except Exception:
            logger.exception("whatsapp: processed-message store unavailable; handling without redelivery check")
            return list(messages)
        for m in messages:
            try:
                if store.claim(m.message_id):
                    claimed.append(m)
                else:
                    logger.info("whatsapp: %s already handled; redelivery ignored", message_ref(m.message_id))
            except Exception:
                logger.exception("whatsapp: could not record %s; handling it anyway", message_ref(m.message_id))
                claimed.append(m)
        return claimed

    def _record_failed_statuses(self, failed: List["FailedStatus"]) -> None:
        """Blocking; runs in a worker thread. A storage problem is logged; the webhook still gets 200."""
        try:
            log = delivery_log(self._engine or get_engine())
            for f in failed:
                log.record_status_failure(f.recipient_id, CHANNEL_NAME, f.message_id, error_code=f.error_code,
                                          reason=f.reason)
        except Exception:
            logger.exception("whatsapp: could not record %d failed delivery status(es)", len(failed))

    # ----- parsing

    def parse_notification(self, data: Any, failed: Optional[List["FailedStatus"]] = None) -> List[IncomingMessage]:
        """Messages in a notification. Raises WebhookShapeError only for a wrong top-level shape;
        a malformed entry, change or message is skipped so it cannot break the others.
        `failed` (if given) collects the `failed` delivery statuses found on the way."""
        if not isinstance(data, dict):
            raise WebhookShapeError("expected a JSON object")
        if data.get("object") != "whatsapp_business_account":
            raise WebhookShapeError("'object' must be 'whatsapp_business_account'")
        entries = data.get("entry")
        if not isinstance(entries, list):
            raise WebhookShapeError("'entry' must be a list")
        found: List[IncomingMessage] = []
        for entry in entries:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            if not isinstance(changes, list):
                logger.warning("whatsapp: skipping an entry without a 'changes' list")
                continue
            for change in changes:
                try:
                    found.extend(self._parse_change(change, failed))
                except Exception:
                    logger.warning("whatsapp: skipping a malformed change", exc_info=True)
        return found

    def _parse_change(self, change: Any, failed: Optional[List["FailedStatus"]] = None) -> List[IncomingMessage]:
        if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
            logger.warning("whatsapp: skipping a change without a 'value' object")
            return []
        if change.get("field", "messages") != "messages":
            logger.debug("whatsapp: ignoring '%s' notification", change.get("field"))
            return []
        value = change["value"]
        meta = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
        phone_number_id = str(meta.get("phone_number_id") or "") or None
        if phone_number_id and phone_number_id != self.config.phone_number_id:
            logger.warning("whatsapp: notification for another phone number id (%s) ignored", redact(phone_number_id))
            return []
        statuses = value.get("statuses")
        if isinstance(statuses, list):
            for status in statuses:
                parsed = parse_failed_status(status)
                if parsed is not None:
                    logger.warning("whatsapp: message %s to %s failed: code %s: %s", message_ref(parsed.message_id),
                                   mask_phone(parsed.recipient_id), parsed.error_code, parsed.reason)
                    if failed is not None:
                        failed.append(parsed)
            logger.debug("whatsapp: %d status update(s)", len(statuses))
        for err in value.get("errors") or []:
            if isinstance(err, dict):
                logger.warning("whatsapp: error notification code %s: %s", err.get("code"), redact(err.get("title")))
        messages = value.get("messages") or []
        if not isinstance(messages, list):
            logger.warning("whatsapp: 'messages' is not a list; skipped")
            return []
        out = []
        for raw in messages:
            try:
                msg = self._parse_message(raw, phone_number_id)
            except Exception:
                logger.warning("whatsapp: skipping a malformed message", exc_info=True)
                continue
            if msg is not None:
                out.append(msg)
        return out

    @staticmethod
    def _parse_message(raw: Any, phone_number_id: Optional[str]) -> Optional[IncomingMessage]:
        if not isinstance(raw, dict):
            logger.warning("whatsapp: skipping a message that is not an object")
            return None
        message_id, wa_id, msg_type = raw.get("id"), raw.get("from"), raw.get("type")
        if not (isinstance(message_id, str) and message_id.strip() and isinstance(wa_id, (str, int)) and str(wa_id).strip()):
            logger.warning("whatsapp: skipping a message without 'id' or 'from'")
            return None
        msg = IncomingMessage(
            message_id=message_id.strip()[:255], wa_id=str(wa_id).strip(), msg_type=str(msg_type or "unknown"),
            timestamp=str(raw["timestamp"]) if raw.get("timestamp") is not None else None,
            phone_number_id=phone_number_id,
        )
        section = raw.get(msg_type) if isinstance(msg_type, str) else None
        section = section if isinstance(section, dict) else {}
        if msg_type in IGNORED_TYPES:
            logger.debug("whatsapp: ignoring a '%s' message", msg_type)
            return None
        if msg_type == "text":
            msg.text = str(section.get("body") or "").strip()
        elif msg_type == "interactive":
            kind = section.get("type")
            reply = section.get(kind) if kind in ("button_reply", "list_reply") else None
            if not isinstance(reply, dict):
                msg.kind = "unsupported"
                return msg
            msg.text = str(reply.get("id") or reply.get("title") or "").strip()
        elif msg_type == "button":  # quick-reply button of a template message
            msg.text = str(section.get("payload") or section.get("text") or "").strip()
        elif msg_type in CAPTIONED_TYPES and str(section.get("caption") or "").strip():
            # Read the words: a red flag typed as a photo caption must not be missed.
            msg.kind, msg.text = "caption", str(section["caption"]).strip()
        else:
            msg.kind = "unsupported"
            return msg
        if not msg.text:
            logger.debug("whatsapp: ignoring an empty '%s' message", msg_type)
            return None
        return msg

    # ----- handling

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait for background handling to finish (tests, graceful shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    async def _handle(self, messages: List[IncomingMessage], on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        out = WhatsAppOutput(self.config, self._engine)
        for m in messages:
            try:
                if m.kind == "unsupported":
                    logger.info("whatsapp: unsupported '%s' message from %s; sent the text-only note", m.msg_type, mask_phone(m.wa_id))
                    await out.send_text_message(m.wa_id, self.config.unsupported_reply)
                    continue
                if m.kind == "caption":
                    await out.send_text_message(m.wa_id, CAPTION_NOTE)
                await on_new_message(
                    UserMessage(
                        m.text, out, m.wa_id, input_channel=self.name(), message_id=m.message_id, metadata=m.metadata()
                    )
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("whatsapp: handling %s from %s failed: %s: %s",
                             message_ref(m.message_id), mask_phone(m.wa_id), type(exc).__name__, redact(exc))
                logger.debug("whatsapp: handler traceback", exc_info=True)
                await out.send_text_message(m.wa_id, _failure_reply())

    async def _read_body(self, request: Request) -> Optional[bytes]:
        """The raw body, or None when it exceeds the limit (read in chunks: never buffer a huge body)."""
        limit = self.config.max_body_bytes
        if request.body:
            return request.body if len(request.body) <= limit else None
        stream = getattr(request, "stream", None)
        if stream is None:
            return b""
        chunks, size = [], 0
        while True:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("whatsapp_webhook", __name__)
        cfg = self.config

        def not_configured() -> HTTPResponse:
            return response.text("WhatsApp channel not configured", status=503)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if cfg.configured else "not configured"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not cfg.configured:
                return not_configured()
            mode = request.args.get("hub.mode") or ""
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            token_ok = hmac.compare_digest(token.encode("utf-8"), cfg.verify_token.encode("utf-8"))
            if mode != "subscribe" or not token_ok:
                logger.warning("whatsapp: webhook verification refused (wrong mode or verify token)")
                return response.text("Verification failed", status=403)
            if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
                return response.text("Missing or invalid hub.challenge", status=400)
            logger.info("whatsapp: webhook verified by Meta")
            return response.text(challenge, status=200)

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not cfg.configured:
                return not_configured()
            declared = request.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > cfg.max_body_bytes:
                return _json_error(413, "payload_too_large", f"body exceeds {cfg.max_body_bytes} bytes")
            body = await self._read_body(request)
            if body is None:
                return _json_error(413, "payload_too_large", f"body exceeds {cfg.max_body_bytes} bytes")
            if not verify_signature(cfg.app_secret, body, request.headers.get("x-hub-signature-256")):
                logger.warning("whatsapp: webhook with a missing or invalid X-Hub-Signature-256 refused")
                return _json_error(403, "invalid_signature", "missing or invalid X-Hub-Signature-256")
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                return _json_error(400, "invalid_json", f"body is not valid JSON ({type(exc).__name__})")
            failed: List[FailedStatus] = []
            try:
                messages = self.parse_notification(data, failed)
            except WebhookShapeError as exc:
                return _json_error(400, "invalid_payload", str(exc))
            if failed:
                await asyncio.get_running_loop().run_in_executor(None, self._record_failed_statuses, failed)
            if messages:
                loop = asyncio.get_running_loop()
                claimed = await loop.run_in_executor(None, self._claim_all, messages)
                by_sender: Dict[str, List[IncomingMessage]] = {}
                for m in claimed:
                    by_sender.setdefault(m.wa_id, []).append(m)
                for batch in by_sender.values():  # one task per person keeps their messages in order
                    self._spawn(self._handle(batch, on_new_message))
            return response.json({"status": "received"})

        return bp

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Lets Rasa's HTTP API (`output_channel=latest`) deliver staff replies on WhatsApp."""
        if not (self.config.access_token and self.config.phone_number_id):
            return None
        return WhatsAppOutput(self.config, self._engine)


def _failure_reply() -> str:
    text = "Sorry, something went wrong on our side and I couldn't answer. Please try again in a few minutes."
    try:
        from clinic_bot.profile import cached_profile

        return f"{text} If you need urgent medical help, call {cached_profile().locale.emergency_number}."
    except Exception:
        return text
