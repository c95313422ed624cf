"""`/metrics` (clinic_bot/metrics.py): who may read it, what it shows, and that the
instrumented code paths move their counters (real code, fake or unreachable peers)."""

from __future__ import annotations

import json
import socket
import time
from types import SimpleNamespace
from typing import Any, Optional

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from sanic.compat import Header

from clinic_bot import metrics, rasa_runtime
from clinic_bot.db import metadata
from clinic_bot.escalation import RED_FLAG, SAFETY_CHECK, Escalation, record
from clinic_bot.notify import post_staff_webhook
from clinic_bot.tickets import TicketStore

TOKEN = "metrics-token-0123456789"
NAMES = (
    "clinic_user_turns_total",
    "clinic_turn_latency_seconds",
    "clinic_escalations_total",
    "clinic_safety_checks_total",
    "clinic_staff_alert_failures_total",
    "clinic_whatsapp_send_failures_total",
    "clinic_reconciler_recoveries_total",
)


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def closed_port_url(path: str = "/hook") -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}{path}"


def ticket_store(tmp_path) -> TicketStore:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    metadata.create_all(engine)
    return TicketStore(engine)


# -- access ------------------------------------------------------------------------------------
class FakeApp:
    def add_route(self, handler: Any, uri: str, methods: Any, name: str) -> None:
        self.handler, self.uri = handler, uri


async def get_metrics(ip: str, token: str = "", **headers: str) -> Any:
    app = FakeApp()
    metrics.add_route(app, token=token)
    assert app.uri == "/metrics"
    return await app.handler(SimpleNamespace(ip=ip, headers=Header({k.replace("_", "-"): v for k, v in headers.items()})))


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.0.0.2", "::1"])
async def test_loopback_clients_read_the_metrics(ip: str) -> None:
    resp = await get_metrics(ip)
    assert resp.status == 200 and resp.content_type.startswith("text/plain")
    assert all(name in resp.body.decode() for name in NAMES)


@pytest.mark.parametrize("ip", ["10.0.0.7", "192.168.1.20", "203.0.113.9", "2001:db8::1", ""])
async def test_other_addresses_get_403(ip: str) -> None:
    resp = await get_metrics(ip)
    assert resp.status == 403 and b"clinic_" not in resp.body


async def test_a_request_a_proxy_forwarded_is_not_loopback() -> None:
    """nginx on the same machine connects from loopback on behalf of anyone."""
    assert (await get_metrics("127.0.0.1", X_Forwarded_For="203.0.113.9")).status == 403
    assert (await get_metrics("127.0.0.1", X_Real_IP="203.0.113.9")).status == 403
    assert (await get_metrics("127.0.0.1", token=TOKEN, X_Forwarded_For="203.0.113.9", Authorization=f"Bearer {TOKEN}")).status == 200


async def test_the_bearer_token_opens_it_from_anywhere() -> None:
    assert (await get_metrics("203.0.113.9", token=TOKEN, Authorization=f"Bearer {TOKEN}")).status == 200
    assert (await get_metrics("203.0.113.9", token=TOKEN, Authorization=f"bearer {TOKEN}")).status == 200
    assert (await get_metrics("203.0.113.9", token=TOKEN, Authorization="Bearer wrong")).status == 403
    assert (await get_metrics("203.0.113.9", token=TOKEN, Authorization=TOKEN)).status == 403
    assert (await get_metrics("203.0.113.9", token=TOKEN)).status == 403


async def test_without_a_token_setting_no_bearer_value_opens_it() -> None:
    assert (await get_metrics("203.0.113.9", token="", Authorization="Bearer ")).status == 403


async def test_the_token_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    app = FakeApp()
    metrics.add_route(app)
    remote = SimpleNamespace(ip="203.0.113.9", headers=Header({"authorization": f"Bearer {TOKEN}"}))
    assert (await app.handler(remote)).status == 200


# -- the counters move -----------------------------------------------------------------------
async def test_a_staff_alert_to_an_unreachable_url_counts_a_failure() -> None:
    before = value("clinic_staff_alert_failures_total")
    outcome = await post_staff_webhook(closed_port_url(), {"type": "test"}, retries=2, timeout_s=1.0, backoff_s=0.0)
    assert not outcome.ok
    assert value("clinic_staff_alert_failures_total") == before + 1
    # no webhook configured is not a failed send (tickets wait in the queue)
    await post_staff_webhook("", {"type": "test"})
    assert value("clinic_staff_alert_failures_total") == before + 1


def test_escalations_count_by_category_and_urgency_once_per_turn(tmp_path) -> None:
    store = ticket_store(tmp_path)
    labels = {"category": "cauda_equina", "urgency": "emergency"}
    before, checks = value("clinic_escalations_total", **labels), value("clinic_safety_checks_total")
    escalation = Escalation("c1", RED_FLAG, "m1", "rest", "I've wet myself", "cauda_equina")
    record(store, escalation)
    record(store, escalation)  # a retried action or the reconciler: the same escalation
    assert value("clinic_escalations_total", **labels) == before + 1
    record(store, Escalation("c2", SAFETY_CHECK, "m2", "rest", "my back hurts"))
    assert value("clinic_safety_checks_total") == checks + 1
    assert value("clinic_escalations_total", category="safety_check", urgency="routine") == 0


async def test_a_whatsapp_send_that_fails_is_counted(tmp_path) -> None:
    from channels.whatsapp import WhatsAppConfig
    from channels.whatsapp.graph_client import GraphClient
    from clinic_bot.db import make_engine

    config = WhatsAppConfig(
        app_secret="s",
        verify_token="v",
        access_token="t",
        phone_number_id="1234567890",
        graph_url=closed_port_url("/graph"),
        timeout_s=1.0,
        max_attempts=1,
        backoff_s=0.0,
    )
    before = value("clinic_whatsapp_send_failures_total", stage="send")
    ok = await GraphClient(config, make_engine(f"sqlite:///{tmp_path / 'clinic.db'}")).send("447700900123", {"type": "text", "text": {"body": "hi"}})
    assert not ok
    assert value("clinic_whatsapp_send_failures_total", stage="send") == before + 1


async def test_failed_delivery_statuses_are_counted(tmp_path) -> None:
    from channels.whatsapp.delivery_records import DeliveryRecorder, FailedStatus
    from clinic_bot.db import make_engine

    before = value("clinic_whatsapp_send_failures_total", stage="status")
    failed = [FailedStatus(f"wamid.{i}", "447700900123", "131047", "window closed") for i in range(2)]
    await DeliveryRecorder(make_engine(f"sqlite:///{tmp_path / 'clinic.db'}")).statuses_failed(failed)
    assert value("clinic_whatsapp_send_failures_total", stage="status") == before + 2


class FakeRasa:
    def __init__(self) -> None:
        self.appended: list = []

    async def append_events(self, conversation_id: str, events: list) -> None:
        self.appended.append((conversation_id, events))


async def test_a_recovered_escalation_is_counted(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.reconcile import SAFETY_ACTION, reconcile
    from console.repositories.events import create_events_table, events_table

    monkeypatch.setenv("STAFF_WEBHOOK_URL", "")  # queue only: no alert is attempted
    tracker = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    create_events_table(tracker)
    now = time.time()
    user = {"event": "user", "text": "I can't feel my legs", "message_id": "m1", "input_channel": "rest", "timestamp": now - 1}
    with tracker.begin() as conn:
        conn.execute(events_table.insert(), [
            {"sender_id": "c9", "type_name": "user", "action_name": None, "timestamp": now - 1, "data": json.dumps(user)},
            {"sender_id": "c9", "type_name": "action", "action_name": SAFETY_ACTION, "timestamp": now, "data": "{}"},
        ])  # fmt: skip
    before = value("clinic_reconciler_recoveries_total")
    rasa = FakeRasa()
    created = await reconcile(tracker, ticket_store(tmp_path), rasa=rasa)  # type: ignore[arg-type]
    assert len(created) == 1 and rasa.appended
    assert value("clinic_reconciler_recoveries_total") == before + 1


# -- the Rasa server: turns and latency --------------------------------------------------------
class FakeProcessor:
    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.delay_s, self.fail = delay_s, fail

    async def handle_message(self, message: UserMessage) -> Optional[list]:
        import asyncio

        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("prediction failed")
        return [{"text": "hello"}]


def fake_agent(processor: FakeProcessor) -> Any:
    return SimpleNamespace(is_ready=lambda: True, lock_store=InMemoryLockStore(), processor=processor)


async def test_every_turn_is_counted_and_timed_by_channel() -> None:
    rasa_runtime.install_metrics()
    rasa_runtime.install_metrics()  # idempotent: counted once, not twice
    turns, observed = value("clinic_user_turns_total", channel="rest"), value("clinic_turn_latency_seconds_count", channel="rest")
    total = value("clinic_turn_latency_seconds_sum", channel="rest")
    message = UserMessage("hi", sender_id="447700900123", input_channel="rest")
    assert await Agent.handle_message(fake_agent(FakeProcessor(delay_s=0.05)), message) == [{"text": "hello"}]
    assert value("clinic_user_turns_total", channel="rest") == turns + 1
    assert value("clinic_turn_latency_seconds_count", channel="rest") == observed + 1
    # the turn slept 0.05 s; an event loop may wake a timer a little early (seen: 0.0498 s under uvloop)
    assert value("clinic_turn_latency_seconds_sum", channel="rest") - total >= 0.045
    with pytest.raises(RuntimeError):  # a failed turn is still a turn the person waited for
        await Agent.handle_message(fake_agent(FakeProcessor(fail=True)), message)
    assert value("clinic_user_turns_total", channel="rest") == turns + 2


async def test_a_channel_name_the_client_chose_counts_as_other() -> None:
    rasa_runtime.install_metrics()
    before = value("clinic_user_turns_total", channel="other")
    await Agent.handle_message(fake_agent(FakeProcessor()), UserMessage("hi", sender_id="x", input_channel="<script>447700900123"))
    assert value("clinic_user_turns_total", channel="other") == before + 1
    body = metrics.exposition().decode()
    assert "447700900123" not in body and "<script>" not in body


def test_the_rasa_server_app_gets_the_metrics_route() -> None:
    import rasa.core.run
    from rasa.core.channels.rest import RestInput

    rasa_runtime.install_metrics()
    app = rasa.core.run.configure_app([RestInput()], enable_api=False, port=0)
    assert "/metrics" in {"/" + route.path.lstrip("/") for route in app.router.routes}


def test_a_channel_name_a_client_chose_is_counted_as_other_whatever_its_type() -> None:
    """REST lets a client send any `input_channel`, even an object (not hashable): the turn is
    still answered and counted under "other" (the REST bad-input test found a TypeError)."""
    assert metrics.channel_label("rest") == "rest"
    for chosen in ("made-up", {"name": "rest"}, ["rest"], None, 3):
        assert metrics.channel_label(chosen) == metrics.OTHER_CHANNEL
