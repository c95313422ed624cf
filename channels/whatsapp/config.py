"""The channel's settings: secrets from the environment, the rest overridable in credentials.yml.

Secrets (app secret, verify token, access token) are read from the environment
only, so they never end up in a file in git; a secret written into
credentials.yml is ignored with a warning. The Graph API version is a setting
because Meta retires each version about two years after it ships.

The variables' names, defaults and meanings live in clinic_bot/settings.py
(`VARIABLES`), like every other setting; this module maps them onto the channel.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from datetime import date
from typing import Any, Dict, List, Mapping, Optional

from clinic_bot.http_retry import RetryPolicy
from clinic_bot.settings import env as settings_env

logger = logging.getLogger(__name__)

CHANNEL_NAME = "whatsapp"
GRAPH_HOST = "https://graph.facebook.com"
# Meta's Graph API versions and their end of support ("Expiration Date" in
# https://developers.facebook.com/docs/graph-api/changelog/versions/). v19.0, the
# old default, stopped on 21 May 2026. Update the default when Meta announces an
# end date within a year; WHATSAPP_GRAPH_VERSION overrides it.
DEFAULT_GRAPH_VERSION = "v25.0"
GRAPH_VERSION_END_OF_SUPPORT = {
    "v19.0": date(2026, 5, 21),
    "v20.0": date(2026, 9, 24),
    "v21.0": date(2027, 1, 21),
    "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8),
    "v24.0": date(2028, 2, 18),
    "v25.0": date(2028, 7, 29),
}
DEFAULT_GRAPH_URL = f"{GRAPH_HOST}/{DEFAULT_GRAPH_VERSION}"
_GRAPH_VERSION_RE = re.compile(r"^v\d+\.\d+$")
MAX_BACKOFF_S = 30.0

UNSUPPORTED_REPLY = (
    "Sorry, I can only read text messages, so I couldn't open that. "
    'Please type your question, or write "talk to a person" to reach the clinic team.'
)

ENV_NAMES = {
    "app_secret": "WHATSAPP_APP_SECRET",
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
    "graph_url": "WHATSAPP_GRAPH_URL",
    "graph_version": "WHATSAPP_GRAPH_VERSION",
}
SECRET_KEYS = frozenset({"app_secret", "verify_token", "access_token"})


@dataclass(frozen=True)
class WhatsAppConfig:
    app_secret: str = ""
    verify_token: str = ""
    access_token: str = ""
    phone_number_id: str = ""
    graph_version: str = DEFAULT_GRAPH_VERSION
    graph_url: str = ""  # empty: https://graph.facebook.com/<graph_version>
    timeout_s: float = 10.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_body_bytes: int = 256 * 1024
    list_button_label: str = "Choose"
    unsupported_reply: str = UNSUPPORTED_REPLY

    def __post_init__(self) -> None:
        if not self.graph_url:
            object.__setattr__(self, "graph_url", f"{GRAPH_HOST}/{self.graph_version}")

    def graph_version_warning(self, today: Optional[date] = None) -> Optional[str]:
        """Why the Graph API version in use needs attention (past or near Meta's end of support), if it does."""
        match = re.search(r"/(v\d+\.\d+)(?:/|$)", self.graph_url)
        version = match.group(1) if match else None
        if version is None:
            return None
        today = today or date.today()
        end = GRAPH_VERSION_END_OF_SUPPORT.get(version)
        major = float(version[1:])
        oldest = min(float(v[1:]) for v in GRAPH_VERSION_END_OF_SUPPORT)
        if (end is not None and end <= today) or (end is None and major < oldest):
            return (
                f"Graph API {version} is past Meta's end of support; sends may fail. "
                f"Set WHATSAPP_GRAPH_VERSION (default {DEFAULT_GRAPH_VERSION})."
            )
        if end is not None and (end - today).days < 90:
            return f"Graph API {version} reaches Meta's end of support on {end.isoformat()}; set WHATSAPP_GRAPH_VERSION to a newer one."
        return None

    @property
    def missing(self) -> List[str]:
        """Environment variables that must be set before the channel can work."""
        return [ENV_NAMES[k] for k in ("app_secret", "verify_token", "access_token", "phone_number_id") if not getattr(self, k)]

    @property
    def configured(self) -> bool:
        return not self.missing

    @property
    def messages_url(self) -> str:
        return f"{self.graph_url.rstrip('/')}/{self.phone_number_id}/messages"

    @property
    def retry_policy(self) -> RetryPolicy:
        """How a Graph API send is retried (what is retried: clinic_bot/http_retry.py).

        Up to `max_attempts`, waiting `backoff_s` and doubling, never over 30 s;
        a 429's Retry-After is honoured (Meta's rate limits say how long)."""
        return RetryPolicy(
            attempts=max(1, int(self.max_attempts)),
            timeout_s=self.timeout_s,
            backoff_s=self.backoff_s,
            max_backoff_s=MAX_BACKOFF_S,
            honour_retry_after=True,
        )

    @classmethod
    def load(cls, credentials: Optional[Mapping[str, Any]] = None, environ: Optional[Mapping[str, str]] = None) -> "WhatsAppConfig":
        """Secrets from the environment; non-secret values from env, then credentials.yml overrides."""
        values: Dict[str, Any] = {}
        for key, var in ENV_NAMES.items():
            text = settings_env(var, environ)  # names and defaults: clinic_bot/settings.py
            if text:
                values[key] = text

        numeric = {"timeout_s": float, "max_attempts": int, "backoff_s": float, "max_body_bytes": int}
        known = {f.name for f in fields(cls)}
        for key, raw in dict(credentials or {}).items():
            if key in SECRET_KEYS:
                logger.warning("whatsapp: ignoring '%s' in credentials.yml; secrets are read from %s only", key, ENV_NAMES[key])
                continue
            if key not in known:
                logger.warning("whatsapp: unknown credentials key '%s' ignored", key)
                continue
            if raw is None or raw == "":
                continue
            if key in numeric:
                try:
                    number: float = numeric[key](raw)
                    if number < 0 or (number == 0 and key != "backoff_s"):
                        raise ValueError("out of range")
                except (TypeError, ValueError):
                    logger.warning("whatsapp: credentials key '%s' has an invalid value; using the default", key)
                    continue
                values[key] = number
            else:
                values[key] = str(raw).strip()
        if "graph_version" in values and not _GRAPH_VERSION_RE.match(values["graph_version"]):
            logger.warning("whatsapp: the Graph API version must look like v25.0; using %s", DEFAULT_GRAPH_VERSION)
            values.pop("graph_version")
        return cls(**values)
