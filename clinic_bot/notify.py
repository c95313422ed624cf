"""Staff notification webhook: a signed JSON POST with a short timeout and bounded retries.

Runs in the background after the safety message and ticket are done, so a slow
or broken webhook never delays what the patient sees. Each outcome is written
to the ticket. The body is signed (`X-Clinic-Signature-256: sha256=<hex>`,
clinic_bot/signatures.py) when `STAFF_WEBHOOK_SECRET` is set; what is retried
is clinic_bot/http_retry.py's rule, with `STAFF_WEBHOOK_RETRIES` attempts.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Dict

from clinic_bot.http_retry import PostOutcome, RetryPolicy, post_with_retries
from clinic_bot.metrics import STAFF_ALERT_FAILURES
from clinic_bot.signatures import sign

if TYPE_CHECKING:  # pragma: no cover
    from clinic_bot.tickets import Ticket, TicketStore

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Clinic-Signature-256"


async def post_staff_webhook(
    url: str,
    payload: Dict[str, Any],
    *,
    secret: str = "",
    timeout_s: float = 3.0,
    retries: int = 3,
    backoff_s: float = 0.5,
) -> PostOutcome:
    """POST `payload` as JSON to the staff webhook, up to `retries` attempts."""
    if not url:
        return PostOutcome(ok=False, attempts=0, error="no staff webhook configured")
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    policy = RetryPolicy(attempts=retries, timeout_s=timeout_s, backoff_s=backoff_s)
    outcome = await post_with_retries(url, body, headers, policy)
    if not outcome.ok:
        STAFF_ALERT_FAILURES.inc()
        logger.warning("staff webhook failed after %s attempt(s): %s", outcome.attempts, outcome.error)
    return outcome


async def notify_ticket(store: "TicketStore", ticket: "Ticket") -> PostOutcome:
    """Tell staff about a new ticket and record the outcome on it."""
    from clinic_bot.settings import load_settings

    settings = load_settings()
    result = await post_staff_webhook(
        settings.staff_webhook_url,
        {"type": "handoff_ticket", "ticket": ticket.as_dict()},
        secret=settings.staff_webhook_secret,
        timeout_s=settings.webhook_timeout_s,
        retries=settings.webhook_retries,
    )
    try:
        store.record_notification(ticket.id, ok=result.ok, attempts=result.attempts, error=result.error)
    except Exception:  # the ticket itself is safe; only the marker is lost
        logger.exception("could not record notification outcome for ticket %s", ticket.id)
    return result
