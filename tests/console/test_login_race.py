"""Lock-out under parallel attempts, and what failed logins leave behind (issue 11, items 7 and low).

Probe: 12 parallel wrong passwords were all checked past the 5-try limit and one
answered 500 (two first failures raced to insert the same counter row).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from clinic_bot.db import get_engine
from console.tables import audit_table, login_failures_table
from console.throttle import LoginThrottle, account_key, ip_key
from tests.console.conftest import PASSWORD, Client


def _engine(console_env):
    import console.tables  # noqa: F401

    return get_engine(f"sqlite:///{console_env / 'clinic.db'}")


def test_parallel_attempts_get_at_most_the_limit_of_password_checks(console_env):
    throttle = LoginThrottle(_engine(console_env), account_max_failures=5, ip_max_failures=1000)
    keys = [account_key("alice"), ip_key("10.0.0.1")]
    checks, errors, start = [], [], threading.Barrier(12)

    def one() -> None:
        start.wait()
        try:
            attempt = throttle.begin_attempt(keys)
            if attempt.allowed:
                checks.append(1)
                time.sleep(0.05)  # the argon2 check
        except Exception as exc:  # the probe saw an IntegrityError here
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(checks) == 5
    assert throttle.locked_for(keys) > 0


def test_a_successful_attempt_is_taken_off_the_address(console_env):
    throttle = LoginThrottle(_engine(console_env), account_max_failures=5, ip_max_failures=3)
    ip = ip_key("192.0.2.1")
    for i in range(10):  # ten good logins from the clinic's shared address never lock it
        attempt = throttle.begin_attempt([account_key(f"user{i}"), ip])
        assert attempt.allowed
        throttle.succeeded(attempt, f"user{i}")
    assert throttle.locked_for([ip]) == 0
    for _ in range(3):  # three wrong passwords do
        assert throttle.begin_attempt([account_key("x"), ip]).allowed
    assert throttle.locked_for([ip]) > 0


def _parallel_wrong_passwords(live_console, username: str, n: int):
    clients = [live_console.client() for _ in range(n)]
    tokens = [Client.csrf(c.get("/login").body) for c in clients]
    barrier = threading.Barrier(n)

    def post(i: int) -> int:
        barrier.wait()
        return clients[i].post("/login", {"csrf_token": tokens[i], "username": username, "password": "not the password at all"}).status

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


def test_twelve_parallel_wrong_passwords_over_http(live_console):
    assert live_console.cli("create-user", "racer", "--role", "reception", stdin=PASSWORD + "\n").returncode == 0
    statuses = _parallel_wrong_passwords(live_console, "racer", 12)
    assert 500 not in statuses
    assert statuses.count(401) == 5, statuses  # five password checks, then the lock
    assert statuses.count(429) == 7, statuses
    live_console.cli("unlock-user", "racer")


def test_failed_logins_store_nothing_typed_for_unknown_names(live_console):
    typed = "MySecretPassw0rd!"  # a password typed into the username box
    c = live_console.client()
    assert c.login(typed, "whatever it is").status == 401
    engine = sa.create_engine(live_console.env["CLINIC_DB_URL"])
    with engine.connect() as conn:
        keys = [r.key for r in conn.execute(sa.select(login_failures_table.c.key))]
        audit = [" ".join(str(v) for v in r) for r in conn.execute(sa.select(audit_table))]
    assert keys and not any(typed.lower() in k.lower() for k in keys), keys
    assert not any(typed.lower() in row.lower() for row in audit)
