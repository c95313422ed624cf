"""Login throttling: lock-out with an increasing delay, per account and per IP.

After `max_failures` failed logins for a key (an account name, or a client
address) within the window, that key is locked for `base` seconds, doubling
with each further failure up to `max` seconds. While locked, even the right
password is refused. A successful login clears the account's counter, not the
address's (so an attacker cannot reset it by logging into their own account).
"""
from __future__ import annotations

import time
from typing import Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from console.tables import login_failures_table as t

WINDOW_S = 3600.0


def account_key(username: str) -> str:
    return "user:" + (username or "").strip().lower()[:100]


def ip_key(ip: Optional[str]) -> str:
    return "ip:" + (ip or "unknown")[:100]


class LoginThrottle:
    def __init__(self, engine: Engine, *, account_max_failures: int = 5, ip_max_failures: int = 20,
                 base_s: float = 30.0, max_s: float = 900.0, clock=time.time) -> None:
        self.engine = engine
        self.account_max = account_max_failures
        self.ip_max = ip_max_failures
        self.base_s = base_s
        self.max_s = max_s
        self.clock = clock

    def _threshold(self, key: str) -> int:
        return self.ip_max if key.startswith("ip:") else self.account_max

    def locked_for(self, keys: Iterable[str]) -> float:
        """Seconds until every key may try again (0 if none is locked)."""
        now = self.clock()
        keys = list(keys)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.locked_until).where(t.c.key.in_(keys))).all()
        return max([r.locked_until - now for r in rows if r.locked_until > now], default=0.0)

    def record_failure(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            for key in keys:
                row = conn.execute(sa.select(t).where(t.c.key == key)).first()
                failures = 1 if row is None or now - row.last_failure_at > WINDOW_S else row.failures + 1
                over = failures - self._threshold(key)
                locked_until = now + min(self.base_s * (2 ** over), self.max_s) if over >= 0 else 0.0
                values = dict(failures=failures, last_failure_at=now, locked_until=locked_until)
                if row is None:
                    conn.execute(t.insert().values(key=key, **values))
                else:
                    conn.execute(t.update().where(t.c.key == key).values(**values))

    def record_success(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.key == account_key(username)))

    def purge(self) -> int:
        """Forget counters that no longer matter (window passed, not locked)."""
        now = self.clock()
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(sa.and_(t.c.last_failure_at < now - WINDOW_S, t.c.locked_until < now))).rowcount

    def unlock(self, username: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(t.c.key == account_key(username))).rowcount > 0
