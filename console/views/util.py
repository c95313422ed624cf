"""Small helpers shared by the views."""

from __future__ import annotations

from typing import Optional

from sanic import Request
from sanic.exceptions import NotFound

from console.web import run_sync, services


def safe_next(value: Optional[str], default: str = "/") -> str:
    """A local path to go back to; anything else (other hosts, //, schemes) is ignored."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value or any(ord(c) < 32 for c in value):
        return default
    return value


def form_value(request: Request, name: str, limit: int = 2000) -> str:
    return ((request.form.get(name) if request.form else "") or "").strip()[:limit]


async def sender_for(request: Request, ref: str) -> str:
    sender = await run_sync(services(request).conversations.resolve, ref)
    if sender is None:
        raise NotFound("no such conversation")
    return sender
