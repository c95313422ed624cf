"""Tickets on PostgreSQL under concurrency: writers that race on one escalation (two
console reconcilers, or a reconciler beside the action server) make one ticket, and
only one of them is told to alert staff."""

from __future__ import annotations

import threading
from typing import List, Tuple

from clinic_bot.db import get_engine
from clinic_bot.escalation import RED_FLAG, Escalation, record
from clinic_bot.tickets import Ticket, TicketStore


def race(store: TicketStore, escalation: Escalation, writers: int) -> List[Tuple[Ticket, bool]]:
    results: List[Tuple[Ticket, bool]] = []
    errors: List[BaseException] = []
    start = threading.Barrier(writers)

    def write() -> None:
        start.wait()
        try:
            results.append(record(store, escalation))
        except BaseException as exc:  # noqa: BLE001  (reported by the test)
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_racing_writers_of_one_escalation_make_one_ticket_and_one_alert(pg_url: str) -> None:
    store = TicketStore(get_engine(pg_url))
    for n in range(20):  # many rounds: the race is real only some of the time
        escalation = Escalation(conversation_id=f"race-{n}", kind=RED_FLAG, marker="m1", channel="rest", trigger_message="", category="cauda_equina")
        results = race(store, escalation, writers=4)
        assert len(results) == 4
        assert len({t.id for t, _ in results}) == 1
        assert sum(told for _, told in results) == 1
        assert len(store.list(statuses=("open", "acknowledged", "closed"), conversation_id=f"race-{n}")) == 1
