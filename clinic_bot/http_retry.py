"""POST with bounded retries and backoff: the one retry policy of every outbound call.

What is retried, for every caller: network errors and timeouts, 5xx and 429
(a receiver that is down, busy or briefly broken may take it a moment later).
What is not: any other 4xx (the receiver refused this request and would refuse
it again; e.g. WhatsApp's closed 24-hour window). Attempts and waits are bounded
so a dead receiver costs seconds, not minutes. The retry loop itself is
aiohttp-retry's; this module only says when and how long.

How many attempts and how long to wait is each caller's `RetryPolicy`, built
from its settings: the staff webhook in clinic_bot/notify.py
(`STAFF_WEBHOOK_RETRIES`, `STAFF_WEBHOOK_TIMEOUT`), the WhatsApp Graph API in
`WhatsAppConfig.retry_policy` (channels/whatsapp/config.py). Callers decide
what an outcome means (a ticket marker, a delivery record) and log it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Mapping, Optional

import aiohttp
from aiohttp_retry import RetryClient
from aiohttp_retry.retry_options import RetryOptionsBase

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429})  # and every 5xx
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # in all, the first one included
    timeout_s: float = 10.0  # for each attempt
    backoff_s: float = 0.5  # wait before the 2nd attempt; doubles after each
    max_backoff_s: float = 30.0  # no wait is longer, Retry-After included
    honour_retry_after: bool = False  # wait at least what a 429/5xx's Retry-After asks

    def delay(self, failed_attempt: int, retry_after: Optional[str] = None) -> float:
        """Seconds to wait after attempt number `failed_attempt` (1-based) failed."""
        delay = self.backoff_s * (2 ** (failed_attempt - 1))
        asked = retry_after_seconds(retry_after) if self.honour_retry_after else None
        if asked is not None:
            delay = max(delay, asked)
        return min(delay, self.max_backoff_s)


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """A Retry-After header in seconds (the HTTP-date form is not used by our receivers)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PostOutcome:
    """What became of a POST: the last attempt's answer, or the error that ended it."""

    ok: bool  # a 2xx answer
    attempts: int
    status: Optional[int] = None  # None: no HTTP answer at all
    body: str = ""
    error: Optional[str] = None  # "HTTP 503", "ClientConnectorError: ...", or the caller's reason
    exception: Optional[BaseException] = None  # the network error of the last attempt


class _Backoff(RetryOptionsBase):
    """aiohttp-retry's options for a RetryPolicy."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(
            attempts=max(1, int(policy.attempts)), statuses=set(RETRY_STATUSES), exceptions=set(NETWORK_ERRORS), retry_all_server_errors=True
        )
        self.policy = policy

    def get_timeout(self, attempt: int, response: Optional[aiohttp.ClientResponse] = None) -> float:
        return self.policy.delay(attempt, response.headers.get("Retry-After") if response is not None else None)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def post_with_retries(url: str, body: bytes, headers: Mapping[str, str], policy: RetryPolicy) -> PostOutcome:
    """POST `body` under `policy`. Network errors end as an outcome, never an exception."""
    attempts = 0

    async def count_attempt(*_: object) -> None:  # aiohttp calls it as each attempt starts
        nonlocal attempts
        attempts += 1

    tracing = aiohttp.TraceConfig()
    tracing.on_request_start.append(count_attempt)
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, trace_configs=[tracing]) as session:
        client = RetryClient(client_session=session, retry_options=_Backoff(policy), logger=logger)
        try:
            async with client.post(url, data=body, headers=dict(headers)) as resp:
                ok = 200 <= resp.status < 300
                try:
                    text = await resp.text(errors="replace")
                except NETWORK_ERRORS:  # the answer counts, whatever its body
                    text = ""
                return PostOutcome(ok=ok, attempts=attempts, status=resp.status, body=text, error=None if ok else f"HTTP {resp.status}")
        except NETWORK_ERRORS as exc:
            return PostOutcome(ok=False, attempts=attempts, error=_describe(exc), exception=exc)
