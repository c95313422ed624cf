"""The audit log, for admins."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from console.repositories.audit import ACTIONS
from console.web import render_page, requires, run_sync, services

bp = Blueprint("admin")
PAGE = 50


@bp.get("/audit")
@requires("audit")
async def audit_log(request: Request) -> HTTPResponse:
    svc = services(request)
    actor = (request.args.get("actor") or "").strip()[:64]
    action = (request.args.get("action") or "").strip()
    action = action if action in ACTIONS else ""
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    entries, total = await run_sync(svc.audit.entries, actor=actor or None, action=action or None, limit=PAGE, offset=(page - 1) * PAGE)
    pages = max(1, math.ceil(total / PAGE))
    base = {k: v for k, v in (("actor", actor), ("action", action)) if v}
    links = {
        "prev": urlencode({**base, "page": page - 1}) if page > 1 else None,
        "next": urlencode({**base, "page": page + 1}) if page < pages else None,
    }
    return await render_page(
        request, "audit.html", entries=entries, total=total, page=page, pages=pages, actor=actor, action=action, actions=ACTIONS, links=links
    )
