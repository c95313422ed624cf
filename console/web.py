"""Request plumbing shared by the views: services, guards, rendering, headers.

Access is deny-by-default: a route is reachable without a session only if its
handler is marked @public (login, health) or it is the static CSS route.
Pages redirect to /login; @data_endpoint routes (exports, JSON) answer 401.
Every POST needs a valid CSRF token, checked before the handler runs.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sanic import Request, response
from sanic.response import HTTPResponse

from clinic_bot.deliveries import DeliveryLog
from clinic_bot.tickets import TicketStore
from console import csrf
from console.auth import User, UserStore
from console.config import ConsoleConfig
from console.masking import Masker
from console.repositories.audit import AuditLog
from console.repositories.conversations import ConversationRepository
from console.repositories.erasure import Eraser
from console.sessions import LOGIN_COOKIE, SESSION_COOKIE, Session, SessionStore, cookie_name, sign, unsign
from console.throttle import LoginThrottle

HERE = Path(__file__).resolve().parent
STATIC_ROUTE_NAME = "static"
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; " "base-uri 'none'"


@dataclass
class Services:
    config: ConsoleConfig
    users: UserStore
    sessions: SessionStore
    throttle: LoginThrottle
    tickets: TicketStore
    conversations: ConversationRepository
    audit: AuditLog
    eraser: Eraser
    tz: ZoneInfo
    templates: Environment
    deliveries: DeliveryLog


def load_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def make_templates(tz: ZoneInfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def dt(ts: Any, fmt: str = "%d %b %Y %H:%M") -> str:
        if ts is None or ts == "":
            return ""
        if isinstance(ts, datetime):
            value = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
        else:
            value = datetime.fromtimestamp(float(ts), timezone.utc)
        return value.astimezone(tz).strftime(fmt)

    def pct(x: Optional[float]) -> str:
        return "" if x is None else f"{float(x) * 100:.0f}%"

    def age(ts: Any) -> str:
        if isinstance(ts, datetime):
            ts = (ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)).timestamp()
        minutes = max(0, int((datetime.now(timezone.utc).timestamp() - float(ts)) // 60))
        if minutes < 60:
            return f"{minutes} min"
        if minutes < 48 * 60:
            return f"{minutes // 60} h {minutes % 60:02d} min"
        return f"{minutes // 1440} days"

    env.filters.update(dt=dt, pct=pct, age=age)
    env.globals["tzname"] = str(tz)
    return env


def services(request: Request) -> Services:
    return request.app.ctx.services


async def run_sync(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Database and argon2 work runs off the event loop (Rasa may hold SQLite locks)."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


# -- route markers ---------------------------------------------------------------
def public(handler: Callable) -> Callable:
    setattr(handler, "console_public", True)
    return handler


def data_endpoint(handler: Callable) -> Callable:
    setattr(handler, "console_data", True)
    return handler


def requires(permission: str) -> Callable[[Callable], Callable]:
    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            user: Optional[User] = request.ctx.user
            if user is None or not user.can(permission):
                if getattr(handler, "console_data", False):
                    return response.text("forbidden\n", status=403)
                return render(
                    request, "error.html", status=403, title="Not allowed", message="Your role does not allow this. Ask an admin if you need it."
                )
            return await handler(request, *args, **kwargs)

        setattr(guarded, "console_permission", permission)
        return guarded

    return wrap


def is_public(request: Request) -> bool:
    route = request.route
    if route is None:
        return False
    if route.name.split(".")[-1] == STATIC_ROUTE_NAME:
        return True
    return bool(getattr(route.handler, "console_public", False))


def is_data(request: Request) -> bool:
    route = request.route
    return bool(route is not None and getattr(route.handler, "console_data", False))


# -- cookies -------------------------------------------------------------------
def secure_request(request: Request) -> bool:
    mode = services(request).config.cookie_secure
    return mode == "always" or (mode == "auto" and request.scheme == "https")


def set_cookie(request: Request, resp: HTTPResponse, base: str, value: str, *, max_age: Optional[int] = None) -> None:
    secure = secure_request(request)
    name = cookie_name(base, secure)
    resp.cookies[name] = value
    cookie = resp.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    if secure:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def clear_cookie(request: Request, resp: HTTPResponse, base: str) -> None:
    set_cookie(request, resp, base, "", max_age=0)


def read_cookie(request: Request, base: str) -> Optional[str]:
    return request.cookies.get(cookie_name(base, secure_request(request)))


def session_cookie_value(request: Request, token: str) -> str:
    return sign(services(request).config.secret_key, "session", token)


def login_nonce(request: Request) -> Optional[str]:
    return unsign(services(request).config.secret_key, "login", read_cookie(request, LOGIN_COOKIE))


def client_ip(request: Request) -> str:
    return request.remote_addr or request.ip or "unknown"


# -- middleware --------------------------------------------------------------------
async def authenticate(request: Request) -> Optional[HTTPResponse]:
    svc = services(request)
    request.ctx.session = None
    request.ctx.user = None
    if request.route is None:  # Sanic runs middleware for 404/405 too: let it answer, it reveals nothing
        return None
    token = unsign(svc.config.secret_key, "session", read_cookie(request, SESSION_COOKIE))
    session: Optional[Session] = await run_sync(svc.sessions.load, token) if token else None
    if session is not None:
        request.ctx.session, request.ctx.user = session, session.user
    if session is None and not is_public(request):
        if is_data(request) or request.method not in ("GET", "HEAD"):
            return response.text("authentication required\n", status=401)
        target = request.path + (f"?{request.query_string}" if request.query_string else "")
        return response.redirect(f"/login?next={quote(target, safe='')}", status=303)
    if request.method in csrf.UNSAFE_METHODS:
        provided = (request.form.get(csrf.FIELD) if request.form else None) or request.headers.get(csrf.HEADER)
        if is_public(request):  # the login form: bound to the signed pre-login cookie
            ok = csrf.check_token(svc.config.secret_key, login_nonce(request), provided, purpose="login")
        else:
            ok = session is not None and csrf.check_token(svc.config.secret_key, session.token, provided)
        if not ok:
            return response.text("CSRF token missing or invalid\n", status=403)
    return None


async def security_headers(request: Request, resp: HTTPResponse) -> None:
    h = resp.headers
    h["Content-Security-Policy"] = CSP
    h["X-Frame-Options"] = "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Cross-Origin-Resource-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    route = getattr(request, "route", None)
    if route is not None and route.name.split(".")[-1] == STATIC_ROUTE_NAME and resp.status == 200:
        h["Cache-Control"] = "private, max-age=3600"
    else:  # pages and exports carry health data: never cache
        h["Cache-Control"] = "no-store"
        h["Pragma"] = "no-cache"
    if secure_request(request):
        h["Strict-Transport-Security"] = "max-age=31536000"


# -- rendering ---------------------------------------------------------------------
def masker_for(user: Optional[User]) -> Masker:
    return Masker(full=bool(user and user.can("see_phone_numbers")))


def csrf_token(request: Request) -> str:
    session = request.ctx.session
    return csrf.make_token(services(request).config.secret_key, session.token) if session else ""


def render(request: Request, template: str, *, status: int = 200, flashes: Optional[list] = None, **context: Any) -> HTTPResponse:
    svc = services(request)
    user = getattr(request.ctx, "user", None)
    context.setdefault("csrf_token", csrf_token(request) if getattr(request.ctx, "session", None) else "")
    body = svc.templates.get_template(template).render(
        user=user,
        mask=masker_for(user),
        flashes=flashes or [],
        path=request.path,
        can=(lambda p: bool(user and user.can(p))),
        **context,
    )
    return response.html(body, status=status)


async def render_page(request: Request, template: str, **context: Any) -> HTTPResponse:
    """Render for a logged-in user, including one-shot messages from the last action."""
    flashes = await run_sync(services(request).sessions.pop_flashes, request.ctx.session.token)
    return render(request, template, flashes=flashes, **context)


async def flash(request: Request, kind: str, text: str) -> None:
    await run_sync(services(request).sessions.flash, request.ctx.session.token, kind, text)


def see_other(location: str) -> HTTPResponse:
    return response.redirect(location, status=303)


def actor(request: Request) -> str:
    return request.ctx.user.username


def audit(request: Request, action: str, subject: Optional[str] = None, detail: Optional[str] = None) -> None:
    services(request).audit.record(actor(request), action, subject, detail, client_ip(request))


def attachment(body: str, filename: str, content_type: str) -> HTTPResponse:
    return response.text(body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
