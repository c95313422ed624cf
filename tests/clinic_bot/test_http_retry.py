"""The shared retry rule (clinic_bot/http_retry.py) against a scripted local receiver.

Retried: network errors and timeouts, 5xx, 429 (Retry-After honoured when the
policy says so). Not retried: other 4xx. Attempts and waits are bounded.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import List, Tuple

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from clinic_bot.http_retry import PostOutcome, RetryPolicy, post_with_retries

FAST = RetryPolicy(attempts=3, timeout_s=2.0, backoff_s=0.01)


class Receiver:
    """Answers each POST with the next scripted (status, headers, delay_s), then with the last one."""

    def __init__(self, *script: Tuple[int, dict, float]) -> None:
        self.script = list(script)
        self.times: List[float] = []
        self.bodies: List[bytes] = []
        self.server: TestServer = TestServer(web.Application())
        self.server.app.router.add_post("/hook", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        self.bodies.append(await request.read())
        status, headers, delay = self.script[min(len(self.times), len(self.script)) - 1]
        if delay:
            await asyncio.sleep(delay)
        return web.json_response({"status": status}, status=status, headers=headers)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hook"))

    async def post(self, policy: RetryPolicy = FAST) -> PostOutcome:
        return await post_with_retries(self.url, b'{"a": 1}', {"Content-Type": "application/json"}, policy)


@pytest.fixture
async def receiver_factory():
    started: List[Receiver] = []

    async def make(*script: Tuple[int, dict, float]) -> Receiver:
        receiver = Receiver(*script)
        await receiver.server.start_server()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.server.close()


async def test_a_5xx_is_retried_until_it_succeeds(receiver_factory) -> None:
    hook = await receiver_factory((500, {}, 0), (503, {}, 0), (200, {}, 0))
    outcome = await hook.post()
    assert outcome.ok and outcome.attempts == 3 and outcome.status == 200 and outcome.error is None
    assert len(set(hook.bodies)) == 1  # the same body each time
    assert '"status": 200' in outcome.body


async def test_a_429_is_retried(receiver_factory) -> None:
    hook = await receiver_factory((429, {}, 0), (200, {}, 0))
    outcome = await hook.post()
    assert outcome.ok and outcome.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_other_4xx_are_not_retried(receiver_factory, status: int) -> None:
    hook = await receiver_factory((status, {}, 0), (200, {}, 0))
    outcome = await hook.post()
    assert not outcome.ok and outcome.attempts == 1 and len(hook.times) == 1
    assert outcome.status == status and outcome.error == f"HTTP {status}" and outcome.exception is None


async def test_attempts_are_bounded(receiver_factory) -> None:
    hook = await receiver_factory((502, {}, 0))
    outcome = await hook.post(RetryPolicy(attempts=4, timeout_s=2.0, backoff_s=0.0))
    assert not outcome.ok and outcome.attempts == 4 and len(hook.times) == 4
    assert outcome.status == 502 and outcome.error == "HTTP 502"
    assert (await hook.post(RetryPolicy(attempts=0, backoff_s=0.0))).attempts == 1  # at least one


async def test_a_timeout_is_retried_like_a_network_error(receiver_factory) -> None:
    hook = await receiver_factory((200, {}, 1.0), (200, {}, 0))
    outcome = await hook.post(RetryPolicy(attempts=2, timeout_s=0.3, backoff_s=0.0))
    assert outcome.ok and outcome.attempts == 2


async def test_an_unreachable_receiver_ends_as_an_outcome_not_an_exception() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    outcome = await post_with_retries(f"http://127.0.0.1:{port}/hook", b"{}", {}, RetryPolicy(attempts=3, backoff_s=0.0))
    assert not outcome.ok and outcome.attempts == 3 and outcome.status is None
    assert isinstance(outcome.exception, aiohttp.ClientConnectionError)
    assert outcome.error and outcome.error.startswith(type(outcome.exception).__name__)


async def test_backoff_waits_between_attempts_and_doubles(receiver_factory) -> None:
    hook = await receiver_factory((500, {}, 0))
    await hook.post(RetryPolicy(attempts=3, timeout_s=2.0, backoff_s=0.1))
    first_wait, second_wait = (b - a for a, b in zip(hook.times, hook.times[1:], strict=False))
    assert 0.1 <= first_wait < 0.5 and 0.2 <= second_wait < 0.6


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_only_where_the_policy_honours_it() -> None:
    honours = RetryPolicy(backoff_s=0.5, max_backoff_s=30.0, honour_retry_after=True)
    assert honours.delay(1, "7") == 7.0
    assert honours.delay(1, "0") == 0.5  # never shorter than the backoff
    assert honours.delay(1, "3600") == 30.0  # capped
    assert honours.delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.5 and honours.delay(1, None) == 0.5
    assert RetryPolicy(backoff_s=0.5).delay(1, "7") == 0.5


async def test_retry_after_is_waited_for(receiver_factory) -> None:
    hook = await receiver_factory((429, {"Retry-After": "1"}, 0), (200, {}, 0))
    outcome = await hook.post(RetryPolicy(attempts=2, timeout_s=2.0, backoff_s=0.01, honour_retry_after=True))
    assert outcome.ok and hook.times[1] - hook.times[0] >= 1.0
