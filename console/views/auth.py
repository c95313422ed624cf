"""Log in, log out, health check."""

from __future__ import annotations

import math
import secrets
from typing import Optional

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from console import csrf
from console.sessions import LOGIN_COOKIE, SESSION_COOKIE, sign
from console.throttle import account_key, ip_key, unknown_account_key
from console.views.util import form_value, safe_next
from console.web import (
    clear_cookie,
    client_ip,
    login_nonce,
    public,
    render,
    run_sync,
    services,
    session_cookie_value,
    set_cookie,
)

bp = Blueprint("auth")
LOGIN_COOKIE_AGE = 900


def _login_form(request: Request, *, error: str = "", status: int = 200, username: str = "") -> HTTPResponse:
    svc = services(request)
    # Keep a valid pre-login nonce: a second tab (or the browser's favicon
    # request) must not invalidate the form already on screen.
    nonce = login_nonce(request) or secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        status=status,
        error=error,
        username=username,
        next=safe_next(request.args.get("next") or form_value(request, "next")),
        csrf_token=csrf.make_token(svc.config.secret_key, nonce, purpose="login"),
    )
    set_cookie(request, resp, LOGIN_COOKIE, sign(svc.config.secret_key, "login", nonce), max_age=LOGIN_COOKIE_AGE)
    return resp


@bp.get("/health")
@public
async def health(request: Request) -> HTTPResponse:
    return response.json({"status": "ok"})


@bp.get("/login")
@public
async def login_page(request: Request) -> HTTPResponse:
    if request.ctx.user is not None:
        return response.redirect(safe_next(request.args.get("next")), status=303)
    return _login_form(request)


@bp.post("/login")
@public
async def login(request: Request) -> HTTPResponse:
    svc = services(request)
    username = form_value(request, "username", 64)
    password = (request.form.get("password") if request.form else "") or ""
    known = await run_sync(_known, svc, username)
    # Counters are keyed by the account; a name that is no account is kept only as a keyed hash.
    name_key = account_key(username) if known else unknown_account_key(svc.config.secret_key, username)
    attempt = await run_sync(svc.throttle.begin_attempt, [name_key, ip_key(client_ip(request))])
    actor = known or "(unknown user)"
    if not attempt.allowed:
        await run_sync(svc.audit.record, actor, "login_failed", None, "locked out", client_ip(request))
        minutes = max(1, math.ceil(attempt.wait / 60))
        return _login_form(
            request, status=429, username=username, error=f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
    user = await run_sync(svc.users.authenticate, username, password[:1024])
    if user is None:  # already counted by begin_attempt
        await run_sync(svc.audit.record, actor, "login_failed", None, "wrong password or unknown/disabled user", client_ip(request))
        return _login_form(request, status=401, username=username, error="Wrong username or password.")
    await run_sync(svc.throttle.succeeded, attempt, user.username)
    await run_sync(svc.throttle.purge)
    await run_sync(svc.sessions.purge_expired)
    token = await run_sync(svc.sessions.create, user)  # a fresh session id: no fixation
    await run_sync(svc.audit.record, user.username, "login", None, None, client_ip(request))
    resp = response.redirect(safe_next(form_value(request, "next")), status=303)
    set_cookie(request, resp, SESSION_COOKIE, session_cookie_value(request, token))
    clear_cookie(request, resp, LOGIN_COOKIE)
    return resp


def _known(svc, username: str) -> Optional[str]:
    """The account name if it is one. Only real account names go into the audit log and the
    throttle's table: people sometimes type a password into the username box."""
    try:
        user = svc.users.get_by_name(username)
    except Exception:
        return None
    return user.username if user else None


@bp.post("/logout")
async def logout(request: Request) -> HTTPResponse:
    svc = services(request)
    await run_sync(svc.sessions.delete, request.ctx.session.token)
    await run_sync(svc.audit.record, request.ctx.user.username, "logout", None, None, client_ip(request))
    resp = response.redirect("/login", status=303)
    clear_cookie(request, resp, SESSION_COOKIE)
    return resp
