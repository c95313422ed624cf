"""clinic_bot.rasa_runtime: the fixes applied before Rasa's CLI starts.

The validator is built once but must check responses exactly as Rasa does; the
tracker database must really be in WAL mode in the running stack.
"""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from sqlalchemy.engine import Engine

from clinic_bot import rasa_runtime
from clinic_bot.db import sqlite_wal_on_connect
from tests.conftest import rest_send

STOCK_CHECK = RemoteAction._validate_action_result  # Rasa's own, captured before any apply()
GOOD = {"events": [{"event": "slot", "name": "handoff", "value": True}], "responses": [{"text": "hello"}]}
BAD_SHAPES = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"events": [{"event": "slot", "name": "x", "timestamp": "yesterday"}]},
    {"responses": "not a list"},
]


def test_valid_action_response_passes() -> None:
    assert rasa_runtime.validate_action_result(None, GOOD) is True
    assert rasa_runtime.validate_action_result(None, {}) is True


@pytest.mark.parametrize("bad", BAD_SHAPES)
def test_invalid_action_response_raises_like_rasa(bad: dict) -> None:
    """Same verdict and same first sentence as Rasa's own (slow) check."""
    with pytest.raises(ValidationError) as ours:
        rasa_runtime.validate_action_result(None, bad)
    with pytest.raises(ValidationError) as stock:
        STOCK_CHECK(RemoteAction.__new__(RemoteAction), bad)
    assert "Failed to validate Action server response" in ours.value.message
    assert ours.value.message == stock.value.message


def test_validator_is_built_once() -> None:
    assert rasa_runtime.action_response_validator() is rasa_runtime.action_response_validator()


def test_apply_replaces_rasas_check_and_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    already = sa.event.contains(Engine, "connect", sqlite_wal_on_connect)
    try:
        rasa_runtime.apply()
        rasa_runtime.apply()
        assert RemoteAction._validate_action_result is rasa_runtime.validate_action_result
        assert sa.event.contains(Engine, "connect", sqlite_wal_on_connect)
    finally:  # the hook is process-wide: leave other tests' engines as they were
        if not already:
            sa.event.remove(Engine, "connect", sqlite_wal_on_connect)


def test_wal_hook_ignores_non_sqlite_connections() -> None:
    sqlite_wal_on_connect(object(), None)  # e.g. a psycopg2 connection: untouched


def test_wal_hook_sets_journal_mode(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db")
    sqlite_wal_on_connect(conn, None)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 15000


def test_running_stack_tracker_db_is_wal_and_custom_actions_answer(stack) -> None:
    """Through the real Rasa server: a custom action (clinic hours) answers, so its
    response passed the replaced validation, and Rasa's tracker file is in WAL mode."""
    replies = rest_send(stack, "runtime-check", "what are your opening hours?")
    assert replies and any(r.get("text") for r in replies)
    with sqlite3.connect(stack.var_dir / "tracker.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_stack_warm_up_parses_without_creating_a_conversation(stack) -> None:
    """Stack.start() warms the NLU graph with a parse-only request; repeatable, no tracker."""
    rest_send(stack, "before-warm-up", "hello")  # the events table exists from here on

    def event_rows() -> int:
        with sqlite3.connect(stack.var_dir / "tracker.db") as conn:
            return conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    before = event_rows()
    assert stack.warm_up() is True
    assert event_rows() == before


@pytest.mark.parametrize("secret", ["plain_secret", "-starts-with-a-dash", "--looks-like-an-option"])
def test_jwt_secret_reaches_rasas_parser_whatever_it_starts_with(secret: str) -> None:
    """A generated secret (token_urlsafe) starts with "-" one time in 64; passed as its own
    word, Rasa's argparse took it for an option and the server exited with code 2."""
    from rasa.__main__ import create_argument_parser

    argv = rasa_runtime.server_argv(["run", "--enable-api", "--port", "5005"], secret)
    args = create_argument_parser().parse_args(argv)
    assert args.jwt_secret == secret
    assert args.jwt_method == "HS256"


def test_a_jwt_secret_given_on_the_command_line_is_kept() -> None:
    argv = ["run", "--enable-api", "--jwt-secret=from-cli"]
    assert rasa_runtime.server_argv(argv, "from-env") == argv
