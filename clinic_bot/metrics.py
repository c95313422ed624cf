"""Prometheus metrics: the metric objects, and `/metrics` for the project's Sanic servers.

Why one module: the Rasa server (clinic_bot/rasa_runtime.py), the action server
(actions/server.py) and the staff console (console/app.py) each expose their
own process's counters at `GET /metrics`, in Prometheus' text format, with the
same access rule; the code that counts (escalations, staff alerts, WhatsApp
sends, the reconciler) imports its metric from here. Each server is one
process, so prometheus_client's default registry is enough (no multiprocess
mode).

Labels never hold patient data: no sender ids, no text, and nothing a client
chooses freely (an unknown channel name counts as "other"; categories and
urgencies come from the safety table).

Access: metrics show how busy the clinic is and when, so `/metrics` answers
only a loopback client that came directly (no proxy forwarding header), or any
client with `Authorization: Bearer <METRICS_TOKEN>` when that setting is
non-empty. Everyone else gets 403. A reverse proxy on the same machine makes
every request loopback: it must not route `/metrics` (and adds a forwarding
header, which this check refuses without the token).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any, Callable, Iterable, Mapping, Optional, Set

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, disable_created_metrics, generate_latest

disable_created_metrics()  # no `*_created` series beside each counter: start times are not needed here

# -- the metrics -------------------------------------------------------------------------
USER_TURNS = Counter("clinic_user_turns", "User messages the Rasa server handled (whole turns), by input channel", ["channel"])
TURN_LATENCY = Histogram(
    "clinic_turn_latency_seconds",
    "Time from a user message reaching the Rasa server to its last reply sent, by input channel",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 30.0, 60.0),
)
ESCALATIONS = Counter(
    "clinic_escalations", "Escalations that told staff (new ticket or raised urgency), by ticket category and urgency", ["category", "urgency"]
)
SAFETY_CHECKS = Counter("clinic_safety_checks", "Red-flag safety checks the bot asked (weak evidence of a red flag)")
STAFF_ALERT_FAILURES = Counter("clinic_staff_alert_failures", "Staff alerts (webhook) that failed after every retry")
WHATSAPP_SEND_FAILURES = Counter(
    "clinic_whatsapp_send_failures",
    "WhatsApp messages not delivered: refused or unreachable after retries (stage=send), or reported failed later (stage=status)",
    ["stage"],
)
RECONCILER_RECOVERIES = Counter("clinic_reconciler_recoveries", "Lost escalations the console's reconciler finished (action never ran)")

OTHER_CHANNEL = "other"
# Input channel names counted under their own label: the project's channels, plus those the
# Rasa server registers at start (`known_channels.update`). REST lets a client name any
# `input_channel`; anything else is "other", so a client cannot grow the label set.
known_channels: Set[str] = {"rest", "socketio", "whatsapp", "twilio", "cmdline"}


def channel_label(name: object) -> str:
    """The label for a message's input channel; anything not a known name (a REST client may
    send an object, which is not even hashable) is "other"."""
    return name if isinstance(name, str) and name in known_channels else OTHER_CHANNEL


def exposition() -> bytes:
    """This process's metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)


# -- access --------------------------------------------------------------------------------
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_loopback(address: Optional[str]) -> bool:
    try:
        return ipaddress.ip_address((address or "").strip("[]")).is_loopback
    except ValueError:
        return False


def allowed(peer: Optional[str], headers: Mapping[str, str], token: str) -> bool:
    """May this request read the metrics? `headers` must be case-insensitive (Sanic's are)."""
    if token:
        provided = headers.get("authorization") or ""
        scheme, _, value = provided.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return True
    return is_loopback(peer) and not any(headers.get(h) for h in FORWARDING_HEADERS)


def add_route(app: Any, token: Optional[str] = None) -> Callable:
    """Add `GET /metrics` to a Sanic app; returns the handler (the console marks it public)."""
    from sanic import response  # only the servers need Sanic

    if token is None:
        from clinic_bot.settings import load_settings

        token = load_settings().metrics_token

    async def metrics(request: Any) -> Any:
        if not allowed(request.ip, request.headers, token or ""):
            return response.text("forbidden\n", status=403)
        return response.raw(exposition(), content_type=CONTENT_TYPE_LATEST)

    app.add_route(metrics, "/metrics", methods=["GET"], name="clinic_metrics")
    return metrics


def register_channels(names: Iterable[str]) -> None:
    known_channels.update(n for n in names if n)
