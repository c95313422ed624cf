"""Bad input on socket.io (the widget's channel) of the running stack: odd texts, events
of the wrong shape and 10 KB session ids. SioChat, the widget-protocol client, is also
used by tests/e2e/test_security_stack.py.

The rule every case follows (a clear answer or a 4xx, and the assistant still
answers afterwards): tests/reliability/helpers.py.
"""

from __future__ import annotations

import queue
import re
import time
from typing import Any, List, Optional

import pytest

from tests.reliability.helpers import (
    CREDENTIALS,
    LONG_ID,
    REST_ANSWER,
    REST_QUESTION,
    TEXT_CASES,
    assert_servers_alive,
    assert_still_answers,
)

pytestmark = pytest.mark.stack

# ------------------------------------------------------------------------------------------ socket.io

STOCK_SOCKETIO = re.search(r"^socketio:", CREDENTIALS, re.M) is not None
STOCK_SOCKETIO_REASON = (
    "credentials.yml uses Rasa's stock `socketio:` channel. With session_persistence: true its session_request "
    "handler calls `sio.enter_room(...)` without await (rasa/core/channels/socketio.py:236); python-socketio 5.18 "
    "(requirements.lock) made it a coroutine, so the client never joins its session room and never receives a "
    "bot_uttered event (server log: \"coroutine 'AsyncServer.enter_room' was never awaited\"). Fix: name "
    "widget.rasa_channel.WidgetSocketIOInput in credentials.yml (docs/widget.md)."
)


class SioChat:
    """A socket.io client speaking the widget protocol (session_request/confirm, user_uttered/bot_uttered)."""

    def __init__(self, url: str) -> None:
        import socketio

        self.client = socketio.Client(reconnection=False, request_timeout=10)
        self.replies: "queue.Queue[Any]" = queue.Queue()
        self.confirms: "queue.Queue[Any]" = queue.Queue()
        self.client.on("bot_uttered", self.replies.put)
        self.client.on("session_confirm", self.confirms.put)
        self.client.connect(url, socketio_path="/socket.io", wait_timeout=10)

    def session(self, requested: Any = "") -> Optional[str]:
        self.client.emit("session_request", {"session_id": requested} if requested != "" else {})
        try:
            return self.confirms.get(timeout=10)
        except queue.Empty:
            return None

    def drain(self, first_wait: float, idle: float = 0.5) -> List[Any]:
        out = []
        try:
            out.append(self.replies.get(timeout=first_wait))
            while True:
                out.append(self.replies.get(timeout=idle))
        except queue.Empty:
            return out

    def ask(self, session_id: str, text: Any, wait: float = 20.0, until=None) -> List[Any]:
        """Send a message; collect bot_uttered events until `until(replies)` holds (default: an answer
        other than the session disclaimer) or `wait` seconds pass."""
        until = until or (lambda rs: any(t and not t.startswith("Hi, I'm the") for t in sio_texts(rs)))
        self.client.emit("user_uttered", {"message": text, "session_id": session_id})
        out: List[Any] = []
        deadline = time.monotonic() + wait
        while not until(out):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                out.append(self.replies.get(timeout=left))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:
            pass


def sio_texts(replies: List[Any]) -> List[str]:
    return [r.get("text") or "" for r in replies if isinstance(r, dict)]


@pytest.fixture(scope="module")
def sio_delivers(stack) -> bool:
    """Does a normal question over socket.io get its answer at all? Asked once, so a channel that never
    answers costs one wait instead of one per case."""
    chat = SioChat(stack.rasa_url)
    try:
        sid = chat.session()
        replies = chat.ask(sid, REST_QUESTION, wait=30.0, until=lambda rs: REST_ANSWER in sio_texts(rs)) if sid else []
        return REST_ANSWER in sio_texts(replies)
    finally:
        chat.close()


@pytest.fixture
def sio(stack):
    chat = SioChat(stack.rasa_url)
    yield chat
    chat.close()


def _socketio_not_answering() -> None:
    if STOCK_SOCKETIO:
        pytest.xfail(STOCK_SOCKETIO_REASON)
    pytest.fail("socket.io never answers a normal question (see the sio_delivers fixture)")


def _normal_question_over_socketio(stack, chat: SioChat, delivers: bool) -> None:
    """After the bad input: the connection is still up, the servers too, and a normal question is
    answered over REST and over socket.io."""
    assert chat.client.connected, "the server dropped the socket.io connection"
    assert_still_answers(stack)
    sid = chat.session()
    assert sid, "no session_confirm for a normal session_request"
    if not delivers:
        _socketio_not_answering()
    replies = sio_texts(chat.ask(sid, REST_QUESTION, until=lambda rs: REST_ANSWER in sio_texts(rs)))
    assert REST_ANSWER in replies, f"socket.io: {REST_QUESTION!r} not answered normally: {replies}"


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_socketio_text_cases(stack, sio: SioChat, sio_delivers: bool, case: str) -> None:
    sid = sio.session()
    assert sid
    wait = (60.0 if case == "100kb" else 20.0) if sio_delivers else 1.0
    replies = sio.ask(sid, TEXT_CASES[case], wait=wait)
    assert_servers_alive(stack)
    if sio_delivers:
        assert any(sio_texts(replies)), f"{case}: no answer over socket.io: {replies}"
    _normal_question_over_socketio(stack, sio, sio_delivers)


SIO_BAD_EVENTS = {
    "user_uttered_list": ("user_uttered", [1, 2, 3]),
    "user_uttered_number": ("user_uttered", 42),
    "user_uttered_string": ("user_uttered", REST_QUESTION),
    "user_uttered_null": ("user_uttered", None),
    "user_uttered_invalid_utf8_bytes": ("user_uttered", b"\xff\xfe\xc3\x28 binary, not text"),
    "user_uttered_missing_keys": ("user_uttered", {}),
    "user_uttered_without_session": ("user_uttered", {"message": REST_QUESTION}),
    "user_uttered_message_object": ("user_uttered", {"message": {"text": REST_QUESTION}, "session_id": "SID"}),
    "user_uttered_bad_custom_data": ("user_uttered", {"message": "hello", "session_id": "SID", "customData": "{not json"}),
    "user_uttered_foreign_session_10kb": ("user_uttered", {"message": "hello", "session_id": LONG_ID}),
    "session_request_list": ("session_request", [1]),
    "session_request_number": ("session_request", 7),
    "session_request_null": ("session_request", None),
    "session_request_object_id": ("session_request", {"session_id": {"a": 1}}),
    "session_request_10kb_id": ("session_request", {"session_id": LONG_ID}),
}


@pytest.mark.parametrize("case", sorted(SIO_BAD_EVENTS))
def test_socketio_bad_events(stack, sio: SioChat, sio_delivers: bool, case: str) -> None:
    sid = sio.session()
    assert sid
    event, data = SIO_BAD_EVENTS[case]
    if isinstance(data, dict):
        data = {k: (sid if v == "SID" else v) for k, v in data.items()}
    sio.client.emit(event, data)
    sio.drain(first_wait=1.0 if sio_delivers else 0.3, idle=0.3)  # whatever comes back (nothing is fine)
    while not sio.confirms.empty():
        sio.confirms.get_nowait()
    _normal_question_over_socketio(stack, sio, sio_delivers)


def test_socketio_long_session_id_conversation(stack, sio: SioChat, sio_delivers: bool) -> None:
    """A 10 KB session id asked for in session_request: refused or used, never a crash."""
    sid = sio.session(LONG_ID)
    assert sid, "no session_confirm for a 10 KB session id"
    sio.ask(sid, REST_QUESTION, wait=10.0 if sio_delivers else 1.0)
    _normal_question_over_socketio(stack, sio, sio_delivers)
