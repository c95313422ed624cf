"""Start Rasa's own CLI with the project's runtime fixes applied first.

    python -m clinic_bot.rasa_runtime run --model ...   # same arguments as `rasa`

Why: profiling the Rasa server under load (py-spy, 10 conversations) showed
about a third of its CPU time in `RemoteAction._validate_action_result`. That
method calls `jsonschema.validate(result, schema)`, which re-checks the fixed
response *schema* against the JSON Schema 2020-12 meta-schema on every custom
action call before it checks the response. The fix builds the validator once
and keeps validating every action-server response against the same schema,
with the same error (best match, same message), so behaviour is unchanged.

A second fix: Rasa's SQL tracker store opens SQLite in rollback-journal mode,
where a staff-console read (an export, a long transcript) blocks Rasa's writes
and a busy file fails after 5 s. SQLite connections opened in the Rasa process
are switched to write-ahead logging (readers never block the writer) with a
15 s busy timeout, by the same hook as the project's own database (clinic_bot/db.py).
PostgreSQL connections are untouched.

Security settings applied here (docs/security.md), from clinic_bot/settings.py:

* the message guard (clinic_bot/message_guard.py: length and metadata caps
  before NLU, typed intents only when the bot offered them);
* Sanic's request body limit (`MAX_REQUEST_BYTES`, default 64 kB; Sanic's own
  default is 100 MB) on every route of the Rasa server;
* the HTTP API's JWT secret comes from the environment (`RASA_JWT_SECRET`),
  never from the command line, where `ps` shows it to every local user; the
  server refuses to start `--enable-api` with no authentication at all;
* Rasa's telemetry is off unless `RASA_TELEMETRY_ENABLED` says otherwise (a
  clinic's assistant sends nothing to third parties).

Operations: `GET /metrics` (clinic_bot/metrics.py: loopback or METRICS_TOKEN
only) is added to the app Rasa builds (`rasa.core.run.configure_app`), and every
user turn is counted and timed by input channel around `Agent.handle_message`,
which every channel's webhook and the widget's socket.io messages call; the
time includes waiting for the conversation's lock, as the person waits too.

`rasa run` started directly still works, only slower, with the stock journal
and without these protections.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any, Dict, List, Text

import rasa.core.run
import sqlalchemy as sa
from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.__main__ import main as rasa_main
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.shared.constants import DOCS_BASE_URL
from sqlalchemy.engine import Engine

from clinic_bot import message_guard, metrics
from clinic_bot.db import sqlite_wal_on_connect
from clinic_bot.logs import install as install_log_redaction
from clinic_bot.settings import env, load_settings


@functools.lru_cache(maxsize=None)
def action_response_validator() -> Any:
    """The validator for Rasa's action-server response schema, schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """Drop-in for `RemoteAction._validate_action_result` (same checks, same error)."""
    error: ValidationError = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install_metrics() -> None:
    """Count and time user turns; add `/metrics` to the server's app (idempotent)."""
    handle = Agent.handle_message
    if not getattr(handle, "_clinic_metrics", False):

        async def timed(self: Any, message: Any) -> Any:
            channel = metrics.channel_label(getattr(message, "input_channel", None))
            started = time.perf_counter()
            try:
                return await handle(self, message)
            finally:
                metrics.USER_TURNS.labels(channel=channel).inc()
                metrics.TURN_LATENCY.labels(channel=channel).observe(time.perf_counter() - started)

        timed._clinic_metrics = True  # type: ignore[attr-defined]
        Agent.handle_message = timed

    configure = rasa.core.run.configure_app
    if not getattr(configure, "_clinic_metrics", False):

        @functools.wraps(configure)
        def configure_with_metrics(input_channels: Any = None, *args: Any, **kwargs: Any) -> Any:
            app = configure(input_channels, *args, **kwargs)
            metrics.register_channels(c.name() for c in input_channels or [])
            metrics.add_route(app)
            return app

        configure_with_metrics._clinic_metrics = True  # type: ignore[attr-defined]
        rasa.core.run.configure_app = configure_with_metrics


def apply() -> None:
    """Install the fixes into the imported Rasa modules (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result
    if not sa.event.contains(Engine, "connect", sqlite_wal_on_connect):
        sa.event.listen(Engine, "connect", sqlite_wal_on_connect)
    message_guard.install()
    install_metrics()


def server_argv(argv: List[str], jwt_secret: str) -> List[str]:
    """`rasa run` arguments with the API's JWT secret added from the environment."""
    if not argv or argv[0] != "run" or "--enable-api" not in argv or any(a.split("=")[0] == "--jwt-secret" for a in argv):
        return argv
    if not jwt_secret:
        if "--auth-token" in " ".join(argv):
            return argv
        raise SystemExit("error: --enable-api needs RASA_JWT_SECRET in the environment (the HTTP API would be open)")
    # `--jwt-secret=VALUE`, one word: a generated secret may start with "-" (token_urlsafe),
    # which argparse takes for an option when it is a separate word (exit code 2)
    return [*argv, f"--jwt-secret={jwt_secret}", "--jwt-method", "HS256"]


def main() -> None:
    install_log_redaction()  # no patient text in the server's logs (clinic_bot/logs.py)
    os.environ["RASA_TELEMETRY_ENABLED"] = env("RASA_TELEMETRY_ENABLED")  # off unless the clinic says otherwise
    settings = load_settings()
    # read by Sanic when Rasa creates its app (SANIC_ prefixed settings)
    # (the socket.io long-polling transport posts through Sanic too; REST applies its own smaller cap)
    os.environ.setdefault("SANIC_REQUEST_MAX_SIZE", str(max(settings.max_request_bytes, settings.max_socket_packet_bytes)))
    apply()
    sys.argv = ["rasa", *server_argv(sys.argv[1:], settings.rasa_jwt_secret)]
    rasa_main()


if __name__ == "__main__":
    main()
