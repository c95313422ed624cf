"""Accounts, password hashing, lock-out, sessions and CSRF tokens (no servers)."""

from __future__ import annotations

import pytest

from clinic_bot.db import get_engine
from console import csrf
from console.auth import PERMISSIONS, ROLES, AccountError, UserStore, allowed, hash_password, verify_password
from console.sessions import SessionStore, sign, token_hash, unsign
from console.tables import sessions_table, users_table
from console.throttle import LoginThrottle, account_key, ip_key
from tests.console.conftest import PASSWORD


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(console_env):
    import console.tables  # noqa: F401

    return get_engine(f"sqlite:///{console_env / 'clinic.db'}")


def test_passwords_are_argon2id_hashes_and_verify():
    h = hash_password(PASSWORD)
    assert h.startswith("$argon2id$")
    assert PASSWORD not in h
    assert verify_password(h, PASSWORD)
    assert not verify_password(h, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not a hash", PASSWORD)
    assert hash_password(PASSWORD) != h  # salted


def test_short_passwords_and_bad_usernames_are_refused(engine):
    users = UserStore(engine)
    with pytest.raises(AccountError):
        users.create("alice", "admin", "short")
    with pytest.raises(AccountError):
        users.create("a b", "admin", PASSWORD)
    with pytest.raises(AccountError):
        users.create("alice", "superuser", PASSWORD)


def test_create_authenticate_disable(engine):
    users = UserStore(engine)
    alice = users.create("Alice", "clinician", PASSWORD)
    assert alice.username == "alice" and alice.role == "clinician" and alice.active
    with pytest.raises(AccountError):
        users.create("alice", "admin", PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(users_table.select()).first()
    assert stored.password_hash.startswith("$argon2id$")
    assert users.authenticate("ALICE", PASSWORD) == alice
    assert users.authenticate("alice", "wrong password here") is None
    assert users.authenticate("nobody", PASSWORD) is None
    sessions = SessionStore(engine, users, idle_s=600, max_s=3600)
    token = sessions.create(alice)
    assert sessions.load(token).user == alice
    users.disable("alice")
    assert users.authenticate("alice", PASSWORD) is None
    assert sessions.load(token) is None  # disabling ends sessions at once
    with engine.connect() as conn:
        assert conn.execute(sessions_table.select()).first() is None


def test_roles_and_permissions():
    assert set(ROLES) == {"reception", "clinician", "admin"}
    assert allowed("reception", "view") and allowed("reception", "reply")
    assert not allowed("reception", "see_phone_numbers")
    assert not allowed("reception", "export") and not allowed("reception", "delete")
    assert allowed("clinician", "see_phone_numbers") and allowed("clinician", "export")
    assert not allowed("clinician", "delete") and not allowed("clinician", "audit")
    assert all(allowed("admin", p) for p in PERMISSIONS)


def test_account_lockout_with_increasing_delay(engine):
    clock = Clock()
    t = LoginThrottle(engine, account_max_failures=3, ip_max_failures=100, base_s=30, max_s=300, clock=clock)
    keys = [account_key("alice"), ip_key("10.0.0.1")]
    for _ in range(2):
        t.record_failure(keys)
    assert t.locked_for(keys) == 0
    t.record_failure(keys)  # 3rd failure: locked 30 s
    assert t.locked_for(keys) == pytest.approx(30)
    # the lock applies to the account from any address
    assert t.locked_for([account_key("ALICE"), ip_key("10.9.9.9")]) == pytest.approx(30)
    clock.now += 31
    assert t.locked_for(keys) == 0
    t.record_failure(keys)  # 4th: 60 s
    assert t.locked_for(keys) == pytest.approx(60)
    clock.now += 61
    t.record_failure(keys)  # 5th: 120 s
    assert t.locked_for(keys) == pytest.approx(120)
    for _ in range(5):
        t.record_failure(keys)
    assert t.locked_for(keys) == pytest.approx(300)  # capped
    t.record_success("alice")
    assert t.locked_for([account_key("alice")]) == 0


def test_ip_lockout_across_accounts_and_success_does_not_reset_it(engine):
    clock = Clock()
    t = LoginThrottle(engine, account_max_failures=100, ip_max_failures=4, base_s=30, max_s=300, clock=clock)
    ip = ip_key("192.0.2.7")
    for i in range(4):
        t.record_failure([account_key(f"user{i}"), ip])
    assert t.locked_for([account_key("someone-else"), ip]) == pytest.approx(30)
    assert t.locked_for([account_key("someone-else"), ip_key("192.0.2.8")]) == 0
    t.record_success("user1")
    assert t.locked_for([ip]) > 0


def test_failures_expire_after_the_window(engine):
    clock = Clock()
    t = LoginThrottle(engine, account_max_failures=3, base_s=30, clock=clock)
    keys = [account_key("bob")]
    t.record_failure(keys)
    t.record_failure(keys)
    clock.now += 4000  # > 1 hour later the count starts again
    assert t.purge() == 1
    t.record_failure(keys)
    t.record_failure(keys)
    assert t.locked_for(keys) == 0


def test_session_cookie_signature():
    signed = sign("k" * 40, "session", "abc")
    assert unsign("k" * 40, "session", signed) == "abc"
    assert unsign("k" * 40, "login", signed) is None  # purpose-bound
    assert unsign("x" * 40, "session", signed) is None
    assert unsign("k" * 40, "session", "abd" + signed[3:]) is None
    assert unsign("k" * 40, "session", None) is None
    assert unsign("k" * 40, "session", "no-dot") is None


def test_sessions_expire_when_idle_or_too_old(engine):
    users = UserStore(engine)
    u = users.create("carol", "reception", PASSWORD)
    clock = Clock()
    sessions = SessionStore(engine, users, idle_s=600, max_s=3600, clock=clock)
    token = sessions.create(u)
    with engine.connect() as conn:
        row = conn.execute(sessions_table.select()).first()
    assert row.token_hash == token_hash(token) and token not in row.token_hash  # only a hash is stored
    clock.now += 500
    assert sessions.load(token) is not None
    clock.now += 500  # touched 500 s ago: still fine
    assert sessions.load(token) is not None
    clock.now += 601
    assert sessions.load(token) is None  # idle
    token = sessions.create(u)
    for _ in range(8):
        clock.now += 500
        last = sessions.load(token)
    assert last is None  # absolute maximum age
    sessions.delete(sessions.create(u))


def test_flash_messages_are_one_shot(engine):
    users = UserStore(engine)
    sessions = SessionStore(engine, users, idle_s=600, max_s=3600)
    token = sessions.create(users.create("dave", "admin", PASSWORD))
    sessions.flash(token, "ok", "done")
    assert sessions.pop_flashes(token) == [("ok", "done")]
    assert sessions.pop_flashes(token) == []


def test_csrf_tokens_are_bound_to_the_session_and_purpose():
    key = "s" * 40
    token = csrf.make_token(key, "session-a")
    assert len(token) == 64
    assert csrf.check_token(key, "session-a", token)
    assert not csrf.check_token(key, "session-b", token)
    assert not csrf.check_token("t" * 40, "session-a", token)
    assert not csrf.check_token(key, "session-a", token, purpose="login")
    assert not csrf.check_token(key, "session-a", None)
    assert not csrf.check_token(key, None, token)
    assert not csrf.check_token(key, "session-a", token[:-1])
