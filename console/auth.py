"""Staff accounts: roles, argon2 password hashes, verification.

Accounts are created and disabled only from the CLI (console/cli.py); the web
app never creates them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Engine

from console.tables import sessions_table, users_table

ROLES = ("reception", "clinician", "admin")
_ALL = frozenset(ROLES)
_CLINICAL = frozenset({"clinician", "admin"})

# What each role may do. Reception handles the queue and routine replies but
# sees phone numbers masked and cannot export, erase or read the audit log.
PERMISSIONS: Dict[str, FrozenSet[str]] = {
    "view": _ALL,  # queue, conversation list, transcripts
    "act_tickets": _ALL,  # acknowledge / close escalations
    "reply": _ALL,  # reply in handoff, hand back to the bot
    "see_phone_numbers": _CLINICAL,
    "report": _CLINICAL,  # unanswered-questions report and its export
    "export": _CLINICAL,  # conversation CSV / JSONL exports
    "delete": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
}

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LEN = 12
DISPLAY_NAME_MAX = 40
FALLBACK_DISPLAY_NAME = "Clinic team"

_hasher = PasswordHasher()  # argon2id with the library's current defaults
# Verified against when the username is unknown, so both cases cost the same.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


class AccountError(ValueError):
    """An account operation was refused; the message is safe to show."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    active: bool
    display_name: str = FALLBACK_DISPLAY_NAME  # shown to patients on replies; never the login name

    def can(self, permission: str) -> bool:
        return self.active and self.role in PERMISSIONS.get(permission, frozenset())


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS.get(permission, frozenset())


def normalise_username(name: str) -> str:
    name = (name or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError("usernames are 2-64 characters: letters, digits, '.', '_' or '-'")
    return name


def default_display_name(username: str) -> str:
    """A first name from the login name ("sam.jones" -> "Sam"), else "Clinic team".

    Patients see this on staff replies instead of the login name, which is half
    of a console credential."""
    parts = re.split(r"[^a-z]+", (username or "").lower())
    first = next((part for part in parts if len(part) >= 2), "")
    return first.capitalize() if first else FALLBACK_DISPLAY_NAME


def normalise_display_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > DISPLAY_NAME_MAX or any(not ch.isprintable() for ch in name):
        raise AccountError(f"display names are 1-{DISPLAY_NAME_MAX} printable characters")
    return name


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LEN:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LEN} characters")
    return _hasher.hash(password)


def verify_password(password_hash: Optional[str], password: str) -> bool:
    """Constant-effort check; a missing hash still costs one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password or "") and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _user(row) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        username=m["username"],
        role=m["role"],
        active=bool(m["active"]),
        display_name=m.get("display_name") or default_display_name(m["username"]),
    )


class UserStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, username: str, role: str, password: str, display_name: Optional[str] = None) -> User:
        username = normalise_username(username)
        if role not in ROLES:
            raise AccountError(f"role must be one of: {', '.join(ROLES)}")
        display = normalise_display_name(display_name) if display_name else default_display_name(username)
        pw_hash = hash_password(password)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(users_table.c.id).where(users_table.c.username == username)).first():
                raise AccountError(f"user {username!r} already exists")
            conn.execute(
                users_table.insert().values(
                    username=username, role=role, password_hash=pw_hash, active=True, created_at=time.time(), display_name=display
                )
            )
        return self._must_get(username)

    def get_by_name(self, username: str) -> Optional[User]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.username == (username or "").strip().lower())).first()
        return _user(row) if row else None

    def get(self, user_id: int) -> Optional[User]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.id == user_id)).first()
        return _user(row) if row else None

    def list(self) -> List[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(users_table).order_by(users_table.c.username))]

    def disable(self, username: str) -> User:
        """Disable an account and end its sessions at once."""
        user = self.get_by_name(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        with self.engine.begin() as conn:
            conn.execute(users_table.update().where(users_table.c.id == user.id).values(active=False, disabled_at=time.time()))
            conn.execute(sessions_table.delete().where(sessions_table.c.user_id == user.id))
        return self._must_get(username)

    def set_display_name(self, username: str, display_name: str) -> User:
        user = self.get_by_name(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        with self.engine.begin() as conn:
            conn.execute(users_table.update().where(users_table.c.id == user.id).values(display_name=normalise_display_name(display_name)))
        return self._must_get(username)

    def _must_get(self, username: str) -> User:
        user = self.get_by_name(username)
        if user is None:  # deleted between the write and the read
            raise AccountError(f"no user {username!r}")
        return user

    def set_password(self, username: str, password: str) -> None:
        user = self.get_by_name(username)
        if user is None:
            raise AccountError(f"no user {username!r}")
        pw_hash = hash_password(password)
        with self.engine.begin() as conn:
            conn.execute(users_table.update().where(users_table.c.id == user.id).values(password_hash=pw_hash))
            conn.execute(sessions_table.delete().where(sessions_table.c.user_id == user.id))

    def authenticate(self, username: str, password: str) -> Optional[User]:
        """The active user with this name and password, else None (same cost either way)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users_table).where(users_table.c.username == (username or "").strip().lower())).first()
        stored = row._mapping["password_hash"] if row else None
        if not verify_password(stored, password) or row is None or not row._mapping["active"]:
            return None
        if stored and _hasher.check_needs_rehash(stored):
            with self.engine.begin() as conn:
                conn.execute(users_table.update().where(users_table.c.id == row._mapping["id"]).values(password_hash=_hasher.hash(password)))
        return _user(row)
