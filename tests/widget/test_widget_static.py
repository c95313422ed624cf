"""Fast checks of the widget without a trained model or a browser: the vendored
file, the demo server's headers and page, and the socket.io output channel."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import html
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from clinic_bot.launcher import free_port, wait_http
from clinic_bot.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "widget" / "static"
SOCKET_IO_SHA256 = "d5d79a35039e860b32bdef4795528b05c2f788d4b2d9dacc913120e2878f7b3f"  # socket.io-client 4.8.4


def test_vendored_socket_io_is_the_documented_file_with_its_licence() -> None:
    data = (STATIC / "vendor" / "socket.io.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SOCKET_IO_SHA256, "update widget/static/vendor/README.md and this hash together"
    assert data.startswith(b"/*!\n * Socket.IO v4.8.4")
    assert "MIT License" in (STATIC / "vendor" / "socket.io-client.LICENSE").read_text()
    assert SOCKET_IO_SHA256 in (STATIC / "vendor" / "README.md").read_text()


@pytest.mark.parametrize("name", ["widget.js", "widget-render.js"])
def test_widget_script_never_parses_bot_text_as_html(name: str) -> None:
    source = (STATIC / name).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, f"{name} uses {sink}"


@pytest.fixture(scope="module")
def demo_server() -> Iterator[Tuple[str, str]]:
    port, rasa_url = free_port(), "http://127.0.0.1:5999"
    proc = subprocess.Popen(
        [sys.executable, "-m", "widget.serve", "--host", "127.0.0.1", "--port", str(port), "--rasa-url", rasa_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/health", 60, proc)
        yield url, rasa_url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def fetch(url: str) -> Tuple[int, Dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_demo_page_embeds_the_widget_for_the_given_rasa_server(demo_server: Tuple[str, str]) -> None:
    url, rasa_url = demo_server
    status, headers, body = fetch(url + "/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    profile = load_profile()
    assert html.escape(profile.name) in page
    assert html.escape(profile.clinic["address"]) in page
    tag = re.search(r"<script src=\"/widget/widget.js\"(.*?)></script>", page, re.S)
    assert tag, "widget embed snippet missing"
    assert f'data-server-url="{rasa_url}"' in tag.group(1)
    assert "defer" in tag.group(1)
    assert "<script>" not in page, "the page must work under a CSP without inline scripts"


def test_demo_page_security_headers(demo_server: Tuple[str, str]) -> None:
    url, _ = demo_server
    _, headers, _ = fetch(url + "/")
    csp = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert csp["connect-src"].split() == ["'self'", "http://127.0.0.1:5999", "ws://127.0.0.1:5999"]
    assert csp["script-src"] == "'self'" and csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("widget.js", "text/javascript"),
        ("widget-render.js", "text/javascript"),
        ("widget.css", "text/css"),
        ("vendor/socket.io.min.js", "text/javascript"),
    ],
)
def test_widget_files_are_served_for_cross_origin_embedding(demo_server: Tuple[str, str], path: str, content_type: str) -> None:
    url, _ = demo_server
    status, headers, body = fetch(f"{url}/widget/{path}")
    assert status == 200
    assert headers["content-type"].startswith(content_type)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cross-origin-resource-policy"] == "cross-origin"
    assert body == (STATIC / path).read_bytes()


@pytest.mark.parametrize("path", ["/widget/", "/widget/vendor", "/widget/%2e%2e/serve.py", "/widget/..%2fserve.py", "/serve.py"])
def test_only_widget_files_are_served(demo_server: Tuple[str, str], path: str) -> None:
    url, _ = demo_server
    status, headers, _ = fetch(url + path)
    assert status == 404
    assert headers["x-content-type-options"] == "nosniff"


def test_rejects_a_rasa_url_that_is_not_http() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "widget.serve", "--port", "0", "--rasa-url", "javascript:alert(1)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "http(s) URL" in proc.stderr


# ------------------------------------------------------------ the channel ---
class FakeSio:
    def __init__(self) -> None:
        self.emitted: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = []

    async def emit(self, event: str, data: Any = None, room: Any = None, **kwargs: Any) -> None:
        if kwargs:  # what python-socketio's AsyncServer.emit does with unknown keywords
            raise TypeError(f"emit() got unexpected keyword arguments {sorted(kwargs)}")
        self.emitted.append(((event, data), {"room": room}))


RED_FLAG_RESPONSE = {  # BotUttered.message() of a safety response (domain/safety.yml)
    "text": "Please call 999 now or go to A&E. Don't wait for a reply from us.",
    "metadata": {"urgency": "emergency"},
    "utter_action": "utter_red_flag_safety",
    "buttons": None,
    "quick_replies": None,
    "image": None,
    "attachment": None,
    "elements": None,
    "custom": None,
}


def safety_messages() -> Dict[str, Dict[str, Any]]:
    """Every variant of utter_red_flag_safety as Rasa 3.6 hands it to an output channel.

    Built the way Rasa builds it at run time (TemplatedNaturalLanguageGenerator,
    create_bot_utterance, BotUttered.message()), from the real domain."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(ROOT / "domain"))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    numbers = {
        "emergency_number": "999",
        "emergency_department": "A&E",
        "urgent_advice": "NHS 111",
        "crisis_line": "Samaritans on 116 123",
        "crisis_contacts": "Samaritans on 116 123",
    }
    # emergency advice is also worded per category (a stroke: call, don't drive; ...)
    category = {"emergency": "cauda_equina", "urgent": "severe_worsening_pain", "crisis": "self_harm", None: None}
    out = {}
    for urgency in ("emergency", "urgent", "crisis", None):
        for about in ("self", "other"):
            slots = {"red_flag_urgency": urgency, "red_flag_category": category[urgency], "red_flag_about": about, **numbers}
            response = nlg.generate_from_slots("utter_red_flag_safety", slots, "socketio")
            response["utter_action"] = "utter_red_flag_safety"
            out[f"{urgency}/{about}"] = create_bot_utterance(response).message()
    return out


def test_rasa_carries_the_safety_urgency_in_metadata_to_the_output_channel() -> None:
    """The urgency rides in the response's `metadata`: Rasa 3.6 keeps it through
    BotUttered to `send_response`, and no safety message has a `custom` part
    (rasa-webchat shows nothing of a message with one)."""
    from clinic_bot.safety import message_urgency

    messages = safety_messages()
    assert {key: message_urgency(m) for key, m in messages.items()} == {
        "emergency/self": "emergency",
        "emergency/other": "emergency",
        "urgent/self": "urgent",
        "urgent/other": "urgent",
        "crisis/self": "crisis",
        "crisis/other": "crisis",
        "None/self": "urgent",
        "None/other": "urgent",  # no category: the broad advice
    }
    assert all(m["text"] and not m.get("custom") for m in messages.values())


def test_stock_socketio_output_drops_the_urgency_and_fails_on_custom() -> None:
    """Why widget.rasa_channel exists: Rasa 3.6's output sends the text without its
    metadata, and a response with a `custom` part raises after its text went out."""
    from rasa.core.channels.socketio import SocketIOOutput

    sio = FakeSio()
    asyncio.run(SocketIOOutput(sio, "bot_uttered").send_response("room-1", copy.deepcopy(RED_FLAG_RESPONSE)))
    assert sio.emitted == [(("bot_uttered", {"text": RED_FLAG_RESPONSE["text"]}), {"room": "room-1"})]
    with pytest.raises(TypeError):
        asyncio.run(SocketIOOutput(sio, "bot_uttered").send_response("room-1", {"text": "Hi", "custom": {"kind": "card"}}))


def test_widget_output_sends_text_custom_metadata_and_buttons_together() -> None:
    from widget.rasa_channel import WidgetSocketIOOutput

    sio = FakeSio()
    out = WidgetSocketIOOutput(sio, "bot_uttered")
    asyncio.run(out.send_response("room-1", copy.deepcopy(RED_FLAG_RESPONSE)))
    asyncio.run(
        out.send_response(
            "room-1",
            {
                "text": "Para one.\n\nPara two.",
                "metadata": {"topic": "should_i_rest"},
                "buttons": [{"title": "Should I rest?", "payload": '/choose_faq{"faq_topic":"should_i_rest"}'}],
            },
        )
    )
    asyncio.run(out.send_custom_json("room-1", {"kind": "card"}))
    assert [args[1] for args, _ in sio.emitted] == [
        {"text": RED_FLAG_RESPONSE["text"], "metadata": {"urgency": "emergency"}},
        {
            "text": "Para one.\n\nPara two.",
            "metadata": {"topic": "should_i_rest"},
            "quick_replies": [{"content_type": "text", "title": "Should I rest?", "payload": '/choose_faq{"faq_topic":"should_i_rest"}'}],
        },
        {"custom": {"kind": "card"}},
    ]
    assert all(kw == {"room": "room-1"} for _, kw in sio.emitted)


def test_widget_output_sends_every_safety_message_as_text_with_its_urgency() -> None:
    """rasa-webchat shows a `bot_uttered` payload of `text` (+ `quick_replies`) once it
    has set `metadata` aside, and nothing of one with any other key."""
    from widget.rasa_channel import widget_message

    for key, message in safety_messages().items():
        payload = widget_message(message)
        assert set(payload) == {"text", "metadata"}, (key, payload)
        assert payload["metadata"] == {"urgency": message["metadata"]["urgency"]}


class FakeServerSide:
    """Stands in for the AsyncServer methods the channel's handlers call."""

    def __init__(self) -> None:
        self.sessions: Dict[str, Dict[str, Any]] = {}
        self.rooms: List[Tuple[str, str]] = []
        self.emitted: List[Tuple[str, Any, Any]] = []

    async def enter_room(self, sid: str, room: str, namespace: Any = None) -> None:
        self.rooms.append((sid, room))

    async def save_session(self, sid: str, session: Dict[str, Any], namespace: Any = None) -> None:
        self.sessions[sid] = dict(session)

    async def get_session(self, sid: str, namespace: Any = None) -> Dict[str, Any]:
        return self.sessions.get(sid, {})

    async def emit(self, event: str, data: Any = None, room: Any = None, namespace: Any = None) -> None:
        self.emitted.append((event, data, room))


def test_widget_input_channel_sessions_and_messages() -> None:
    from widget.rasa_channel import WidgetSocketIOInput, WidgetSocketIOOutput

    channel = WidgetSocketIOInput.from_credentials({"session_persistence": True})
    received = []

    async def on_new_message(message: Any) -> None:
        received.append(message)

    channel.blueprint(on_new_message)
    fake = FakeServerSide()
    for name in ("enter_room", "save_session", "get_session", "emit"):
        setattr(channel.sio, name, getattr(fake, name))
    session_request = channel.sio.handlers["/"]["session_request"]
    user_uttered = channel.sio.handlers["/"]["user_uttered"]

    from widget import session_ids

    known = session_ids.issue(session_ids.session_secret())  # an id this server signed: resumed
    unsigned = "0123456789abcdef0123456789abcdef"  # the old format, or anyone's guess: not resumed
    asyncio.run(session_request("sid-1", {"session_id": known}))
    asyncio.run(session_request("sid-2", {"session_id": "447700900123"}))  # not ours: a fresh id instead
    asyncio.run(session_request("sid-3", None))
    asyncio.run(session_request("sid-4", {"session_id": unsigned}))
    confirmed = {room: data for _, data, room in fake.emitted}
    assert confirmed["sid-1"] == known
    signed = r"[0-9a-f]{32}\.[0-9a-f]{32}"
    assert re.fullmatch(signed, confirmed["sid-2"]) and confirmed["sid-2"] != known
    assert re.fullmatch(signed, confirmed["sid-3"])
    assert re.fullmatch(signed, confirmed["sid-4"]) and not confirmed["sid-4"].startswith(unsigned)
    assert fake.rooms == [("sid-1", known), ("sid-2", confirmed["sid-2"]), ("sid-3", confirmed["sid-3"]), ("sid-4", confirmed["sid-4"])]

    asyncio.run(user_uttered("sid-1", {"message": "hello", "session_id": known, "metadata": "{not json"}))
    with pytest.warns(UserWarning):
        asyncio.run(user_uttered("sid-1", {"message": "no session"}))
    with pytest.warns(UserWarning):
        asyncio.run(user_uttered("sid-2", {"message": "someone else's session", "session_id": known}))
    assert [(m.text, m.sender_id, m.input_channel, m.metadata) for m in received] == [("hello", known, "socketio", {})]

    # rasa-webchat's default embed opens the chat with no `message` at all: the greeting
    for opened in ({}, {"message": None}, {"message": ""}, {"message": " \n\t"}):
        asyncio.run(user_uttered("sid-1", {**opened, "session_id": known, "customData": {"language": "en"}}))
    asyncio.run(user_uttered("sid-1", {"message": 42, "session_id": known}))  # not text: ignored
    assert [m.text for m in received[1:]] == ["/greet"] * 4
    assert isinstance(received[0].output_channel, WidgetSocketIOOutput)
    assert isinstance(channel.get_output_channel(), WidgetSocketIOOutput)
    assert channel.name() == "socketio"


def test_stock_socketio_channel_never_joins_the_session_room() -> None:
    """Why widget.rasa_channel exists (2): stock session_request does not await enter_room."""
    from rasa.core.channels.socketio import SocketIOInput

    channel = SocketIOInput.from_credentials({"session_persistence": True})
    channel.blueprint(lambda message: None)  # type: ignore[arg-type, return-value]
    fake = FakeServerSide()
    for name in ("enter_room", "emit"):
        setattr(channel.sio, name, getattr(fake, name))
    with pytest.warns(RuntimeWarning, match="never awaited"):
        asyncio.run(channel.sio.handlers["/"]["session_request"]("sid-1", {"session_id": "abc"}))
        import gc

        gc.collect()
    assert fake.rooms == [], "Rasa now awaits enter_room: the stock channel may be usable again"


def test_widget_output_passes_on_who_wrote_a_staff_reply() -> None:
    from widget.rasa_channel import widget_message

    # BotUttered.message() of {"event": "bot", "text": ..., "metadata": {...}} posted by clinic_bot.rasa_api
    message = {
        "text": "Hello, this is Sam.",
        "staff_reply": True,
        "staff": "Sam",
        "timestamp": 1.0,
        "custom": None,
        "buttons": None,
        "quick_replies": None,
        "image": None,
        "attachment": None,
        "elements": None,
    }
    assert widget_message(message) == {"text": "Hello, this is Sam.", "metadata": {"staff_reply": True, "staff": "Sam"}}
