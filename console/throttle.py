"""Login throttling: lock-out with an increasing delay, per account and per IP.

After `max_failures` failed logins for a key (an account, or a client address)
within the window, that key is locked for `base` seconds, doubling with each
further failure up to `max` seconds. While locked, even the right password is
refused. A successful login clears the account's counter, not the address's
(so an attacker cannot reset it by logging into their own account).

Why attempts are counted *before* the password is checked: checking and
counting separately let 12 parallel wrong passwords all pass the check before
any of them was counted (and two first failures raced to insert the same row,
a 500). `begin_attempt` counts the attempt and checks the lock in one
transaction that holds the database's write lock (SQLite) or the rows' locks
(PostgreSQL) from its first statement, so attempts are serialised: at most
`max_failures` password checks happen before the lock. A successful attempt
is then taken back off the address's count (`succeeded`).

Keys never hold what someone typed as a username unless it is a real account:
unknown names are stored as a keyed hash (`unknown_account_key`), because
people type passwords into the username box.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from console.tables import login_failures_table as t

WINDOW_S = 3600.0


def account_key(username: str) -> str:
    return "user:" + (username or "").strip().lower()[:100]


def unknown_account_key(secret: str, username: str) -> str:
    """A key for a name that is no account: throttled like one, but stored as a keyed hash."""
    name = (username or "").strip().lower()[:100]
    return "unknown:" + hmac.new(secret.encode(), name.encode(), hashlib.sha256).hexdigest()[:32]


def ip_key(ip: Optional[str]) -> str:
    return "ip:" + (ip or "unknown")[:100]


# (failures, last_failure_at, locked_until) of one key
_State = Tuple[int, float, float]


@dataclass
class Attempt:
    """One login attempt as counted by `begin_attempt`."""

    wait: float  # > 0: refused, locked for this many seconds
    before: Dict[str, _State] = field(default_factory=dict)  # each key's state before this attempt
    after: Dict[str, _State] = field(default_factory=dict)  # ... and as this attempt left it

    @property
    def allowed(self) -> bool:
        return self.wait <= 0


class LoginThrottle:
    def __init__(
        self, engine: Engine, *, account_max_failures: int = 5, ip_max_failures: int = 20, base_s: float = 30.0, max_s: float = 900.0, clock=time.time
    ) -> None:
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

    # -- counting, one transaction each ------------------------------------------------
    def _lock_rows(self, conn: Connection, keys: List[str], now: float) -> Dict[str, _State]:
        """Make sure every key has a row and lock them for this transaction.

        The insert comes first on purpose: on SQLite it takes the database's
        write lock (waiting for the busy timeout), so no other attempt can read
        a count between our read and our write; PostgreSQL locks the rows with
        SELECT ... FOR UPDATE. ON CONFLICT DO NOTHING: two first failures for a
        key no longer race into a uniqueness error.
        """
        dialect = conn.engine.dialect.name
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
        rows = [dict(key=k, failures=0, last_failure_at=now, locked_until=0.0) for k in keys]
        if insert is not None:
            conn.execute(insert(t).on_conflict_do_nothing(index_elements=[t.c.key]), rows)
        else:  # other databases: insert what is missing, under the row locks below
            have = {r.key for r in conn.execute(sa.select(t.c.key).where(t.c.key.in_(keys)).with_for_update())}
            missing = [r for r in rows if r["key"] not in have]
            if missing:
                conn.execute(t.insert(), missing)
        found = conn.execute(sa.select(t).where(t.c.key.in_(keys)).with_for_update())
        return {r.key: (r.failures, r.last_failure_at, r.locked_until) for r in found}

    def _count(self, conn: Connection, key: str, state: _State, now: float) -> _State:
        failures, last, _locked = state
        failures = 1 if now - last > WINDOW_S else failures + 1
        over = failures - self._threshold(key)
        locked_until = now + min(self.base_s * (2**over), self.max_s) if over >= 0 else 0.0
        new = (failures, now, locked_until)
        conn.execute(t.update().where(t.c.key == key).values(failures=failures, last_failure_at=now, locked_until=locked_until))
        return new

    def begin_attempt(self, keys: Iterable[str]) -> Attempt:
        """Check the locks and count this attempt for every key, atomically.

        Refused (nothing counted) if a key is locked. Otherwise the attempt is
        counted as a failure straight away, so parallel attempts cannot all slip
        under the limit; call `succeeded` when the password was right.
        """
        now = self.clock()
        keys = list(dict.fromkeys(keys))
        with self.engine.begin() as conn:
            before = self._lock_rows(conn, keys, now)
            wait = max([s[2] - now for s in before.values() if s[2] > now], default=0.0)
            if wait > 0:
                return Attempt(wait, before)
            after = {k: self._count(conn, k, before[k], now) for k in keys}
        return Attempt(0.0, before, after)

    def succeeded(self, attempt: Attempt, username: str) -> None:
        """The attempt's password was right: clear the account, take the attempt off the address."""
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.key == account_key(username)))
            for key, counted in attempt.after.items():
                if not key.startswith("ip:"):
                    continue
                prev = attempt.before[key]
                # Restore the address's previous state if nobody counted since; else just one fewer.
                restored = conn.execute(
                    t.update()
                    .where(sa.and_(t.c.key == key, t.c.failures == counted[0], t.c.locked_until == counted[2]))
                    .values(failures=prev[0], last_failure_at=prev[1], locked_until=prev[2])
                ).rowcount
                if not restored:
                    conn.execute(t.update().where(sa.and_(t.c.key == key, t.c.failures > 0)).values(failures=t.c.failures - 1))

    def record_failure(self, keys: Iterable[str]) -> None:
        """Count a failure for every key (whether locked or not), atomically."""
        now = self.clock()
        keys = list(dict.fromkeys(keys))
        with self.engine.begin() as conn:
            states = self._lock_rows(conn, keys, now)
            for key in keys:
                self._count(conn, key, states[key], now)

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
