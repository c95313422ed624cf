"""The staff console's Sanic app: `python -m console.app --host H --port P`.

Refuses to start without CONSOLE_SECRET_KEY (see console/config.py) unless
--dev-secret is given. The launcher (clinic_bot/launcher.py) starts it with the
stack and waits for GET /health.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import logging
import sys
from typing import List, Optional

from sanic import Request, Sanic
from sanic.exceptions import MethodNotSupported, NotFound, SanicException
from sanic.response import HTTPResponse

from clinic_bot import metrics
from clinic_bot.deliveries import DeliveryLog
from clinic_bot.logs import install as install_log_redaction
from clinic_bot.settings import load_settings
from clinic_bot.tickets import TicketStore
from console.auth import UserStore
from console.config import ConfigError, ConsoleConfig, load_config
from console.reconcile import reconcile
from console.repositories.audit import AuditLog
from console.repositories.conversations import ConversationRepository
from console.repositories.erasure import Eraser
from console.repositories.events import tracker_engine
from console.repositories.summaries import INDEX_EVERY_S
from console.sessions import SessionStore
from console.tables import console_engine
from console.throttle import LoginThrottle
from console.views import admin, auth, conversations, queue, reports
from console.web import HERE, STATIC_ROUTE_NAME, Services, authenticate, load_timezone, make_templates, public, render, security_headers

logger = logging.getLogger(__name__)
_names = itertools.count()


def build_services(config: ConsoleConfig) -> Services:
    engine = console_engine(config.db_url)
    users = UserStore(engine)
    tickets = TicketStore(engine)
    deliveries = DeliveryLog(engine)
    tracker = tracker_engine(config.tracker_db_url)
    tz = load_timezone(config.timezone)
    conversations = ConversationRepository(tracker, tickets, config.secret_key, low_confidence=config.low_confidence, deliveries=deliveries)
    return Services(
        config=config,
        users=users,
        sessions=SessionStore(engine, users, idle_s=config.session_idle_s, max_s=config.session_max_s),
        throttle=LoginThrottle(
            engine,
            account_max_failures=config.account_max_failures,
            ip_max_failures=config.ip_max_failures,
            base_s=config.lockout_base_seconds,
            max_s=config.lockout_max_seconds,
        ),
        tickets=tickets,
        conversations=conversations,
        audit=AuditLog(engine),
        eraser=Eraser(tracker, engine, config.secret_key, index=conversations.index),
        tz=tz,
        templates=make_templates(tz),
        deliveries=deliveries,
    )


async def _error(request: Request, exc: Exception) -> HTTPResponse:
    if isinstance(exc, SanicException):
        status = getattr(exc, "status_code", 500) or 500
    else:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        status = 500
    titles = {404: "Not found", 405: "Method not allowed", 403: "Not allowed", 400: "Bad request"}
    if not hasattr(request.ctx, "user"):
        request.ctx.user = request.ctx.session = None
    return render(
        request,
        "error.html",
        status=status,
        title=titles.get(status, "Something went wrong"),
        message="" if status != 500 else "The error was logged. Try again, or tell an admin.",
    )


def create_app(config: Optional[ConsoleConfig] = None, name: Optional[str] = None) -> Sanic:
    config = config or load_config()
    if not config.secret_key:
        raise ConfigError("no secret key")
    app = Sanic(name or f"clinic_console_{next(_names)}")
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.config.KEEP_ALIVE_TIMEOUT = 5
    app.ctx.services = build_services(config)
    # Exactly one public file: the stylesheet (nothing else under static/ is served).
    app.static("/static/console.css", str(HERE / "static" / "console.css"), name=STATIC_ROUTE_NAME, content_type="text/css; charset=utf-8")
    for module in (auth, queue, conversations, reports, admin):
        app.blueprint(module.bp)
    public(metrics.add_route(app))  # no staff sign-in: its own access rule (loopback or METRICS_TOKEN)
    app.register_middleware(authenticate, "request")
    app.register_middleware(security_headers, "response")  # type: ignore[arg-type]  # Sanic's stub types request middleware only
    app.error_handler.add(NotFound, _error)
    app.error_handler.add(MethodNotSupported, _error)
    app.error_handler.add(Exception, _error)
    return app


RETENTION_START_DELAY_S = 5.0


async def retention_forever(app: Sanic) -> None:
    """Apply the retention policy on a schedule, inside the console: deleting old
    conversations must not depend on someone setting up cron. First pass shortly
    after start, then every CONSOLE_RETENTION_EVERY_HOURS (0: off)."""
    services = app.ctx.services
    every_s = services.config.retention_every_hours * 3600
    if every_s <= 0:
        return
    await asyncio.sleep(RETENTION_START_DELAY_S)
    loop = asyncio.get_running_loop()
    while True:
        try:
            result = await loop.run_in_executor(
                None, functools.partial(services.eraser.apply_retention, services.config.retention_days, actor="retention (scheduled)")
            )
            await loop.run_in_executor(None, services.sessions.purge_expired)
            await loop.run_in_executor(None, services.throttle.purge)
            logger.info(
                "retention %d days: %d conversations erased, %d old-session events, %d closed tickets, " "%d delivery records deleted",
                services.config.retention_days,
                result.conversations_erased,
                result.old_session_events_deleted,
                result.closed_tickets_deleted,
                result.deliveries_deleted,
            )
        except Exception:
            logger.exception("scheduled retention failed; will retry")
        await asyncio.sleep(every_s)


async def reconcile_forever(app: Sanic) -> None:
    """Finish escalations that were in flight while the action server was down."""
    every = load_settings().reconcile_every_s
    services = app.ctx.services
    while True:
        try:
            await reconcile(tracker_engine(services.config.tracker_db_url), services.tickets)
        except Exception:
            logger.exception("escalation reconciliation failed; will retry")
        await asyncio.sleep(every)


async def summaries_forever(app: Sanic) -> None:
    """Keep the conversation list's summary tables in step with Rasa's events
    (console/repositories/summaries.py): the first build and any backlog happen here,
    so a page's own catch-up before it reads only ever has a few new events to do."""
    index = app.ctx.services.conversations.index
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(None, index.catch_up)
        except Exception:
            logger.exception("summary indexing failed; will retry")
        await asyncio.sleep(INDEX_EVERY_S)


def main(argv: Optional[List[str]] = None) -> int:
    install_log_redaction()  # no patient data in the console's log (clinic_bot/logs.py)
    parser = argparse.ArgumentParser(description="Clinic staff console")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5080)
    parser.add_argument("--dev-secret", action="store_true", help="development only: generate CONSOLE_SECRET_KEY once and keep it in var/secrets/")
    args = parser.parse_args(argv)
    try:
        config = load_config(dev_secret=args.dev_secret)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config, name="clinic_console")
    app.add_task(reconcile_forever)  # type: ignore[arg-type]  # Sanic passes the app to a callable task
    app.add_task(retention_forever)  # type: ignore[arg-type]
    app.add_task(summaries_forever)  # type: ignore[arg-type]
    # No access log: even with opaque references, request lines are not needed in logs.
    app.run(host=args.host, port=args.port, access_log=False, debug=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
