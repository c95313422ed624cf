"""The console CLI, run as a subprocess the way staff run it."""

from __future__ import annotations

import time

from clinic_bot.db import get_engine
from console.auth import UserStore
from console.repositories.audit import AuditLog
from tests.console.conftest import PASSWORD, console_environ, run_cli


def test_user_lifecycle_from_the_cli(tmp_path):
    env = console_environ(tmp_path)
    done = run_cli(env, "create-user", "Nurse.Kim", "--role", "clinician", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "created nurse.kim (clinician)" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    again = run_cli(env, "create-user", "nurse.kim", "--role", "admin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = run_cli(env, "create-user", "bob", "--role", "admin", stdin="short\n")
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    bad_role = run_cli(env, "create-user", "bob", "--role", "root", stdin=PASSWORD + "\n")
    assert bad_role.returncode == 2
    listed = run_cli(env, "list-users")
    assert listed.stdout.split() == ["nurse.kim", "clinician", "active", "Nurse"]  # the display name
    assert run_cli(env, "disable-user", "nurse.kim").returncode == 0
    assert run_cli(env, "list-users").stdout.split() == ["nurse.kim", "clinician", "disabled", "Nurse"]
    assert run_cli(env, "disable-user", "nobody").returncode == 1
    users = UserStore(get_engine(env["CLINIC_DB_URL"]))
    assert users.authenticate("nurse.kim", PASSWORD) is None
    entries, _ = AuditLog(get_engine(env["CLINIC_DB_URL"])).entries()
    assert {e.action for e in entries} == {"user_create", "user_disable"}


def test_retention_cli_uses_the_env_default(tmp_path):
    from tests.console.factory import ConversationWriter

    env = console_environ(tmp_path)
    w = ConversationWriter(str(tmp_path / "tracker.db"))
    w.at(time.time() - 40 * 86400)
    w.save("forty-days", w.session() + [w.user("hello")])
    w.at(time.time() - 10 * 86400)
    w.save("ten-days", w.session() + [w.user("hello")])
    done = run_cli({**env, "CONSOLE_RETENTION_DAYS": "30"}, "retention")
    assert done.returncode == 0, done.stderr
    assert "retention 30 days" in done.stdout and "1 conversations erased" in done.stdout
    done = run_cli(env, "retention", "--days", "5")
    assert "1 conversations erased" in done.stdout
    assert run_cli(env, "retention", "--days", "0").returncode == 1


def test_delete_conversation_cli(tmp_path):
    from tests.console.factory import ConversationWriter

    env = console_environ(tmp_path)
    w = ConversationWriter(str(tmp_path / "tracker.db"))
    w.save("447700900123", w.session() + [w.user("hello")])
    refused = run_cli(env, "delete-conversation", "447700900123")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    done = run_cli(env, "delete-conversation", "447700900123", "--yes")
    assert done.returncode == 0 and "tracker events" in done.stdout
    assert "447700900123" not in done.stdout.split("erased:")[1]
