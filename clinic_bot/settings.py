"""All runtime settings in one place, read from the environment.

Secrets (tokens, webhook secrets, app secrets) never live in files in git:
they come from the environment, which `make run` fills from `.env` if present.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings`."""

    profile_path: Path
    db_url: str
    rasa_url: str
    staff_webhook_url: str
    staff_webhook_secret: str
    webhook_timeout_s: float
    webhook_retries: int
    # security (docs/security.md)
    action_host: str
    action_server_secret: str
    rasa_jwt_secret: str
    rest_channel: str
    rest_channel_token: str
    widget_session_secret: str
    widget_origins: tuple
    max_message_chars: int
    max_metadata_bytes: int
    max_request_bytes: int
    rate_per_sender: str
    rate_per_client: str
    # Service logs (var/logs/, clinic_bot/logs.py): one file per service, rotated
    # daily or at this size, copies deleted after this many days.
    log_max_bytes: int
    log_retention_days: int


def load_settings() -> Settings:
    var_dir = Path(_env("CLINIC_VAR_DIR", str(PROJECT_ROOT / "var")))
    return Settings(
        profile_path=Path(_env("CLINIC_PROFILE", str(PROJECT_ROOT / "config" / "clinic_profile.yml"))),
        db_url=_env("CLINIC_DB_URL", f"sqlite:///{var_dir / 'clinic.db'}"),
        rasa_url=_env("RASA_URL", "http://127.0.0.1:5005"),
        staff_webhook_url=_env("STAFF_WEBHOOK_URL", ""),
        staff_webhook_secret=_env("STAFF_WEBHOOK_SECRET", ""),
        webhook_timeout_s=float(_env("STAFF_WEBHOOK_TIMEOUT", "3")),
        webhook_retries=int(_env("STAFF_WEBHOOK_RETRIES", "3")),
        action_host=_env("ACTION_HOST", "127.0.0.1"),
        action_server_secret=_env("ACTION_SERVER_SECRET", ""),
        rasa_jwt_secret=_env("RASA_JWT_SECRET", ""),
        # local: only callers on this machine with no proxy in between; token: a Bearer
        # token (REST_CHANNEL_TOKEN) from anywhere; off: 404 for everyone
        rest_channel=_env("REST_CHANNEL", "local"),
        rest_channel_token=_env("REST_CHANNEL_TOKEN", ""),
        widget_session_secret=_env("WIDGET_SESSION_SECRET", ""),
        # empty: the clinic's own site from the profile (`website`) and the local demo page
        widget_origins=tuple(_env("WIDGET_ORIGINS", "").split()),
        max_message_chars=int(_env("MAX_MESSAGE_CHARS", "3000")),
        max_metadata_bytes=int(_env("MAX_METADATA_BYTES", "2048")),
        max_request_bytes=int(_env("MAX_REQUEST_BYTES", "65536")),
        # "<count>/<seconds>": messages one conversation, or one client address, may send
        rate_per_sender=_env("RATE_PER_SENDER", "20/60"),
        rate_per_client=_env("RATE_PER_CLIENT", "60/60"),
        log_max_bytes=int(_env("LOG_MAX_BYTES", "10000000")),
        log_retention_days=int(_env("LOG_RETENTION_DAYS", "14")),
    )
