"""One conversation across several Rasa servers: history and handoff in PostgreSQL,
turns serialised by the Redis lock, events streamed to RabbitMQ, and nginx in front."""

from __future__ import annotations

import http.client
import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

from clinic_bot.rate_limit import Rate
from clinic_bot.safety import message_urgency
from clinic_bot.settings import load_settings
from tests.cluster.helpers import drain_queue, rest_turn, tickets, tracker, turns, user_texts, wait_until
from tests.conftest import STAFF_HOOK_PATH, new_sender

RED_FLAG = "since last night i cant tell when i need a wee and it's numb down below"


def test_turns_on_different_servers_keep_history_and_handoff(cluster, recorder) -> None:
    one, two = cluster.server_urls
    sender = new_sender("cl-history")
    first = rest_turn(one, sender, "is facet joint pain the same thing as arthritis?")
    assert first and not any(message_urgency(m) for m in first)
    escalated = rest_turn(two, sender, RED_FLAG)
    assert any(message_urgency(m) == "emergency" for m in escalated), escalated
    # in handoff, whichever server takes the next turn holds the bot back for staff
    assert rest_turn(one, sender, "should I rest?") == []
    for base in (one, two, cluster.rasa_url):
        state = tracker(cluster, sender, base)
        assert user_texts(state["events"]) == ["is facet joint pain the same thing as arthritis?", RED_FLAG, "should I rest?"]
        assert state["slots"]["handoff_active"] is True
    (ticket,) = tickets(cluster, sender)
    assert ticket.category == "cauda_equina"
    wait_until(lambda: [r for r in recorder.matching(STAFF_HOOK_PATH) if r.json()["ticket"]["conversation_id"] == sender], 20, "the staff alert")


def test_two_messages_at_once_on_two_servers_are_answered_in_order(cluster) -> None:
    """Rasa's Redis lock store: the second message waits for the first turn to finish, on
    whichever server it arrived, so the tracker holds whole turns, none lost or interleaved."""
    one, two = cluster.server_urls
    sender = new_sender("cl-lock")
    rest_turn(one, sender, "hello")
    texts = ["how long do facet joint injections last?", "should i rest or keep moving with facet pain?"]
    replies: Dict[str, List[Any]] = {}
    start = threading.Barrier(2)

    def send(base: str, text: str, delay: float) -> None:
        start.wait()
        time.sleep(delay)
        replies[text] = rest_turn(base, sender, text)

    threads = [threading.Thread(target=send, args=(one, texts[0], 0.0)), threading.Thread(target=send, args=(two, texts[1], 0.05))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(replies.get(t) for t in texts), replies
    got = turns(tracker(cluster, sender)["events"])
    assert [u for u, _ in got][1:] in (texts, texts[::-1]), got
    for user, bot in got:
        assert bot, f"turn {user!r} has no answer in the tracker: {got}"
    # each HTTP reply is the answer recorded for that very turn
    for user, bot in got[1:]:
        assert [m.get("text") for m in replies[user] if m.get("text")] == bot


def test_nginx_spreads_turns_over_both_servers(cluster) -> None:
    log = Path(cluster.log_dir) / "nginx-access.log"
    before = log.read_text() if log.exists() else ""
    senders = [new_sender("cl-spread") for _ in range(6)]
    threads = [threading.Thread(target=rest_turn, args=(cluster.rasa_url, s, "what is a facet joint?")) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for s in senders:
        assert user_texts(tracker(cluster, s)["events"]) == ["what is a facet joint?"]
    served = set(re.findall(r"upstream=(\S+)", log.read_text()[len(before) :]))
    assert {u.split("//")[1] for u in cluster.server_urls} <= served, served


def test_every_event_is_streamed_to_rabbitmq(cluster, services) -> None:
    sender = new_sender("cl-broker")
    rest_turn(cluster.rasa_url, sender, "how long do facet joint injections last?")
    scale_out = cluster.scale_out

    def mine() -> List[Dict[str, Any]]:
        found.extend(e for e in drain_queue(scale_out) if e.get("sender_id") == sender)
        return [e for e in found if e.get("event") == "bot"]

    found: List[Dict[str, Any]] = []
    wait_until(mine, 30, "the conversation's events in RabbitMQ")
    assert any(e.get("event") == "user" and e.get("text") == "how long do facet joint injections last?" for e in found)


def test_rest_through_nginx_is_rate_limited_per_address(cluster) -> None:
    """Behind nginx every server sees one address, so nginx applies RATE_PER_CLIENT to the
    REST channel. This test's client uses its own loopback address (127.0.0.9): its own bucket."""
    rate = Rate.parse(load_settings().rate_per_client)
    host, port = cluster.rasa_url.split("//")[1].split(":")
    statuses = []
    for _ in range(rate.count + 5):
        conn = http.client.HTTPConnection(host, int(port), timeout=30, source_address=("127.0.0.9", 0))
        conn.request("POST", "/webhooks/rest/webhook", body=b'{"sender": "", "message": "x"}', headers={"Content-Type": "application/json"})
        statuses.append(conn.getresponse().status)
        conn.close()
    assert statuses[0] == 401  # the first ones reach a server (which wants the channel's token)
    assert 429 in statuses, statuses
