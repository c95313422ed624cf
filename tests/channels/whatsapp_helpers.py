"""Shared by the WhatsApp Cloud API channel's contract tests (fast: no Rasa model):
tests/channels/test_whatsapp_webhook_auth_and_limits.py, test_whatsapp_inbound.py,
test_whatsapp_outbound.py and test_whatsapp_config_and_privacy.py (and test_whatsapp_delivery.py).

Each test runs the channel's real blueprint in a Sanic server on a free loopback
port (inside the test's event loop), talks to it with real HTTP requests and uses
a RecordingServer as the Graph API. `on_new_message` is a fake that records the
UserMessage and, where a test needs it, answers through the channel's output.
The fixtures built on these (graph_server, graph, db_url, config, harness) are in
tests/channels/conftest.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from channels.whatsapp import WhatsAppInput
from tests.fakes import RecordingServer

SECRET = "contract-app-secret"
VERIFY = "contract-verify-token"
TOKEN = "contract-access-token"
PNID = "1234567890"
WA_ID = "447700900123"
MESSAGES_PATH = f"/graph/{PNID}/messages"
WEBHOOK = "/webhooks/whatsapp/webhook"


# --------------------------------------------------------------------------- helpers


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(*messages: Dict[str, Any], statuses: Optional[List[Dict[str, Any]]] = None, pnid: str = PNID) -> Dict[str, Any]:
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": pnid},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Pat Example"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [{"value": value, "field": "messages"}]}]}


def text_msg(body: str, wa_id: str = WA_ID, mid: Optional[str] = None) -> Dict[str, Any]:
    return {"from": wa_id, "id": mid or f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())), "type": "text", "text": {"body": body}}


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Harness:
    """The channel's blueprint served on loopback, a fake Rasa handler and a fake Graph API."""

    def __init__(self, channel: WhatsAppInput, graph: RecordingServer) -> None:
        self.channel = channel
        self.graph = graph
        self.received: List[UserMessage] = []
        self.reply: Optional[Callable[[UserMessage], Awaitable[None]]] = None
        self.fail_on: set = set()
        self.url = ""
        self._server: Any = None

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if message.text in self.fail_on:
            raise RuntimeError("the dialogue engine failed")
        if self.reply is not None:
            await self.reply(message)

    async def start(self) -> "Harness":
        # Test mode lets several Sanic apps start in one process (as sanic-testing does).
        Sanic.test_mode = True
        app = Sanic(f"wa_contract_{uuid.uuid4().hex[:10]}")
        app.config.MOTD = False
        app.blueprint(self.channel.blueprint(self.on_new_message), url_prefix="/webhooks/whatsapp")
        sock = free_socket()
        self.url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        # Sanic 21.12: awaiting create_server starts listening; startup() finalises the routes.
        self._server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        return self

    async def stop(self) -> None:
        await self.channel.wait_idle(5)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def post(self, body: bytes, headers: Optional[Dict[str, str]] = None, signed: bool = True) -> aiohttp.ClientResponse:
        hdrs = {"Content-Type": "application/json"}
        if signed:
            hdrs["X-Hub-Signature-256"] = sign(body)
        hdrs.update(headers or {})
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url + WEBHOOK, data=body, headers=hdrs) as resp:
                await resp.read()
                return resp

    async def post_json(self, payload: Any) -> aiohttp.ClientResponse:
        resp = await self.post(json.dumps(payload).encode())
        await self.channel.wait_idle(10)
        return resp

    async def get(self, path: str, params: Dict[str, str]) -> aiohttp.ClientResponse:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.url + path, params=params) as resp:
                await resp.read()
                return resp

    def sent(self) -> List[Dict[str, Any]]:
        return [r.json() for r in self.graph.matching(MESSAGES_PATH)]


def body_of(resp: aiohttp.ClientResponse) -> Any:
    return json.loads(resp._body)  # read in Harness.post


def texts(payloads: List[Dict[str, Any]]) -> List[str]:
    return [p["text"]["body"] for p in payloads if p.get("type") == "text"]


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})
