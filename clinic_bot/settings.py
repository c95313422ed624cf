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
    rasa_token: str
    staff_webhook_url: str
    staff_webhook_secret: str
    webhook_timeout_s: float
    webhook_retries: int
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
        rasa_token=_env("RASA_TOKEN", ""),
        staff_webhook_url=_env("STAFF_WEBHOOK_URL", ""),
        staff_webhook_secret=_env("STAFF_WEBHOOK_SECRET", ""),
        webhook_timeout_s=float(_env("STAFF_WEBHOOK_TIMEOUT", "3")),
        webhook_retries=int(_env("STAFF_WEBHOOK_RETRIES", "3")),
        log_max_bytes=int(_env("LOG_MAX_BYTES", "10000000")),
        log_retention_days=int(_env("LOG_RETENTION_DAYS", "14")),
    )
