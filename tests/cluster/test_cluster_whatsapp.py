"""WhatsApp across servers: Meta may deliver the same message twice, and behind nginx the
two deliveries can reach two Rasa servers at once. The claim in PostgreSQL (a unique
message key) lets exactly one server handle it: one turn, one ticket, one staff alert."""

from __future__ import annotations

import json
import random
import threading

from tests.channels import whatsapp_helpers as wa
from tests.cluster.helpers import post_whatsapp, tickets, tracker, turns, wait_until
from tests.conftest import STAFF_HOOK_PATH

RED_FLAG = "my legs have gone numb and i wet myself this morning without knowing"


def test_one_whatsapp_message_delivered_to_both_servers_is_handled_once(cluster, recorder) -> None:
    wa_id = "4477009" + "".join(random.choice("0123456789") for _ in range(5))
    payload = wa.notification(wa.text_msg(RED_FLAG, wa_id=wa_id))
    statuses = []
    start = threading.Barrier(2)

    def deliver(base: str) -> None:
        start.wait()
        statuses.append(post_whatsapp(base, payload))

    threads = [threading.Thread(target=deliver, args=(url,)) for url in cluster.server_urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200, 200]  # both acknowledged (Meta retries anything else)
    # the claims were settled before the 200s: only one server is handling the message
    wait_until(lambda: tickets(cluster, wa_id), 90, "the ticket")
    alerts = wait_until(
        lambda: [r for r in recorder.matching(STAFF_HOOK_PATH) if r.json()["ticket"]["conversation_id"] == wa_id], 30, "the staff alert"
    )
    got = wait_until(lambda: [t for t in turns(tracker(cluster, wa_id)["events"]) if t[1]], 60, "the answered turn")
    assert [u for u, _ in got] == [RED_FLAG]
    assert len(tickets(cluster, wa_id)) == 1
    assert len(alerts) == 1
    sent = [r.json() for r in recorder.matching(wa.MESSAGES_PATH) if r.json().get("to") == wa_id]
    assert sent and len(sent) == len({json.dumps(s, sort_keys=True) for s in sent}), sent  # nothing sent twice
