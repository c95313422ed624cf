"""Console settings, read from the environment (never from files in git)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from clinic_bot.files import kept_secret
from clinic_bot.settings import load_settings

MIN_SECRET_LEN = 32
SECRET_FILE = Path("secrets") / "console_secret_key"


class ConfigError(RuntimeError):
    """The console cannot start with this configuration; the message says what to fix."""


def var_dir() -> Path:
    return load_settings().var_dir


def load_secret_key(*, dev: bool = False, required: bool = True) -> Optional[str]:
    """CONSOLE_SECRET_KEY from the environment.

    Without it the console refuses to start, unless `dev` is set: then a key is
    generated once and kept in var/secrets/console_secret_key (mode 0600).
    """
    key = load_settings().console_secret_key
    if key:
        if len(key) < MIN_SECRET_LEN:
            raise ConfigError(f"CONSOLE_SECRET_KEY is too short ({len(key)} characters; use at least {MIN_SECRET_LEN})")
        return key
    if dev or not required:
        return kept_secret(var_dir(), SECRET_FILE.name, create=dev, nbytes=48)
    raise ConfigError(
        "CONSOLE_SECRET_KEY is not set. Put a long random value in the environment (e.g. in .env:\n"
        "  CONSOLE_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')\n"
        "or, on a development machine only, start with --dev-secret (or CONSOLE_DEV_SECRET=1) to generate one in var/."
    )


_ENV_REF = re.compile(r"\$\{([^}:]+)\}")


def _expand(value: Any) -> Any:
    """Rasa-style ${VAR} expansion; an unset variable expands to ''."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)  # as Rasa expands endpoints.yml
    return value


def tracker_db_url() -> str:
    """The database Rasa's SQLTrackerStore writes, resolved the way Rasa resolves it.

    CONSOLE_TRACKER_DB_URL wins; otherwise the `tracker_store` section of the
    endpoints file Rasa uses (RASA_ENDPOINTS, default endpoints.yml), with its
    ${ENV} placeholders, through Rasa's own SQLTrackerStore.get_db_url. An
    empty sqlite path falls back to var/tracker.db, where the launcher puts it.
    """
    settings = load_settings()
    if settings.console_tracker_db_url:
        return settings.console_tracker_db_url
    path = settings.endpoints_path
    with path.open(encoding="utf-8") as fh:
        section = (yaml.safe_load(fh) or {}).get("tracker_store") or {}
    kw = {k: _expand(v) for k, v in section.items()}
    if str(kw.get("type", "")).lower() != "sql":
        raise ConfigError(f"{path}: the console needs Rasa's SQL tracker store (tracker_store: type: SQL)")
    dialect = kw.get("dialect") or "sqlite"
    if dialect == "sqlite":
        db = kw.get("db") or str(settings.tracker_db)
        return f"sqlite:///{Path(db).resolve()}"
    from rasa.core.tracker_store import SQLTrackerStore

    port = kw.get("port")
    url = SQLTrackerStore.get_db_url(
        dialect,
        kw.get("url"),
        int(port) if port else None,
        kw.get("db") or "rasa.db",
        kw.get("username"),
        kw.get("password"),
        None,
        kw.get("query"),
    )
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class ConsoleConfig:
    secret_key: str
    db_url: str
    tracker_db_url: str
    cookie_secure: str = "auto"  # auto | always | never
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    retention_days: int = 365
    retention_every_hours: float = 24.0  # the console applies retention itself; 0: off (cron + CLI instead)
    low_confidence: float = 0.6
    timezone: str = "Europe/London"
    page_size: int = 25
    account_max_failures: int = 5
    ip_max_failures: int = 20
    lockout_base_seconds: int = 30
    lockout_max_seconds: int = 900

    @property
    def session_idle_s(self) -> int:
        return self.session_idle_minutes * 60

    @property
    def session_max_s(self) -> int:
        return self.session_max_hours * 3600


def retention_days_default() -> int:
    return load_settings().console_retention_days


def _non_negative(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigError(f"{name} must be a number of hours, 0 or more (got {raw!r})")
    return value


def load_config(*, dev_secret: bool = False) -> ConsoleConfig:
    settings = load_settings()
    dev = dev_secret or settings.console_dev_secret
    secure = settings.console_cookie_secure
    secure = {"1": "always", "true": "always", "yes": "always", "0": "never", "false": "never", "no": "never"}.get(secure, secure)
    if secure not in ("auto", "always", "never"):
        raise ConfigError("CONSOLE_COOKIE_SECURE must be auto, always or never")
    return ConsoleConfig(
        secret_key=load_secret_key(dev=dev) or "",
        db_url=settings.db_url,
        tracker_db_url=tracker_db_url(),
        cookie_secure=secure,
        session_idle_minutes=settings.console_session_idle_minutes,
        session_max_hours=settings.console_session_max_hours,
        retention_days=settings.console_retention_days,
        retention_every_hours=_non_negative("CONSOLE_RETENTION_EVERY_HOURS", settings.console_retention_every_hours),
        low_confidence=settings.console_low_confidence,
        timezone=settings.console_timezone,
        account_max_failures=settings.console_lockout_account_failures,
        ip_max_failures=settings.console_lockout_ip_failures,
        lockout_base_seconds=settings.console_lockout_base_seconds,
        lockout_max_seconds=settings.console_lockout_max_seconds,
    )
