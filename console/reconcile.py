"""Recover escalations that were in flight when the action server was down.

The safety message is a domain response, so a patient always gets it; the
ticket, the staff notification and the handoff come from a custom action. If
that action failed (action server down or restarting), the tracker still shows
`utter_red_flag_safety` but no handoff followed. This job finds those turns in
Rasa's own events table and finishes the escalation through the same code as
the action (clinic_bot/escalation.py): the same ticket (same dedupe key, so it
can never be written twice), the staff notification, and the handoff slots,
plus a message to the person.
The console runs it every RECONCILE_EVERY_S seconds; `python -m console.cli
reconcile` runs it once.
"""

from __future__ import annotations

import logging
import time
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot import names
from clinic_bot.escalation import RED_FLAG, Escalation, handoff_events, record, turn_marker
from clinic_bot.metrics import RECONCILER_RECOVERIES
from clinic_bot.notify import notify_ticket
from clinic_bot.rasa_api import RasaApi
from clinic_bot.safety import UNSPECIFIED
from clinic_bot.tickets import Ticket, TicketStore
from console.repositories.events import ensure_action_index, event_data, events_table, has_events_table

logger = logging.getLogger(__name__)
SAFETY_ACTION = "utter_red_flag_safety"
RECOVERED_TEXT = "I've now alerted the clinic team and a member of staff will reply to you here. If you need help now, follow the advice above."
LOOKBACK_S = 24 * 3600


def find_lost_escalations(tracker: Engine, since: Optional[float] = None) -> List[Escalation]:
    """Safety messages in the last day with no handoff after them."""
    if not has_events_table(tracker):
        return []
    ensure_action_index(tracker)
    since = time.time() - LOOKBACK_S if since is None else since
    ev = events_table.c
    with tracker.connect() as conn:
        safety = conn.execute(sa.select(ev.sender_id, ev.timestamp).where(ev.action_name == SAFETY_ACTION, ev.timestamp >= since)).all()
        lost = []
        for sender, ts in safety:
            later = conn.execute(
                sa.select(ev.type_name, ev.data).where(ev.sender_id == sender, ev.timestamp > ts).order_by(ev.timestamp, ev.id)
            ).all()
            handed_off = False
            for type_name, data in later:
                d = event_data(data)
                if type_name == "user":
                    break
                if type_name == "slot" and d.get("name") == names.SLOT_HANDOFF and d.get("value") is True:
                    handed_off = True
                    break
            if handed_off:
                continue
            before = conn.execute(
                sa.select(ev.type_name, ev.data).where(ev.sender_id == sender, ev.timestamp <= ts).order_by(ev.timestamp.desc(), ev.id.desc())
            ).all()
            user = next((event_data(d) for t, d in before if t == "user"), {})
            category = next(
                (event_data(d).get("value") for t, d in before if t == "slot" and event_data(d).get("name") == names.SLOT_CATEGORY),
                None,
            )
            lost.append(
                Escalation(
                    conversation_id=sender,
                    kind=RED_FLAG,
                    marker=turn_marker(user) if user else str(ts),
                    channel=user.get("input_channel") or "unknown",
                    trigger_message=user.get("text") or "",
                    category=category or UNSPECIFIED,
                )
            )
    return lost


async def reconcile(tracker: Engine, tickets: TicketStore, rasa: Optional[RasaApi] = None) -> List[Ticket]:
    """Finish every lost escalation; returns the tickets this run created."""
    created_tickets = []
    for lost in find_lost_escalations(tracker):
        ticket, created = record(tickets, lost)
        if not created:
            continue
        created_tickets.append(ticket)
        RECONCILER_RECOVERIES.inc()
        logger.warning("recovered a lost escalation: ticket %s (%s)", ticket.id, ticket.category)
        await notify_ticket(tickets, ticket)
        try:
            await (rasa or RasaApi()).append_events(
                lost.conversation_id,
                [*handoff_events(lost, ticket), {"event": "bot", "text": RECOVERED_TEXT, "metadata": {"recovered_ticket": ticket.id}}],
            )
        except Exception:  # the ticket is recorded; staff see it in the queue
            logger.exception("could not put conversation into handoff after recovering ticket %s", ticket.id)
    return created_tickets
