"""Console administration from the command line.

  python -m console.cli create-user NAME --role clinician|admin|reception [--display-name "Sam"]
  python -m console.cli set-display-name NAME "Sam"   (what patients see on replies)
  python -m console.cli disable-user NAME
  python -m console.cli list-users
  python -m console.cli set-password NAME
  python -m console.cli unlock-user NAME
  python -m console.cli delete-conversation SENDER_ID [--yes]
  python -m console.cli retention [--days N]      (default CONSOLE_RETENTION_DAYS, else 365)
  python -m console.cli summaries [--rebuild]     (bring the list's summary tables up to date once)

Passwords are read from a hidden prompt (asked twice), or from the first line
of stdin when stdin is not a terminal (for scripts), never from arguments.
Uses the same environment as the stack: CLINIC_DB_URL, RASA_TRACKER_DB /
RASA_ENDPOINTS / CONSOLE_TRACKER_DB_URL, CONSOLE_SECRET_KEY.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timezone
from typing import List, Optional, TextIO

from clinic_bot.settings import load_settings
from console.auth import ROLES, AccountError, UserStore
from console.config import ConfigError, load_secret_key, retention_days_default, tracker_db_url
from console.repositories.audit import AuditLog
from console.tables import console_engine
from console.throttle import LoginThrottle


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no user database in some containers
        return "cli"


def read_password(stdin: TextIO, *, confirm: bool = True) -> str:
    if stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if confirm and getpass.getpass("Repeat password: ") != first:
            raise AccountError("the passwords do not match")
        return first
    line = stdin.readline()
    return line.rstrip("\r\n")


def _eraser():
    from console.repositories.erasure import Eraser
    from console.repositories.events import tracker_engine

    secret = load_secret_key(required=False) or ""
    return Eraser(tracker_engine(tracker_db_url()), console_engine(load_settings().db_url), secret)


def main(argv: Optional[List[str]] = None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.cli", description="Staff console administration")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("create-user", help="create a staff account (password from prompt or stdin)")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--display-name", default=None, help="the name patients see on this person's replies (default: the first name in NAME)")
    p = sub.add_parser("set-display-name", help="set the name patients see on an account's replies")
    p.add_argument("username")
    p.add_argument("display_name")
    p = sub.add_parser("disable-user", help="disable an account and end its sessions")
    p.add_argument("username")
    sub.add_parser("list-users", help="list accounts")
    p = sub.add_parser("set-password", help="set a new password (ends the user's sessions)")
    p.add_argument("username")
    p = sub.add_parser("unlock-user", help="clear an account's failed-login lock-out")
    p.add_argument("username")
    p = sub.add_parser("delete-conversation", help="erase one person's conversation (data-protection request)")
    p.add_argument("sender_id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_parser("reconcile", help="finish red-flag escalations lost while the action server was down")
    p = sub.add_parser("summaries", help="bring the conversation list's summary tables up to date (the console also does, continuously)")
    p.add_argument("--rebuild", action="store_true", help="drop every summary row and recompute them all from Rasa's events")
    p = sub.add_parser("retention", help="delete conversations older than N days")
    p.add_argument("--days", type=int, default=None, help="default: CONSOLE_RETENTION_DAYS, else 365")
    args = parser.parse_args(argv)

    engine = console_engine(load_settings().db_url)
    users, audit = UserStore(engine), AuditLog(engine)
    try:
        if args.command == "create-user":
            user = users.create(args.username, args.role, read_password(stdin), display_name=args.display_name)
            audit.record(_actor(), "user_create", None, f"{user.username} ({user.role})")
            print(f"created {user.username} ({user.role}); patients see replies from {user.display_name!r}", file=out)
        elif args.command == "set-display-name":
            user = users.set_display_name(args.username, args.display_name)
            audit.record(_actor(), "user_display_name", None, user.username)
            print(f"{user.username}: patients see replies from {user.display_name!r}", file=out)
        elif args.command == "disable-user":
            user = users.disable(args.username)
            audit.record(_actor(), "user_disable", None, user.username)
            print(f"disabled {user.username}; their sessions have ended", file=out)
        elif args.command == "list-users":
            for u in users.list():
                print(f"{u.username:<24} {u.role:<10} {'active' if u.active else 'disabled':<9} {u.display_name}", file=out)
        elif args.command == "set-password":
            users.set_password(args.username, read_password(stdin))
            audit.record(_actor(), "user_password", None, args.username.lower())
            print(f"password changed for {args.username.lower()}", file=out)
        elif args.command == "unlock-user":
            LoginThrottle(engine).unlock(args.username)
            audit.record(_actor(), "user_unlock", None, args.username.lower())
            print(f"unlocked {args.username.lower()}", file=out)
        elif args.command == "delete-conversation":
            if not args.yes:
                if not stdin.isatty():
                    raise AccountError("add --yes to erase without a prompt")
                if input(f"Erase every record of conversation {args.sender_id!r}? Type DELETE: ").strip().lower() != "delete":
                    print("nothing deleted", file=out)
                    return 1
            result = _eraser().erase(args.sender_id, actor=_actor(), reason="request")
            print(f"erased: {result.deleted} (audit reference {result.sender_pseudonym})", file=out)
        elif args.command == "reconcile":
            import asyncio

            from clinic_bot.tickets import TicketStore
            from console.config import tracker_db_url
            from console.reconcile import reconcile
            from console.repositories.events import tracker_engine

            recovered = asyncio.run(reconcile(tracker_engine(tracker_db_url()), TicketStore(engine)))
            print(f"recovered {len(recovered)} escalation(s): " + ", ".join(f"ticket {t.id} ({t.category})" for t in recovered), file=out)
        elif args.command == "summaries":
            import time

            from console.repositories.events import tracker_engine
            from console.repositories.summaries import SummaryIndex

            settings = load_settings()
            index = SummaryIndex(tracker_engine(tracker_db_url()), engine, load_secret_key(required=False) or "", settings.console_low_confidence)
            started = time.monotonic()
            n = index.rebuild() if args.rebuild else index.catch_up(batch=20000)
            print(f"summaries up to date: {n} conversation(s) recomputed in {time.monotonic() - started:.1f} s", file=out)
        elif args.command == "retention":
            days = args.days if args.days is not None else retention_days_default()
            result = _eraser().apply_retention(days, actor=_actor())
            cutoff = datetime.fromtimestamp(result.cutoff, timezone.utc).isoformat(timespec="seconds")
            print(
                f"retention {days} days (before {cutoff}): {result.conversations_erased} conversations erased, "
                f"{result.old_session_events_deleted} events of old sessions deleted, "
                f"{result.closed_tickets_deleted} closed tickets and {result.deliveries_deleted} delivery records deleted",
                file=out,
            )
    except (AccountError, ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    sys.exit(main())
