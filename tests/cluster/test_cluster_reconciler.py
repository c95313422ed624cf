"""The escalation reconciler with two staff consoles on one database: both look for
escalations whose action never ran (action server down) every second; the one lost
escalation becomes one ticket, one staff alert and one handoff."""

from __future__ import annotations

from clinic_bot.launcher import free_port
from clinic_bot.safety import message_urgency
from tests.cluster.helpers import rest_turn, tickets, tracker, wait_until
from tests.conftest import STAFF_HOOK_PATH, new_sender

RED_FLAG = "since yesterday i cant really feel anything when i wipe and my legs feel weak"


def test_two_consoles_finish_a_lost_escalation_once(cluster, recorder) -> None:
    second = cluster.console_service(free_port(), "staff console 2")
    cluster.add_service(second)
    try:
        cluster.stop_service("action server")
        sender = new_sender("cl-reconcile")
        messages = rest_turn(cluster.rasa_url, sender, RED_FLAG)
        assert any(message_urgency(m) == "emergency" for m in messages), messages  # advice even without the action server
        wait_until(lambda: tracker(cluster, sender)["slots"]["handoff_active"], 60, "a console to finish the escalation")
        # the handoff is written after the ticket and the alert: from here on, no console finds it lost
        assert len(tickets(cluster, sender)) == 1
        alerts = [r for r in recorder.matching(STAFF_HOOK_PATH) if r.json()["ticket"]["conversation_id"] == sender]
        assert len(alerts) == 1, alerts
    finally:
        cluster.restart_service("action server")
        cluster.stop_service("staff console 2")
        cluster.services.remove(second)
