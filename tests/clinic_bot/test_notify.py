"""The staff webhook (clinic_bot/notify.py) against a recording server on loopback:
which failures are retried and how often, the signature staff can verify, and the
outcome written to the ticket."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from typing import Iterator

import pytest
import sqlalchemy as sa

from clinic_bot.db import metadata
from clinic_bot.notify import notify_ticket, post_staff_webhook
from clinic_bot.signatures import sign
from clinic_bot.tickets import TicketStore
from tests.fakes import RecordingServer

HOOK = "/hook"
FAST = {"timeout_s": 2.0, "backoff_s": 0.0}


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    s = RecordingServer().start()
    yield s
    s.stop()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}{HOOK}"


async def test_delivered_on_the_first_try(server) -> None:
    result = await post_staff_webhook(server.url + HOOK, {"a": 1}, retries=3, **FAST)
    assert (result.ok, result.attempts, result.error) == (True, 1, None)
    assert len(server.matching(HOOK)) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_retried(server, status) -> None:
    server.script(HOOK, (status, {}, 0.0), (status, {}, 0.0))
    result = await post_staff_webhook(server.url + HOOK, {"a": 1}, retries=3, **FAST)
    assert (result.ok, result.attempts) == (True, 3)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_a_client_error_is_not_retried(server, status) -> None:
    server.script(HOOK, default=(status, {}, 0.0))
    result = await post_staff_webhook(server.url + HOOK, {"a": 1}, retries=3, **FAST)
    assert (result.ok, result.attempts, result.error) == (False, 1, f"HTTP {status}")
    assert len(server.matching(HOOK)) == 1


async def test_gives_up_after_the_last_retry_with_the_last_error(server) -> None:
    server.script(HOOK, default=(503, {}, 0.0))
    result = await post_staff_webhook(server.url + HOOK, {"a": 1}, retries=4, **FAST)
    assert (result.ok, result.attempts, result.error) == (False, 4, "HTTP 503")
    assert len(server.matching(HOOK)) == 4


async def test_a_timeout_counts_as_a_failed_attempt(server) -> None:
    server.script(HOOK, (200, {}, 1.0))  # slower than the timeout, then answers at once
    result = await post_staff_webhook(server.url + HOOK, {"a": 1}, retries=2, timeout_s=0.3, backoff_s=0.0)
    assert (result.ok, result.attempts) == (True, 2)


async def test_an_unreachable_webhook_fails_with_the_network_error() -> None:
    result = await post_staff_webhook(closed_port_url(), {"a": 1}, retries=2, **FAST)
    assert not result.ok and result.attempts == 2
    assert result.error and "Connect" in result.error


async def test_no_url_means_no_attempt() -> None:
    result = await post_staff_webhook("", {"a": 1})
    assert (result.ok, result.attempts, result.error) == (False, 0, "no staff webhook configured")


async def test_the_body_is_signed_so_staff_can_verify_it(server) -> None:
    await post_staff_webhook(server.url + HOOK, {"b": 2, "a": 1}, secret="s3cret", **FAST)
    request = server.matching(HOOK)[0]
    assert request.body == json.dumps({"a": 1, "b": 2}, sort_keys=True).encode()
    expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Clinic-Signature-256"] == expected == sign(request.body, "s3cret")
    assert request.headers["Content-Type"] == "application/json"


async def test_unsigned_without_a_secret(server) -> None:
    await post_staff_webhook(server.url + HOOK, {"a": 1}, **FAST)
    assert "X-Clinic-Signature-256" not in server.matching(HOOK)[0].headers


# ---------------------------------------------------------------- notify_ticket
@pytest.fixture
def store(tmp_path) -> TicketStore:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    metadata.create_all(engine)
    return TicketStore(engine)


def new_ticket(store: TicketStore):
    ticket, _ = store.create(
        dedupe_key="c1:red_flag:m1", conversation_id="c1", channel="rest", category="cauda_equina", urgency="emergency", trigger_message="I can't pee"
    )
    return ticket


async def test_notify_ticket_sends_the_ticket_and_records_success(server, store, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_WEBHOOK_URL", server.url + HOOK)
    monkeypatch.setenv("STAFF_WEBHOOK_SECRET", "s3cret")
    ticket = new_ticket(store)
    result = await notify_ticket(store, ticket)
    assert result.ok
    request = server.matching(HOOK)[0]
    assert request.json() == {"type": "handoff_ticket", "ticket": ticket.as_dict()}
    assert request.headers["X-Clinic-Signature-256"] == sign(request.body, "s3cret")
    saved = store.get(ticket.id)
    assert (saved.notification_status, saved.notification_attempts, saved.notification_error) == ("sent", 1, None)


async def test_notify_ticket_records_a_failure_on_the_ticket(server, store, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_WEBHOOK_URL", server.url + HOOK)
    monkeypatch.setenv("STAFF_WEBHOOK_RETRIES", "2")
    monkeypatch.setenv("STAFF_WEBHOOK_TIMEOUT", "2")
    server.script(HOOK, default=(500, {}, 0.0))
    ticket = new_ticket(store)
    result = await notify_ticket(store, ticket)
    assert not result.ok
    saved = store.get(ticket.id)
    assert (saved.notification_status, saved.notification_attempts, saved.notification_error) == ("failed", 2, "HTTP 500")


async def test_notify_ticket_without_a_webhook_marks_the_ticket_failed(store, monkeypatch) -> None:
    monkeypatch.delenv("STAFF_WEBHOOK_URL", raising=False)
    ticket = new_ticket(store)
    await notify_ticket(store, ticket)
    saved = store.get(ticket.id)
    assert (saved.notification_status, saved.notification_attempts) == ("failed", 0)
    assert saved.notification_error == "no staff webhook configured"
