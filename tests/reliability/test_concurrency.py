"""Several messages from the same person at the same time (double taps, two
tabs, a retry): Rasa's lock store must process them one after the other, in
order, and the handoff state must stay consistent."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import Any, Dict, List
from urllib.parse import urlparse

import pytest

from tests.conftest import new_sender, rest_send
from tests.reliability.helpers import (
    ARTHRITIS_ANSWER,
    ARTHRITIS_QUESTION,
    RED_FLAG,
    REST_ANSWER,
    REST_QUESTION,
    has_safety_message,
    texts,
    tickets_for,
    tracker,
    wait_until,
)

pytestmark = pytest.mark.stack


def send_staggered(stack, sender: str, messages: List[str], gap_s: float) -> List[Any]:
    """Send each message on its own connection, `gap_s` apart, without waiting for the answers;
    then collect all answers. With gap 0 they go out together (behind a barrier)."""
    url = urlparse(stack.rasa_url)
    results: List[Any] = [None] * len(messages)
    barrier = threading.Barrier(len(messages))

    def one(i: int, text: str) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=90)
        try:
            body = json.dumps({"sender": sender, "message": text})
            if gap_s == 0:
                barrier.wait(timeout=10)
            else:
                time.sleep(i * gap_s)
            conn.request("POST", "/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            results[i] = (resp.status, json.loads(resp.read() or b"null"))
        except Exception as exc:  # noqa: BLE001
            results[i] = (0, f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i, m)) for i, m in enumerate(messages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def turns(events: List[Dict[str, Any]]) -> List[tuple]:
    """(user text, [bot texts]) per user turn, in tracker order."""
    out: List[tuple] = []
    for e in events:
        if e.get("event") == "user":
            out.append((e.get("text"), []))
        elif e.get("event") == "bot" and out:
            out[-1][1].append(e.get("text") or "")
    return out


def test_two_messages_at_once_are_answered_in_order(stack) -> None:
    sender = new_sender("twice")
    rest_send(stack, sender, "hello")
    (s1, r1), (s2, r2) = send_staggered(stack, sender, [REST_QUESTION, ARTHRITIS_QUESTION], gap_s=0.15)
    assert (s1, s2) == (200, 200), (r1, r2)
    assert REST_ANSWER in texts(r1), f"first request got: {texts(r1)}"
    assert ARTHRITIS_ANSWER in texts(r2), f"second request got: {texts(r2)}"
    assert REST_ANSWER not in texts(r2) and ARTHRITIS_ANSWER not in texts(r1), "answers crossed between requests"
    t = turns(tracker(stack, sender)["events"])
    assert [u for u, _ in t][-2:] == [REST_QUESTION, ARTHRITIS_QUESTION], t
    assert REST_ANSWER in t[-2][1] and ARTHRITIS_ANSWER in t[-1][1], f"turns interleaved in the tracker: {t[-2:]}"


def test_simultaneous_messages_are_processed_one_turn_at_a_time(stack) -> None:
    sender = new_sender("together")
    rest_send(stack, sender, "hello")
    results = send_staggered(stack, sender, [REST_QUESTION, ARTHRITIS_QUESTION, "what are your opening hours?"], gap_s=0)
    assert all(status == 200 for status, _ in results), results
    t = turns(tracker(stack, sender)["events"])[-3:]
    assert sorted(u for u, _ in t) == sorted([REST_QUESTION, ARTHRITIS_QUESTION, "what are your opening hours?"]), t
    expected = {REST_QUESTION: REST_ANSWER, ARTHRITIS_QUESTION: ARTHRITIS_ANSWER}
    for user, bots in t:
        assert bots, f"{user!r} has no answer in the tracker: {t}"
        if user in expected:
            assert expected[user] in bots, f"{user!r} answered with {bots}: turns interleaved"
    for (_status, messages), text in zip(results, [REST_QUESTION, ARTHRITIS_QUESTION], strict=False):
        assert expected[text] in texts(messages), f"the request for {text!r} got {texts(messages)}"


@pytest.mark.parametrize("order", ["red_flag_first", "faq_first", "together"])
def test_red_flag_and_faq_at_the_same_moment_end_in_handoff_with_one_ticket(stack, order: str) -> None:
    sender = new_sender(f"race-{order}")
    rest_send(stack, sender, "hello")
    messages = [RED_FLAG, REST_QUESTION] if order != "faq_first" else [REST_QUESTION, RED_FLAG]
    results = send_staggered(stack, sender, messages, gap_s=0 if order == "together" else 0.15)
    assert all(status == 200 for status, _ in results), results
    flag_reply = results[messages.index(RED_FLAG)][1]
    faq_reply = results[messages.index(REST_QUESTION)][1]
    assert has_safety_message(flag_reply), f"no safety advice for the red flag: {flag_reply}"
    wait_until(lambda: tickets_for(sender), timeout_s=5)
    tickets = tickets_for(sender)
    assert len(tickets) == 1, f"{len(tickets)} tickets for one red flag: {[t.id for t in tickets]}"
    state = tracker(stack, sender)
    assert state["slots"]["handoff_active"] is True, state["slots"]
    t = turns(state["events"])
    position = {u: i for i, (u, _) in enumerate(t)}
    if position[REST_QUESTION] > position[RED_FLAG]:
        assert faq_reply == [], f"the FAQ processed after the red flag was answered during handoff: {faq_reply}"
    else:
        assert REST_ANSWER in texts(faq_reply), texts(faq_reply)
    if order == "red_flag_first":
        assert position[RED_FLAG] < position[REST_QUESTION], t
    if order == "faq_first":
        assert position[REST_QUESTION] < position[RED_FLAG], t
