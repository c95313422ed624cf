"""The unanswered-questions report and its exports (CSV, Rasa NLU YAML stub)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from console.exports import UNANSWERED_COLUMNS, nlu_yaml_stub, to_csv, unanswered_rows
from console.repositories.filters import Filters
from console.repositories.unanswered import group_unanswered
from console.web import attachment, client_ip, data_endpoint, masker_for, render_page, requires, run_sync, services

bp = Blueprint("reports")
DEFAULT_DAYS = 30
GROUPS_PER_PAGE = 100


def _range(request: Request) -> Filters:
    filters = Filters.from_args(request.args)
    if filters.date_from is None and filters.date_to is None:
        today = datetime.now(services(request).tz).date()
        filters.date_from, filters.date_to = today - timedelta(days=DEFAULT_DAYS - 1), today
    return filters


def _groups(request: Request, filters: Filters):
    svc = services(request)
    items = svc.conversations.unanswered(*filters.time_range(svc.tz))
    return items, group_unanswered(items)


@bp.get("/reports/unanswered")
@requires("report")
async def unanswered(request: Request) -> HTTPResponse:
    """One page of groups: nearly every wording of a month can be its own group, and rendering
    thousands of rows is what made the report slow; the exports below still hold every group."""
    svc = services(request)
    filters = _range(request)
    report = await run_sync(svc.conversations.unanswered_report, *filters.time_range(svc.tz), filters.page, GROUPS_PER_PAGE)
    refs = {g.latest_sender: svc.conversations.ref(g.latest_sender) for g in report.groups}
    return await render_page(request, "unanswered.html", report=report, refs=refs, filters=filters)


def _export(request: Request, fmt: str) -> HTTPResponse:
    svc = services(request)
    filters = _range(request)
    items, groups = _groups(request, filters)
    senders = sorted({i.sender_id for i in items})
    span = f"{filters.date_from or ''}..{filters.date_to or ''}"
    svc.audit.record_many(
        request.ctx.user.username, "export", senders or [None], f"unanswered questions as {fmt} ({len(groups)} groups, {span})", client_ip(request)
    )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d")
    if fmt == "csv":
        body = to_csv(unanswered_rows(groups, masker_for(request.ctx.user)), UNANSWERED_COLUMNS)
        return attachment(body, f"unanswered-{stamp}.csv", "text/csv; charset=utf-8")
    return attachment(nlu_yaml_stub(groups), f"unanswered-nlu-{stamp}.yml", "application/yaml; charset=utf-8")


@bp.get("/reports/unanswered/export.csv")
@requires("report")
@data_endpoint
async def unanswered_csv(request: Request) -> HTTPResponse:
    return await run_sync(_export, request, "csv")


@bp.get("/reports/unanswered/export.yml")
@requires("report")
@data_endpoint
async def unanswered_yaml(request: Request) -> HTTPResponse:
    return await run_sync(_export, request, "yml")
