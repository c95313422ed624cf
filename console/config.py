"""Console settings, read from the environment (never from files in git)."""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from clinic_bot.files import private_dir, write_private
from clinic_bot.settings import PROJECT_ROOT, load_settings

MIN_SECRET_LEN = 32
SECRET_FILE = Path("secrets") / "console_secret_key"


class ConfigError(RuntimeError):
    """The console cannot start with this configuration; the message says what to fix."""


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


def var_dir() -> Path:
    return Path(_env("CLINIC_VAR_DIR", str(PROJECT_ROOT / "var")))


def load_secret_key(*, dev: bool = False, required: bool = True) -> Optional[str]:
    """CONSOLE_SECRET_KEY from the environment.

    Without it the console refuses to start, unless `dev` is set: then a key is
    generated once and kept in var/secrets/console_secret_key (mode 0600).
    """
    key = _env("CONSOLE_SECRET_KEY")
    if key:
        if len(key) < MIN_SECRET_LEN:
            raise ConfigError(f"CONSOLE_SECRET_KEY is too short ({len(key)} characters; use at least {MIN_SECRET_LEN})")
        return key
    path = var_dir() / SECRET_FILE
    if dev or not required:
        if path.exists():
            return path.read_text().strip()
        if not dev:
            return None
        private_dir(path.parent)
        key = secrets.token_urlsafe(48)
        write_private(path, key)
        return key
    raise ConfigError(
        "CONSOLE_SECRET_KEY is not set. Put a long random value in the environment (e.g. in .env:\n"
        "  CONSOLE_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')\n"
        "or, on a development machine only, start with --dev-secret (or CONSOLE_DEV_SECRET=1) to generate one in var/."
    )


_ENV_REF = re.compile(r"\$\{([^}:]+)\}")


def _expand(value: Any) -> Any:
    """Rasa-style ${VAR} expansion; an unset variable expands to ''."""
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)
    return value


def tracker_db_url() -> str:
    """The database Rasa's SQLTrackerStore writes, resolved the way Rasa resolves it.

    CONSOLE_TRACKER_DB_URL wins; otherwise the `tracker_store` section of the
    endpoints file Rasa uses (RASA_ENDPOINTS, default endpoints.yml), with its
    ${ENV} placeholders, through Rasa's own SQLTrackerStore.get_db_url. An
    empty sqlite path falls back to var/tracker.db, where the launcher puts it.
    """
    explicit = _env("CONSOLE_TRACKER_DB_URL")
    if explicit:
        return explicit
    path = Path(_env("RASA_ENDPOINTS", str(PROJECT_ROOT / "endpoints.yml")))
    with path.open(encoding="utf-8") as fh:
        section = (yaml.safe_load(fh) or {}).get("tracker_store") or {}
    kw = {k: _expand(v) for k, v in section.items()}
    if str(kw.get("type", "")).lower() != "sql":
        raise ConfigError(f"{path}: the console needs Rasa's SQL tracker store (tracker_store: type: SQL)")
    dialect = kw.get("dialect") or "sqlite"
    if dialect == "sqlite":
        db = kw.get("db") or _env("RASA_TRACKER_DB") or str(var_dir() / "tracker.db")
        return f"sqlite:///{Path(db).resolve()}"
    from rasa.core.tracker_store import SQLTrackerStore

    port = kw.get("port")
    url = SQLTrackerStore.get_db_url(
        dialect, kw.get("url"), int(port) if port else None, kw.get("db") or "rasa.db",
        kw.get("username"), kw.get("password"), None, kw.get("query"),
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
    return int(_env("CONSOLE_RETENTION_DAYS", "365"))


def _non_negative(name: str, default: str) -> float:
    raw = _env(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigError(f"{name} must be a number of hours, 0 or more (got {raw!r})")
    return value


def load_config(*, dev_secret: bool = False) -> ConsoleConfig:
    dev = dev_secret or _env("CONSOLE_DEV_SECRET") in ("1", "true", "yes")
    secure = _env("CONSOLE_COOKIE_SECURE", "auto").lower()
    secure = {"1": "always", "true": "always", "yes": "always", "0": "never", "false": "never", "no": "never"}.get(secure, secure)
    if secure not in ("auto", "always", "never"):
        raise ConfigError("CONSOLE_COOKIE_SECURE must be auto, always or never")
    return ConsoleConfig(
        secret_key=load_secret_key(dev=dev) or "",
        db_url=load_settings().db_url,
        tracker_db_url=tracker_db_url(),
        cookie_secure=secure,
        session_idle_minutes=int(_env("CONSOLE_SESSION_IDLE_MINUTES", "30")),
        session_max_hours=int(_env("CONSOLE_SESSION_MAX_HOURS", "12")),
        retention_days=retention_days_default(),
        retention_every_hours=_non_negative("CONSOLE_RETENTION_EVERY_HOURS", "24"),
        low_confidence=float(_env("CONSOLE_LOW_CONFIDENCE", "0.6")),
        timezone=_env("CONSOLE_TIMEZONE", "Europe/London"),
        account_max_failures=int(_env("CONSOLE_LOCKOUT_ACCOUNT_FAILURES", "5")),
        ip_max_failures=int(_env("CONSOLE_LOCKOUT_IP_FAILURES", "20")),
        lockout_base_seconds=int(_env("CONSOLE_LOCKOUT_BASE_SECONDS", "30")),
        lockout_max_seconds=int(_env("CONSOLE_LOCKOUT_MAX_SECONDS", "900")),
    )
