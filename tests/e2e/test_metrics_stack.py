"""`/metrics` on the real stack: a REST turn moves the Rasa server's turn counter and
latency histogram; the action server and the console answer loopback clients, and
refuse a request a proxy forwarded (clinic_bot/metrics.py)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Dict, Optional

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import new_sender, rest_send

pytestmark = pytest.mark.stack


def scrape(url: str, headers: Optional[Dict[str, str]] = None) -> str:
    with urllib.request.urlopen(urllib.request.Request(f"{url}/metrics", headers=headers or {}), timeout=30) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        return resp.read().decode()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_a_rest_turn_is_counted_and_timed(stack) -> None:
    before = scrape(stack.rasa_url)
    sender = new_sender("metrics")
    assert rest_send(stack, sender, "hello")
    after = scrape(stack.rasa_url)
    assert sample(after, "clinic_user_turns_total", channel="rest") == sample(before, "clinic_user_turns_total", channel="rest") + 1
    count = "clinic_turn_latency_seconds_count"
    assert sample(after, count, channel="rest") == sample(before, count, channel="rest") + 1
    assert sample(after, "clinic_turn_latency_seconds_sum", channel="rest") > sample(before, "clinic_turn_latency_seconds_sum", channel="rest")
    assert sender not in after  # no conversation ids in labels


def test_the_action_server_and_the_console_answer_loopback(stack) -> None:
    for url in (f"http://127.0.0.1:{stack.action_port}", stack.console_url):
        text = scrape(url)
        assert "clinic_escalations_total" in text and "clinic_staff_alert_failures_total" in text


@pytest.mark.parametrize("server", ["rasa", "actions", "console"])
def test_a_request_through_a_proxy_is_refused_without_the_token(stack, server: str) -> None:
    url = {"rasa": stack.rasa_url, "actions": f"http://127.0.0.1:{stack.action_port}", "console": stack.console_url}[server]
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(url, {"X-Forwarded-For": "203.0.113.9"})
    assert refused.value.code == 403
