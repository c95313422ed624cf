"""The home page: the escalation queue, and acting on tickets."""

from __future__ import annotations

from typing import Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from clinic_bot.tickets import TicketError
from console.repositories.conversations import failures_since_ticket
from console.views.util import form_value, safe_next
from console.web import audit, flash, render_page, requires, run_sync, see_other, services

bp = Blueprint("queue")


@bp.get("/")
@requires("view")
async def queue(request: Request) -> HTTPResponse:
    svc = services(request)
    tickets = await run_sync(svc.tickets.list)  # open + acknowledged, most urgent then oldest first
    refs = {t.conversation_id: svc.conversations.ref(t.conversation_id) for t in tickets}
    by_conversation = await run_sync(svc.deliveries.failures_by_conversation, refs)
    failures = {t.id: failures_since_ticket(t, by_conversation.get(t.conversation_id, [])) for t in tickets}
    return await render_page(request, "queue.html", tickets=tickets, refs=refs, failures=failures)


async def _set_status(request: Request, ticket_id: int, status: str, note: Optional[str] = None) -> HTTPResponse:
    svc = services(request)
    back = safe_next(form_value(request, "next"))
    try:
        ticket = await run_sync(svc.tickets.set_status, ticket_id, status, by=request.ctx.user.username, note=note)
    except TicketError as exc:
        await flash(request, "error", str(exc))
        return see_other(back)
    await run_sync(audit, request, "ticket_ack" if status == "acknowledged" else "ticket_close", ticket.conversation_id, f"ticket #{ticket.id}")
    await flash(request, "ok", f"Ticket #{ticket.id} {'acknowledged' if status == 'acknowledged' else 'closed'}.")
    return see_other(back)


@bp.post("/tickets/<ticket_id:int>/ack")
@requires("act_tickets")
async def acknowledge(request: Request, ticket_id: int) -> HTTPResponse:
    return await _set_status(request, ticket_id, "acknowledged")


@bp.post("/tickets/<ticket_id:int>/close")
@requires("act_tickets")
async def close(request: Request, ticket_id: int) -> HTTPResponse:
    note = form_value(request, "note", 2000)
    if not note:
        await flash(request, "error", "Closing a ticket needs a note (what was done).")
        return see_other(safe_next(form_value(request, "next")))
    return await _set_status(request, ticket_id, "closed", note)
