"""Staff notification webhook: JSON POST with a short timeout and bounded retries.

Runs in the background after the safety message and ticket are done, so a slow
or broken webhook never delays what the patient sees. Each outcome is written
to the ticket. The body is signed (HMAC-SHA256) when a secret is configured.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Optional

import aiohttp

if TYPE_CHECKING:  # pragma: no cover
    from clinic_bot.tickets import Ticket, TicketStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifyResult:
    ok: bool
    attempts: int
    error: Optional[str] = None


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_with_retries(
    url: str,
    payload: Dict[str, Any],
    *,
    secret: str = "",
    timeout_s: float = 3.0,
    retries: int = 3,
    backoff_s: float = 0.5,
) -> NotifyResult:
    """POST `payload`; retry on network errors and 5xx/429, up to `retries` attempts."""
    if not url:
        return NotifyResult(ok=False, attempts=0, error="no staff webhook configured")
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers["X-Clinic-Signature-256"] = sign(body, secret)
    last_error = "not attempted"
    attempts = 0
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for attempt in range(1, max(1, retries) + 1):
            attempts = attempt
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        return NotifyResult(ok=True, attempts=attempts)
                    last_error = f"HTTP {resp.status}"
                    if resp.status < 500 and resp.status != 429:
                        break  # a client error will not fix itself
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < retries:
                await asyncio.sleep(backoff_s * (2 ** (attempt - 1)))
    logger.warning("staff webhook failed after %s attempt(s): %s", attempts, last_error)
    return NotifyResult(ok=False, attempts=attempts, error=last_error)


async def notify_ticket(store: "TicketStore", ticket: "Ticket") -> NotifyResult:
    """Tell staff about a new ticket and record the outcome on it."""
    from clinic_bot.settings import load_settings

    settings = load_settings()
    result = await post_with_retries(
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
