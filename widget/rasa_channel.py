"""Rasa's socket.io channel, with an output the website widget can rely on.

Why: Rasa 3.6's stock `SocketIOOutput` (rasa/core/channels/socketio.py) sends a
response in pieces and loses the safety signal of red-flag messages:

* the text is split on blank lines and each part is emitted as `{"text": ...}`
  without the response's `metadata`;
* `custom` is emitted by `send_custom_json` as `sio.emit(event, **custom)`, so a
  response with `custom: {urgency: emergency}` (how domain/safety.yml marked
  red-flag advice before it moved to `metadata`) calls
  `emit(..., urgency="emergency")` and raises `TypeError: AsyncServer.emit() got
  an unexpected keyword argument 'urgency'`. The text has already gone out by
  then, unmarked; the exception then aborts the rest of the turn: the actions
  predicted after the safety message (the escalation to staff) never run, and
  the turn is not saved to the tracker.

* with `session_persistence: true` (credentials.yml), `session_request` calls
  `sio.enter_room(...)` without `await`; python-socketio 5.18 (requirements.lock)
  made that a coroutine, so the browser never joins its session's room and never
  receives a single reply ("coroutine 'AsyncServer.enter_room' was never
  awaited"; RasaHQ/rasa#13027, fix proposed in RasaHQ/rasa#13148, unreleased).

Also hardened here (docs/security.md):

* session ids are issued and signed by the server (widget/session_ids.py): a
  client resumes a session only with an id this server signed, and gets a
  fresh one otherwise, so it can neither pick another person's session nor
  another channel's sender id (such as a phone number);
* a socket may only send messages for the session it was confirmed for;
* cross-origin requests are answered only for `WIDGET_ORIGINS`
  (clinic_bot/origins.py: the clinic's own site by default), never `*`;
* a socket.io packet is at most `MAX_SOCKET_PACKET_BYTES` (a longer message
  below it is cut and answered by the message guard), and each client address
  may send at most `RATE_PER_CLIENT` messages (a refused one gets a reply
  saying so, with the emergency number); clients on this machine are exempt.

This channel keeps everything else about the stock one (events `user_uttered` /
`bot_uttered`, `session_request` / `session_confirm`, session persistence, JWT,
the `/webhooks/socketio` URL and the input channel name `socketio`) and emits
each bot response as ONE `bot_uttered` event:

    {"text": "...", "quick_replies": [{"content_type": "text", "title": ..., "payload": ...}],
     "custom": {...}, "metadata": {...}, "attachment": {...}}

(keys only when present; a staff reply's `staff_reply` / `staff` go into `metadata`;
a red-flag message's urgency is `metadata.urgency`, see
clinic_bot.safety.message_urgency). Standard clients show such a message:
rasa-webchat drops `metadata` and shows the text with its buttons, but shows
nothing of a message that has a `custom` part. An empty message (rasa-webchat's
default embed sends one when the chat is opened) starts the conversation with
the greeting, see `user_text`. To use it, credentials.yml names it instead of
`socketio:`, with the same settings:

    widget.rasa_channel.WidgetSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import rasa.shared.utils.io
import socketio
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from clinic_bot.origins import allowed_widget_origins
from clinic_bot.profile import cached_profile
from clinic_bot.rate_limit import Rate, RateLimiter
from clinic_bot.settings import load_settings
from widget import session_ids

logger = logging.getLogger(__name__)

FORWARDED_KEYS = ("custom", "metadata", "attachment", "elements")
STAFF_KEYS = ("staff_reply", "staff")


def is_loopback(address: str) -> bool:
    """A client on this machine (the demo page, tests): not rate-limited per address."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def client_address(socket_request: Dict[str, Any], fallback: Text) -> Text:
    """The patient's address, for the per-address rate limit.

    Behind the cluster's nginx every socket's peer is 127.0.0.1, which would exempt
    everyone from the limit; nginx appends the real peer to X-Forwarded-For, so when
    the peer is on this machine (the servers listen on loopback only) and the header
    is there, its last entry is the address nginx saw."""
    peer = socket_request.get("REMOTE_ADDR") or fallback  # the socket's WSGI-style environ (python-socketio)
    forwarded = [part.strip() for part in str(socket_request.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
    if forwarded and is_loopback(peer):
        return forwarded[-1]
    return peer


def slow_down_text() -> str:
    number = cached_profile().locale.emergency_number
    return (
        f"You're sending messages faster than I can read them. Please wait a minute, then send your "
        f"question again. If you're worried about a new or severe symptom, call {number}."
    )


def widget_message(message: Dict[Text, Any]) -> Dict[Text, Any]:
    """One bot response (as `BotUttered.message()` gives it) as one socket.io payload."""
    out: Dict[Text, Any] = {}
    text = message.get("text")
    if text:
        out["text"] = text
    buttons = message.get("quick_replies") or message.get("buttons") or []
    replies: List[Dict[Text, Any]] = [
        {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
        for b in buttons
        if isinstance(b, dict) and b.get("title") and b.get("payload")
    ]
    if replies:
        out["quick_replies"] = replies
    for key in FORWARDED_KEYS:
        value = message.get(key)
        if value:
            out[key] = value
    # Events posted to the HTTP API (staff replies from the console, see
    # clinic_bot/rasa_api.py) arrive with their metadata merged into the
    # message's top level; pass on the keys the widget shows.
    staff = {key: message[key] for key in STAFF_KEYS if message.get(key)}
    if staff:
        out["metadata"] = {**(out.get("metadata") or {}), **staff}
    if message.get("image") and "attachment" not in out:
        out["attachment"] = {"type": "image", "payload": {"src": message["image"]}}
    return out


# what an empty message means on this channel: the person opened the chat (see user_text)
OPENED_CHAT_PAYLOAD = "/greet"


def user_text(message: Any) -> Optional[Text]:
    """The text of a `user_uttered` event's `message`; an empty one is the greeting.

    rasa-webchat 1.0.1 embedded as its README shows (no `initPayload`) emits
    `user_uttered` with `{customData, session_id}` and no `message` as soon as
    the chat is opened (its `trySendInitPayload`). Rasa would run the NLU on ""
    and answer a question nobody asked: a junk turn in the patient's chat and in
    the staff console. The person has just opened a clinic's chat and expects
    it to greet them, as our own widget does by sending /greet: the disclaimer
    with the emergency number, the greeting and its topic buttons. So a missing,
    null, empty or whitespace-only message is that same /greet (an intent
    payload: no NLU); anything else that is not text is ignored (None).
    """
    if message is None or (isinstance(message, str) and not message.strip()):
        return OPENED_CHAT_PAYLOAD
    return message if isinstance(message, str) else None


def share_sockets_between_servers(sio: Any, url: Text) -> None:
    """Give the socket.io server python-socketio's Redis client manager.

    With several Rasa servers, a patient's socket lives on one of them, but a staff
    reply (the console posts it through Rasa's HTTP API behind the load balancer)
    may be emitted on another. Rasa's stock channel keeps python-socketio's
    in-process manager, so that emit reaches no one (Rasa's own SocketIOOutput
    warns that it cannot work across instances). Through Redis pub/sub every
    server hears every emit and the one holding the room delivers it. Set before
    the first connection, while the server has not yet initialised its manager."""
    manager = socketio.AsyncRedisManager(url, channel="facet_assistant_socketio", logger=logger)
    manager.set_server(sio)
    sio.manager = manager
    sio.manager_initialized = False


class WidgetSocketIOOutput(SocketIOOutput):
    """Emits each bot response whole, in a single `bot_uttered` event."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        payload = widget_message(message)
        if payload:
            await self._send_message(recipient_id, payload)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        # the stock method passes the dict as keyword arguments to emit()
        await self._send_message(recipient_id, {"custom": json_message})


class WidgetSocketIOInput(SocketIOInput):
    """The stock socket.io input channel, answering through `WidgetSocketIOOutput`."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return WidgetSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        settings = load_settings()
        if settings.socketio_manager_url:
            share_sockets_between_servers(sio, settings.socketio_manager_url)
        # The stock channel passes cors_allowed_origins=[] (engine.io then leaves CORS
        # to the app, and `rasa run --cors` opened every route); answer only the widget's origins.
        sio.eio.cors_allowed_origins = allowed_widget_origins() or None  # None: same origin only; [] would switch checks off
        sio.eio.cors_credentials = False
        sio.eio.max_http_buffer_size = settings.max_socket_packet_bytes
        secret = session_ids.session_secret()
        per_client = RateLimiter(Rate.parse(settings.rate_per_client))
        # Registering an event again replaces the stock handler on this server.

        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested if session_ids.is_valid(requested, secret) else session_ids.issue(secret)
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):  # a coroutine since python-socketio 5.10
                    await entered
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def handle_message(sid: Text, data: Dict) -> None:
            if not isinstance(data, dict):
                return
            output_channel = WidgetSocketIOOutput(sio, self.bot_message_evt)
            client = client_address(sio.get_environ(sid, namespace=self.namespace) or {}, sid)
            if not is_loopback(client) and not per_client.allow(client):
                await sio.emit(self.bot_message_evt, {"text": slow_down_text()}, room=sid, namespace=self.namespace)
                return
            if self.session_persistence:
                session = await sio.get_session(sid, namespace=self.namespace)
                confirmed = (session or {}).get("session_id")
                if not data.get("session_id") or data.get("session_id") != confirmed:
                    rasa.shared.utils.io.raise_warning(
                        "A message without a valid session_id was received. This message will be ignored. "
                        "Make sure to set a proper session id using the `session_request` socketIO event."
                    )
                    return
                sender_id = confirmed
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, Text):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            text = user_text(data.get("message"))
            if text is None:
                return
            message = UserMessage(text, output_channel, sender_id, input_channel=self.name(), metadata=metadata)
            await on_new_message(message)

        sio.on("session_request", namespace=self.namespace)(session_request)
        sio.on(self.user_message_evt, namespace=self.namespace)(handle_message)
        return bp
