"""Server-side sessions behind a signed, HttpOnly, SameSite=Strict cookie.

The cookie value is a random token plus an HMAC-SHA256 signature made with
CONSOLE_SECRET_KEY; the database keeps only the token's SHA-256. Logging out,
disabling the account or changing its password deletes the row, so the cookie
stops working at once. Sessions end after an idle period and a maximum age.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from console.auth import User, UserStore
from console.tables import sessions_table as t

SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
TOUCH_EVERY_S = 60.0


def _mac(key: str, purpose: str, value: str) -> str:
    digest = hmac.new(key.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: str, purpose: str, value: str) -> str:
    return f"{value}.{_mac(key, purpose, value)}"


def unsign(key: str, purpose: str, signed: Optional[str]) -> Optional[str]:
    """The value if the signature is valid, else None."""
    if not signed or "." not in signed or len(signed) > 512:
        return None
    value, mac = signed.rsplit(".", 1)
    return value if hmac.compare_digest(mac, _mac(key, purpose, value)) else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name(base: str, secure: bool) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure,
    # host-only and Path=/ (no subdomain can plant or read it).
    return f"__Host-{base}" if secure else base


@dataclass(frozen=True)
class Session:
    token: str
    user: User
    created_at: float


class SessionStore:
    def __init__(self, engine: Engine, users: UserStore, *, idle_s: float, max_s: float, clock=time.time) -> None:
        self.engine = engine
        self.users = users
        self.idle_s = idle_s
        self.max_s = max_s
        self.clock = clock

    def create(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(t.insert().values(token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now))
        return token

    def load(self, token: Optional[str]) -> Optional[Session]:
        if not token:
            return None
        now = self.clock()
        key = token_hash(token)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.token_hash == key)).first()
        if row is None:
            return None
        if now - row.last_seen_at > self.idle_s or now - row.created_at > self.max_s:
            self.delete(token)
            return None
        user = self.users.get(row.user_id)
        if user is None or not user.active:
            self.delete(token)
            return None
        if now - row.last_seen_at > TOUCH_EVERY_S:
            with self.engine.begin() as conn:
                conn.execute(t.update().where(t.c.token_hash == key).values(last_seen_at=now))
        return Session(token=token, user=user, created_at=row.created_at)

    def delete(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.token_hash == token_hash(token)))

    def purge_expired(self) -> int:
        now = self.clock()
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(sa.or_(t.c.last_seen_at < now - self.idle_s, t.c.created_at < now - self.max_s))).rowcount

    # One-shot messages shown after a redirect (post/redirect/get without JavaScript).
    def flash(self, token: str, kind: str, text: str) -> None:
        key = token_hash(token)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.c.flash).where(t.c.token_hash == key)).first()
            items = json.loads(row.flash) if row and row.flash else []
            items.append([kind, text])
            conn.execute(t.update().where(t.c.token_hash == key).values(flash=json.dumps(items[-5:])))

    def pop_flashes(self, token: str) -> List[Tuple[str, str]]:
        key = token_hash(token)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(t.c.flash).where(t.c.token_hash == key)).first()
            if not row or not row.flash:
                return []
            conn.execute(t.update().where(t.c.token_hash == key).values(flash=None))
        return [tuple(x) for x in json.loads(row.flash)]
