"""Every setting the services read from the environment, in one place, in sections.

`VARIABLES` is the one list: each environment variable's name, default,
section and meaning. `load_settings()` reads them all into `Settings`, and
`.env.example` is generated from the same list (`python -m clinic_bot.settings
--example > .env.example`; a test keeps it current). Nothing else in the project
reads the environment for a setting.

Secrets (tokens, webhook secrets, app secrets) never live in files in git:
they come from the environment, which `make run` fills from `.env` if present,
or are generated once into `var/secrets/` by the launcher.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    section: str
    doc: str


VARIABLES: Tuple[Variable, ...] = (
    # paths and databases
    Variable("CLINIC_VAR_DIR", "var", "Paths and databases", "data folder: databases, logs, secrets (relative to the project)"),
    Variable("CLINIC_PROFILE", "config/clinic_profile.yml", "Paths and databases", "the clinic profile (names, hours, locale numbers)"),
    Variable("CLINIC_DB_URL", "", "Paths and databases", "tickets, staff, audit (empty: sqlite in CLINIC_VAR_DIR/clinic.db; or postgresql://...)"),
    Variable("RASA_TRACKER_DB", "", "Paths and databases", "Rasa's SQLite tracker file (empty: CLINIC_VAR_DIR/tracker.db)"),
    Variable("RASA_ENDPOINTS", "endpoints.yml", "Paths and databases", "the endpoints file the Rasa server and the console read"),
    Variable("CONSOLE_TRACKER_DB_URL", "", "Paths and databases", "the console's URL for Rasa's tracker database (empty: from RASA_ENDPOINTS)"),
    # servers
    Variable("BIND_HOST", "127.0.0.1", "Servers", "interface the Rasa server, console and demo site listen on"),
    Variable("RASA_PORT", "5005", "Servers", "Rasa server port"),
    Variable("RASA_URL", "http://127.0.0.1:5005", "Servers", "where staff tools reach the Rasa server"),
    Variable("ACTION_HOST", "127.0.0.1", "Servers", "interface the action server listens on"),
    Variable("ACTION_PORT", "5055", "Servers", "action server port"),
    Variable("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook", "Servers", "where Rasa calls the action server (endpoints.yml)"),
    Variable("CONSOLE_PORT", "5080", "Servers", "staff console port"),
    Variable("WIDGET_HOST", "127.0.0.1", "Servers", "interface of the demo site with the widget"),
    Variable("WIDGET_PORT", "8080", "Servers", "demo site port"),
    # secrets
    Variable("RASA_JWT_SECRET", "", "Secrets", "signs the HTTP API's short-lived JWTs (generated into var/secrets/ if empty)"),
    Variable("ACTION_SERVER_SECRET", "", "Secrets", "shared secret Rasa sends the action server (generated if empty)"),
    Variable("WIDGET_SESSION_SECRET", "", "Secrets", "signs widget session ids (generated if empty)"),
    Variable("CONSOLE_SECRET_KEY", "", "Secrets", "signs console sessions and references; 32+ characters (generated if empty under make run)"),
    Variable("REST_CHANNEL_TOKEN", "", "Secrets", "bearer token for the REST channel when REST_CHANNEL=token"),
    # staff webhook
    Variable("STAFF_WEBHOOK_URL", "", "Staff alerts", "where a new escalation is POSTed (empty: queue only)"),
    Variable("STAFF_WEBHOOK_SECRET", "", "Staff alerts", "HMAC secret of the X-Clinic-Signature-256 header (generated if empty)"),
    Variable("STAFF_WEBHOOK_TIMEOUT", "3", "Staff alerts", "seconds per attempt"),
    Variable("STAFF_WEBHOOK_RETRIES", "3", "Staff alerts", "attempts"),
    # access and limits
    Variable("REST_CHANNEL", "local", "Access and limits", "local (this machine only) | token | off"),
    Variable("WIDGET_ORIGINS", "", "Access and limits", "web origins allowed to open the widget (empty: the clinic site from the profile)"),
    Variable("MAX_MESSAGE_CHARS", "3000", "Access and limits", "longer messages are cut before NLU and the person is asked for a shorter one"),
    Variable("MAX_METADATA_BYTES", "2048", "Access and limits", "larger message metadata is not stored"),
    Variable("MAX_REQUEST_BYTES", "65536", "Access and limits", "largest REST channel request body (413 above)"),
    Variable(
        "MAX_SOCKET_PACKET_BYTES",
        "1000000",
        "Access and limits",
        "largest socket.io packet and any other request body of the Rasa server (a long message below it is cut and answered)",
    ),
    Variable("RATE_PER_SENDER", "20/60", "Access and limits", "messages one conversation may send per window (count/seconds)"),
    Variable("RATE_PER_CLIENT", "60/60", "Access and limits", "messages one remote address may send per window (count/seconds)"),
    Variable("RASA_TELEMETRY_ENABLED", "false", "Access and limits", "Rasa's telemetry (kept off: nothing goes to third parties)"),
    Variable("METRICS_TOKEN", "", "Access and limits", "bearer token for /metrics from other machines (empty: loopback only; clinic_bot/metrics.py)"),
    # logs
    Variable("LOG_MAX_BYTES", "10000000", "Logs", "a service log rotates at this size (and daily)"),
    Variable("LOG_RETENTION_DAYS", "14", "Logs", "rotated logs older than this are deleted"),
    Variable("LOG_FORMAT", "text", "Logs", "text | json: one JSON object per line (ts, service, level, message) in the service logs"),
    Variable("LOG_TO_STDOUT", "0", "Logs", "1: the launcher also prints every (redacted) service log line on its stdout (containers)"),
    # console
    Variable("CONSOLE_DEV_SECRET", "", "Staff console", "1: generate CONSOLE_SECRET_KEY into var/secrets/ (development only)"),
    Variable("CONSOLE_COOKIE_SECURE", "auto", "Staff console", "auto | always | never"),
    Variable("CONSOLE_SESSION_IDLE_MINUTES", "30", "Staff console", "sign out after this long idle"),
    Variable("CONSOLE_SESSION_MAX_HOURS", "12", "Staff console", "sign out after this long in any case"),
    Variable("CONSOLE_RETENTION_DAYS", "365", "Staff console", "conversations and tickets older than this are deleted"),
    Variable("CONSOLE_RETENTION_EVERY_HOURS", "24", "Staff console", "how often the console applies retention (0: off, use the CLI)"),
    Variable("CONSOLE_LOW_CONFIDENCE", "0.6", "Staff console", "answers below this confidence count as unanswered"),
    Variable("CONSOLE_TIMEZONE", "Europe/London", "Staff console", "time zone of dates shown to staff"),
    Variable("CONSOLE_LOCKOUT_ACCOUNT_FAILURES", "5", "Staff console", "failed logins before an account is locked"),
    Variable("CONSOLE_LOCKOUT_IP_FAILURES", "20", "Staff console", "failed logins before an address is locked"),
    Variable("CONSOLE_LOCKOUT_BASE_SECONDS", "30", "Staff console", "first lock-out, doubling after each further failure"),
    Variable("CONSOLE_LOCKOUT_MAX_SECONDS", "900", "Staff console", "longest lock-out"),
    Variable("RECONCILE_EVERY_S", "20", "Staff console", "how often the console finishes escalations whose action never ran"),
    # scale-out (make cluster, the migration, tests/cluster): clinic_bot/services.py reads these
    Variable("POSTGRES_HOST", "127.0.0.1", "Scale-out", "PostgreSQL server (make cluster: conversations, tickets, staff, audit)"),
    Variable("POSTGRES_PORT", "5432", "Scale-out", "PostgreSQL port"),
    Variable("POSTGRES_USER", "postgres", "Scale-out", "PostgreSQL user"),
    Variable("POSTGRES_PASSWORD", "", "Scale-out", "PostgreSQL password (empty: trust or peer authentication)"),
    Variable("POSTGRES_DB", "facet_assistant", "Scale-out", "the cluster's database (created by make cluster if missing)"),
    Variable("REDIS_HOST", "127.0.0.1", "Scale-out", "Redis server (per-conversation locks, socket.io messages between servers)"),
    Variable("REDIS_PORT", "6379", "Scale-out", "Redis port"),
    Variable("REDIS_PASSWORD", "", "Scale-out", "Redis password (empty: none)"),
    Variable("RABBITMQ_HOST", "127.0.0.1", "Scale-out", "RabbitMQ server (Rasa's event broker: every conversation event)"),
    Variable("RABBITMQ_PORT", "5672", "Scale-out", "RabbitMQ port"),
    Variable("RABBITMQ_USER", "guest", "Scale-out", "RabbitMQ user"),
    Variable("RABBITMQ_PASSWORD", "guest", "Scale-out", "RabbitMQ password"),
    Variable("RABBITMQ_QUEUE", "facet_assistant_events", "Scale-out", "the queue Rasa's event broker publishes conversation events to"),
    Variable(
        "TICKET_LOCK_LIFETIME",
        "20",
        "Scale-out",
        "seconds a conversation's lock lasts (Rasa's; its default 60): a server that dies holding one delays that conversation this long",
    ),
    Variable("SOCKETIO_MANAGER_URL", "", "Scale-out", "redis://... : widget messages reach a socket held by another Rasa server (empty: one server)"),
    Variable("CLUSTER_RASA_SERVERS", "2", "Scale-out", "how many Rasa servers make cluster starts behind nginx"),
    Variable("CLUSTER_PORT", "8000", "Scale-out", "the one public port of make cluster (nginx)"),
    # whatsapp and twilio (read by their channels' config)
    Variable("WHATSAPP_APP_SECRET", "", "WhatsApp", "Meta app secret: checks X-Hub-Signature-256"),
    Variable("WHATSAPP_VERIFY_TOKEN", "", "WhatsApp", "the webhook verification token you chose in Meta's dashboard"),
    Variable("WHATSAPP_ACCESS_TOKEN", "", "WhatsApp", "Graph API access token"),
    Variable("WHATSAPP_PHONE_NUMBER_ID", "", "WhatsApp", "the business phone number id"),
    Variable("WHATSAPP_GRAPH_VERSION", "v25.0", "WhatsApp", "Graph API version"),
    Variable("WHATSAPP_GRAPH_URL", "", "WhatsApp", "Graph API base URL (empty: https://graph.facebook.com/<version>)"),
    Variable("TWILIO_ACCOUNT_SID", "", "Twilio", "account SID"),
    Variable("TWILIO_AUTH_TOKEN", "", "Twilio", "auth token: checks X-Twilio-Signature"),
    Variable("TWILIO_NUMBER", "", "Twilio", "the sending number"),
    Variable("TWILIO_WEBHOOK_URL", "", "Twilio", "the public webhook URL Twilio signs"),
)
_BY_NAME: Dict[str, Variable] = {v.name: v for v in VARIABLES}


def env(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The variable's value, or its default from `VARIABLES` when unset or blank."""
    source = os.environ if environ is None else environ
    return (source.get(name) or "").strip() or _BY_NAME[name].default


def _path(name: str) -> Path:
    path = Path(env(name))
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings`. Sections as in `VARIABLES`."""

    # paths and databases
    var_dir: Path
    profile_path: Path
    db_url: str
    tracker_db: Path
    endpoints_path: Path
    console_tracker_db_url: str
    # servers
    bind_host: str
    rasa_port: int
    rasa_url: str
    action_host: str
    action_port: int
    action_server_url: str
    console_port: int
    widget_host: str
    widget_port: int
    # secrets
    rasa_jwt_secret: str
    action_server_secret: str
    widget_session_secret: str
    console_secret_key: str
    rest_channel_token: str
    # staff alerts
    staff_webhook_url: str
    staff_webhook_secret: str
    webhook_timeout_s: float
    webhook_retries: int
    # access and limits
    rest_channel: str
    widget_origins: tuple
    max_message_chars: int
    max_metadata_bytes: int
    max_request_bytes: int
    max_socket_packet_bytes: int
    rate_per_sender: str
    rate_per_client: str
    socketio_manager_url: str
    metrics_token: str
    # logs
    log_max_bytes: int
    log_retention_days: int
    log_format: str
    log_to_stdout: bool
    # staff console
    console_dev_secret: bool
    console_cookie_secure: str
    console_session_idle_minutes: int
    console_session_max_hours: int
    console_retention_days: int
    console_retention_every_hours: str
    console_low_confidence: float
    console_timezone: str
    console_lockout_account_failures: int
    console_lockout_ip_failures: int
    console_lockout_base_seconds: int
    console_lockout_max_seconds: int
    reconcile_every_s: float


def load_settings() -> Settings:
    var_dir = _path("CLINIC_VAR_DIR")
    return Settings(
        var_dir=var_dir,
        profile_path=_path("CLINIC_PROFILE"),
        db_url=env("CLINIC_DB_URL") or f"sqlite:///{var_dir / 'clinic.db'}",
        tracker_db=Path(env("RASA_TRACKER_DB") or var_dir / "tracker.db"),
        endpoints_path=_path("RASA_ENDPOINTS"),
        console_tracker_db_url=env("CONSOLE_TRACKER_DB_URL"),
        bind_host=env("BIND_HOST"),
        rasa_port=int(env("RASA_PORT")),
        rasa_url=env("RASA_URL"),
        action_host=env("ACTION_HOST"),
        action_port=int(env("ACTION_PORT")),
        action_server_url=env("ACTION_SERVER_URL"),
        console_port=int(env("CONSOLE_PORT")),
        widget_host=env("WIDGET_HOST"),
        widget_port=int(env("WIDGET_PORT")),
        rasa_jwt_secret=env("RASA_JWT_SECRET"),
        action_server_secret=env("ACTION_SERVER_SECRET"),
        widget_session_secret=env("WIDGET_SESSION_SECRET"),
        console_secret_key=env("CONSOLE_SECRET_KEY"),
        rest_channel_token=env("REST_CHANNEL_TOKEN"),
        staff_webhook_url=env("STAFF_WEBHOOK_URL"),
        staff_webhook_secret=env("STAFF_WEBHOOK_SECRET"),
        webhook_timeout_s=float(env("STAFF_WEBHOOK_TIMEOUT")),
        webhook_retries=int(env("STAFF_WEBHOOK_RETRIES")),
        rest_channel=env("REST_CHANNEL"),
        widget_origins=tuple(env("WIDGET_ORIGINS").split()),
        max_message_chars=int(env("MAX_MESSAGE_CHARS")),
        max_metadata_bytes=int(env("MAX_METADATA_BYTES")),
        max_request_bytes=int(env("MAX_REQUEST_BYTES")),
        max_socket_packet_bytes=int(env("MAX_SOCKET_PACKET_BYTES")),
        rate_per_sender=env("RATE_PER_SENDER"),
        rate_per_client=env("RATE_PER_CLIENT"),
        socketio_manager_url=env("SOCKETIO_MANAGER_URL"),
        metrics_token=env("METRICS_TOKEN"),
        log_max_bytes=int(env("LOG_MAX_BYTES")),
        log_retention_days=int(env("LOG_RETENTION_DAYS")),
        log_format=env("LOG_FORMAT").lower(),
        log_to_stdout=env("LOG_TO_STDOUT").lower() in ("1", "true", "yes"),
        console_dev_secret=env("CONSOLE_DEV_SECRET").lower() in ("1", "true", "yes"),
        console_cookie_secure=env("CONSOLE_COOKIE_SECURE").lower(),
        console_session_idle_minutes=int(env("CONSOLE_SESSION_IDLE_MINUTES")),
        console_session_max_hours=int(env("CONSOLE_SESSION_MAX_HOURS")),
        console_retention_days=int(env("CONSOLE_RETENTION_DAYS")),
        console_retention_every_hours=env("CONSOLE_RETENTION_EVERY_HOURS"),
        console_low_confidence=float(env("CONSOLE_LOW_CONFIDENCE")),
        console_timezone=env("CONSOLE_TIMEZONE"),
        console_lockout_account_failures=int(env("CONSOLE_LOCKOUT_ACCOUNT_FAILURES")),
        console_lockout_ip_failures=int(env("CONSOLE_LOCKOUT_IP_FAILURES")),
        console_lockout_base_seconds=int(env("CONSOLE_LOCKOUT_BASE_SECONDS")),
        console_lockout_max_seconds=int(env("CONSOLE_LOCKOUT_MAX_SECONDS")),
        reconcile_every_s=float(env("RECONCILE_EVERY_S")),
    )


def env_example() -> str:
    """The text of .env.example: every variable with its default, by section."""
    lines = [
        "# Every environment variable the services read (clinic_bot/settings.py), with its default.",
        "# Copy to .env (git ignores it) and set what you need; secrets left empty are generated",
        "# into var/secrets/ by `make run`. Regenerate: python -m clinic_bot.settings --example > .env.example",
    ]
    section = None
    for v in VARIABLES:
        if v.section != section:
            section = v.section
            lines += ["", f"# --- {section}"]
        lines += [f"# {v.doc}", f"{v.name}={v.default}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--example"]:
        sys.exit("usage: python -m clinic_bot.settings --example > .env.example")
    sys.stdout.write(env_example())
