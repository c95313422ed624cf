"""An escalation to a human, written once: its ticket, its staff alert, its handoff.

Two paths escalate: the custom action right after the safety message
(actions/handoff.py), and the console's reconciler for a turn whose action
never ran (console/reconcile.py). Both build the same `Escalation` from the
user's turn, so they write the same dedupe key (a retried or recovered
escalation is recognised, never written twice), the same ticket (urgency from
the one safety table; a repeated red flag joins the conversation's open
ticket), and the same handoff slots.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

from clinic_bot import names
from clinic_bot.metrics import ESCALATIONS, SAFETY_CHECKS
from clinic_bot.notify import notify_ticket
from clinic_bot.safety import UNSPECIFIED, load_table
from clinic_bot.tickets import Ticket, TicketStore

logger = logging.getLogger(__name__)

# kinds of escalation; only a red flag has a category from the safety table, the
# others are routine tickets named after their kind
RED_FLAG = "red_flag"
REQUEST_HUMAN = "request_human"
SAFETY_CHECK = "safety_check"  # logged for review, staff not alerted
ROUTINE = "routine"
_background: Set[asyncio.Task] = set()


def turn_marker(user_event: Mapping[str, Any]) -> str:
    """What identifies the user's turn: its message id, else its timestamp."""
    return str(user_event.get("message_id") or user_event.get("timestamp") or "none")


@dataclass(frozen=True)
class Escalation:
    conversation_id: str
    kind: str  # RED_FLAG, REQUEST_HUMAN or SAFETY_CHECK
    marker: str  # turn_marker() of the user's turn
    channel: str
    trigger_message: str
    category: str = UNSPECIFIED

    @property
    def dedupe_key(self) -> str:
        return f"{self.conversation_id}:{self.kind}:{self.marker}"

    @property
    def ticket_category(self) -> str:
        if self.kind != RED_FLAG:
            return self.kind
        return self.category if self.category in load_table().category_urgency else UNSPECIFIED

    @property
    def urgency(self) -> str:
        return load_table().urgency_of(self.ticket_category) if self.kind == RED_FLAG else ROUTINE


def record(store: TicketStore, escalation: Escalation) -> Tuple[Ticket, bool]:
    """Write (or find, or join) the ticket; True when staff need telling.

    Counted (clinic_bot/metrics.py) only when True: a retried or recovered turn is the same escalation."""
    ticket, tell_staff = store.create(
        dedupe_key=escalation.dedupe_key,
        conversation_id=escalation.conversation_id,
        channel=escalation.channel or "unknown",
        category=escalation.ticket_category,
        urgency=escalation.urgency,
        trigger_message=escalation.trigger_message,
        join_open_kind=RED_FLAG if escalation.kind == RED_FLAG else None,
    )
    if tell_staff:
        if escalation.kind == SAFETY_CHECK:
            SAFETY_CHECKS.inc()
        else:
            ESCALATIONS.labels(category=ticket.category, urgency=ticket.urgency).inc()
    return ticket, tell_staff


def alert_staff_in_background(store: TicketStore, ticket: Ticket) -> None:
    """Start the staff notification without delaying the reply (the outcome lands on the ticket)."""
    task = asyncio.get_running_loop().create_task(notify_ticket(store, ticket))
    _background.add(task)
    task.add_done_callback(_background.discard)


def handoff_events(escalation: Escalation, ticket: Optional[Ticket]) -> List[Dict[str, Any]]:
    """Slot events that pause the bot for staff and record what was escalated.

    A red flag pauses the bot even if its ticket could not be written (the safety
    message has gone out; staff find the conversation through the reconciler)."""
    if escalation.kind != RED_FLAG:
        return [slot_event(names.SLOT_HANDOFF, True)] if ticket else []
    category, urgency = (ticket.category, ticket.urgency) if ticket else (escalation.ticket_category, escalation.urgency)
    return [slot_event(names.SLOT_CATEGORY, category), slot_event(names.SLOT_URGENCY, urgency), slot_event(names.SLOT_HANDOFF, True)]


def slot_event(name: str, value: Any) -> Dict[str, Any]:
    """A slot event as rasa-sdk's SlotSet writes it (Rasa's HTTP API takes the same)."""
    return {"event": "slot", "timestamp": None, "name": name, "value": value}
