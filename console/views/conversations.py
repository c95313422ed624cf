"""Conversation list, transcript, handoff reply / resume, exports, erasure."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone

import aiohttp
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from clinic_bot.rasa_api import RasaApi, RasaApiError
from console.exports import EVENT_COLUMNS, event_rows, to_csv, to_jsonl
from console.repositories.filters import Filters
from console.views.util import form_value, sender_for
from console.web import (
    attachment,
    audit,
    client_ip,
    data_endpoint,
    flash,
    masker_for,
    render_page,
    requires,
    run_sync,
    see_other,
    services,
)

bp = Blueprint("conversations")
REF = "<ref:[0-9a-f]{32}>"
MAX_REPLY = 2000
# A staff reply is sent while Rasa's HTTP API call is open; WhatsApp's own retries
# (3 attempts of up to 10 s) must fit inside, or a delivered reply would look failed.
RASA_CALL_TIMEOUT_S = 45.0
# A search that is only a number (digits and the usual separators) must give this many
# digits: a short one ("123") confirms numbers a few digits at a time.
MIN_PHONE_DIGITS = 7
_PHONE_LIKE = re.compile(r"^[\d\s().+-]+$")


def _filters(request: Request) -> tuple:
    filters = Filters.from_args(request.args)
    notice = ""
    digits = sum(c.isdigit() for c in filters.q)
    if digits and not request.ctx.user.can("see_phone_numbers"):
        # Any digit would let a masked role confirm phone numbers one guess at a time.
        notice = "Searching for numbers needs a clinician or admin account; the search text was ignored."
        filters.q = ""
    elif digits and _PHONE_LIKE.match(filters.q) and digits < MIN_PHONE_DIGITS:
        notice = f"To search for a phone number, give at least {MIN_PHONE_DIGITS} digits; the search text was ignored."
        filters.q = ""
    return filters, notice


@bp.get("/conversations")
@requires("view")
async def conversation_list(request: Request) -> HTTPResponse:
    svc = services(request)
    filters, notice = _filters(request)
    page = await run_sync(svc.conversations.page, filters, svc.tz, svc.config.page_size)
    return await render_page(request, "conversations.html", page=page, filters=filters, notice=notice)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _export_filtered(request: Request, fmt: str) -> HTTPResponse:
    svc = services(request)
    filters, _ = _filters(request)
    items, _channels = svc.conversations.filtered(filters, svc.tz)
    mask = masker_for(request.ctx.user)
    rows = [row for s in items for row in event_rows(svc.conversations.transcript(s.sender_id), mask)]
    svc.audit.record_many(
        request.ctx.user.username,
        "export",
        [s.sender_id for s in items],
        # the filters, never the search text: it may be a phone number or a name
        f"filtered set as {fmt} ({len(items)} conversations; "
        f"{filters.query(page='', q='') or 'no filters'}{'; text search' if filters.q else ''})",
        client_ip(request),
    )
    if fmt == "csv":
        return attachment(to_csv(rows, EVENT_COLUMNS), f"conversations-{_stamp()}.csv", "text/csv; charset=utf-8")
    return attachment(to_jsonl(rows), f"conversations-{_stamp()}.jsonl", "application/x-ndjson; charset=utf-8")


@bp.get("/conversations/export.csv")
@requires("export")
@data_endpoint
async def export_filtered_csv(request: Request) -> HTTPResponse:
    return await run_sync(_export_filtered, request, "csv")


@bp.get("/conversations/export.jsonl")
@requires("export")
@data_endpoint
async def export_filtered_jsonl(request: Request) -> HTTPResponse:
    return await run_sync(_export_filtered, request, "jsonl")


@bp.get(f"/conversations/{REF}")
@requires("view")
async def transcript(request: Request, ref: str) -> HTTPResponse:
    svc = services(request)
    sender = await sender_for(request, ref)
    tr = await run_sync(svc.conversations.transcript, sender)
    await run_sync(audit, request, "view", sender)
    return await render_page(request, "transcript.html", tr=tr, max_reply=MAX_REPLY)


async def _rasa_call(request: Request, coro, ok_text: str = "") -> bool:
    """Run a call to Rasa's HTTP API; flash what happened (`ok_text` on success, if given)."""
    try:
        await coro
    except (asyncio.TimeoutError, TimeoutError):
        await flash(
            request,
            "error",
            "The assistant server did not answer in time. The message may or may not have "
            "reached the person: check the transcript before sending it again.",
        )
        return False
    except (RasaApiError, aiohttp.ClientError, OSError) as exc:
        await flash(request, "error", f"The assistant server did not accept this ({type(exc).__name__}). Nothing was sent; try again.")
        return False
    if ok_text:
        await flash(request, "ok", ok_text)
    return True


@bp.post(f"/conversations/{REF}/reply")
@requires("reply")
async def reply(request: Request, ref: str) -> HTTPResponse:
    svc = services(request)
    sender = await sender_for(request, ref)
    back = f"/conversations/{ref}#reply"
    text = form_value(request, "text", MAX_REPLY + 1)
    if not text or len(text) > MAX_REPLY:
        await flash(request, "error", f"Write a reply of 1 to {MAX_REPLY} characters.")
        return see_other(back)
    if not await run_sync(svc.conversations.in_handoff, sender):
        await flash(request, "error", "This conversation is not in handoff (the assistant is answering). Nothing was sent.")
        return see_other(back)
    started = datetime.now(timezone.utc)
    # Patients see the account's display name, never its login name.
    sent = RasaApi(timeout_s=RASA_CALL_TIMEOUT_S).staff_reply(sender, text, request.ctx.user.display_name)
    if not await _rasa_call(request, sent):
        return see_other(back)
    # Rasa answers 200 whatever the channel did: the channel records a refused send
    # (clinic_bot/deliveries.py) before Rasa answers, so look for one.
    refused = await run_sync(svc.deliveries.failures, sender, since=started, staff_only=True)
    if refused:
        await flash(
            request,
            "error",
            f"Not delivered: {refused[-1].channel} refused this reply ({refused[-1].summary}). "
            "It stays in the transcript marked as not delivered. "
            "Phone the person, or use an approved template if the 24-hour window has closed.",
        )
        await run_sync(audit, request, "reply", sender, f"{len(text)} characters; not delivered")
    else:
        await flash(request, "ok", "Reply sent.")
        await run_sync(audit, request, "reply", sender, f"{len(text)} characters")
    return see_other(back)


@bp.post(f"/conversations/{REF}/resume")
@requires("reply")
async def resume(request: Request, ref: str) -> HTTPResponse:
    svc = services(request)
    sender = await sender_for(request, ref)
    back = f"/conversations/{ref}"
    if not await run_sync(svc.conversations.in_handoff, sender):
        await flash(request, "error", "The assistant is already handling this conversation.")
        return see_other(back)
    if await _rasa_call(request, RasaApi().resume_bot(sender, request.ctx.user.username), "Handed back to the assistant; the person has been told."):
        await run_sync(audit, request, "resume", sender)
    return see_other(back)


def _export_one(request: Request, sender: str, fmt: str) -> HTTPResponse:
    svc = services(request)
    rows = list(event_rows(svc.conversations.transcript(sender), masker_for(request.ctx.user)))
    svc.audit.record(request.ctx.user.username, "export", sender, f"conversation as {fmt}", client_ip(request))
    ref = svc.conversations.ref(sender)
    if fmt == "csv":
        return attachment(to_csv(rows, EVENT_COLUMNS), f"conversation-{ref[:8]}.csv", "text/csv; charset=utf-8")
    return attachment(to_jsonl(rows), f"conversation-{ref[:8]}.jsonl", "application/x-ndjson; charset=utf-8")


@bp.get(f"/conversations/{REF}/export.csv")
@requires("export")
@data_endpoint
async def export_one_csv(request: Request, ref: str) -> HTTPResponse:
    sender = await sender_for(request, ref)
    return await run_sync(_export_one, request, sender, "csv")


@bp.get(f"/conversations/{REF}/export.jsonl")
@requires("export")
@data_endpoint
async def export_one_jsonl(request: Request, ref: str) -> HTTPResponse:
    sender = await sender_for(request, ref)
    return await run_sync(_export_one, request, sender, "jsonl")


@bp.get(f"/conversations/{REF}/delete")
@requires("delete")
async def confirm_delete(request: Request, ref: str) -> HTTPResponse:
    svc = services(request)
    sender = await sender_for(request, ref)
    tr = await run_sync(svc.conversations.transcript, sender)
    return await render_page(request, "delete.html", tr=tr, messages=sum(1 for i in tr.items if i.kind in ("user", "bot", "staff")))


@bp.post(f"/conversations/{REF}/delete")
@requires("delete")
async def delete(request: Request, ref: str) -> HTTPResponse:
    svc = services(request)
    sender = await sender_for(request, ref)
    if form_value(request, "confirm", 20).lower() != "delete":
        await flash(request, "error", "Type DELETE to confirm. Nothing was deleted.")
        return see_other(f"/conversations/{ref}/delete")
    result = await run_sync(svc.eraser.erase, sender, actor=request.ctx.user.username, reason="request", ip=client_ip(request))
    svc.conversations.forget(sender)
    await flash(request, "ok", f"Conversation erased ({result.total} records; audit reference {result.sender_pseudonym}).")
    return see_other("/conversations")
