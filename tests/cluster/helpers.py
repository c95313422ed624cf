"""Small clients for the cluster tests: REST turns with the channel's token, the HTTP API,
signed WhatsApp deliveries, and the RabbitMQ queue the event broker writes to."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import aio_pika

from clinic_bot.cluster import ClusterStack
from clinic_bot.db import get_engine
from clinic_bot.rasa_api import auth_headers
from clinic_bot.services import ScaleOutServices
from clinic_bot.tickets import Ticket, TicketStore
from tests.channels import whatsapp_helpers as wa

REST_TOKEN = "cluster-test-rest-token"


def post(url: str, payload: Any, headers: Optional[Dict[str, str]] = None, timeout: float = 90.0) -> Tuple[int, Any]:
    """(status, decoded JSON or text); HTTP errors are returned, not raised."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def rest_turn(base_url: str, sender: str, text: str) -> List[Dict[str, Any]]:
    """One REST turn (through nginx or straight to one server); the bot's messages."""
    status, body = post(f"{base_url}/webhooks/rest/webhook", {"sender": sender, "message": text}, {"Authorization": f"Bearer {REST_TOKEN}"})
    assert status == 200, (status, body)
    return body


def tracker(cluster: ClusterStack, sender: str, base_url: Optional[str] = None) -> Dict[str, Any]:
    url = f"{base_url or cluster.rasa_url}/conversations/{sender}/tracker?include_events=ALL"
    req = urllib.request.Request(url, headers=auth_headers(cluster.token))
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("text") or "" for e in events if e.get("event") == "user"]


def turns(events: List[Dict[str, Any]]) -> List[Tuple[str, List[str]]]:
    """(user text, the bot texts before the next user message), in the tracker's order."""
    out: List[Tuple[str, List[str]]] = []
    for e in events:
        if e.get("event") == "user":
            out.append((e.get("text") or "", []))
        elif e.get("event") == "bot" and out:
            out[-1][1].append(e.get("text") or "")
    return out


def tickets(cluster: ClusterStack, sender: str) -> List[Ticket]:
    return TicketStore(get_engine(cluster.db_url)).list(statuses=("open", "acknowledged", "closed"), conversation_id=sender)


def post_whatsapp(base_url: str, payload: Dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    status, _ = post(f"{base_url}{wa.WEBHOOK}", body, {"X-Hub-Signature-256": wa.sign(body)}, timeout=60)
    return status


def wait_until(check: Any, timeout_s: float, what: str, every_s: float = 0.2) -> Any:
    """Poll `check()` until it returns something truthy; fail saying `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def drain_queue(services: ScaleOutServices, timeout_s: float = 1.0) -> List[Dict[str, Any]]:
    """Every message waiting in the event broker's queue (acknowledged: consumed)."""

    async def _drain() -> List[Dict[str, Any]]:
        connection = await aio_pika.connect_robust(services.amqp_url)
        out: List[Dict[str, Any]] = []
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(services.rabbitmq_queue, passive=True)
            while True:
                message = await queue.get(fail=False, timeout=timeout_s)
                if message is None:
                    return out
                out.append(json.loads(message.body))
                await message.ack()

    return asyncio.run(_drain())


def delete_queue(services: ScaleOutServices) -> None:
    async def _delete() -> None:
        connection = await aio_pika.connect(services.amqp_url, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(services.rabbitmq_queue)

    try:
        asyncio.run(_delete())
    except Exception:  # noqa: BLE001  (nothing to clean up if RabbitMQ is gone)
        pass
