"""Widget session ids the server issues and signs, so a browser cannot pick one.

A session id is the conversation's sender id in Rasa. Rasa's stock socket.io
channel takes whatever id the client names in `session_request`, so a second
browser that named someone else's id received their replies, staff replies
included. Here an id is `<32 random hex>.<HMAC-SHA256 of it, 32 hex>`, signed
with `WIDGET_SESSION_SECRET`; the channel resumes a session only when the
signature checks out and issues a fresh id otherwise. The id is a bearer
secret kept in the browser's storage, like a session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from functools import lru_cache

from clinic_bot.settings import load_settings

logger = logging.getLogger(__name__)

SESSION_ID_RE = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")


@lru_cache(maxsize=1)
def session_secret() -> bytes:
    """The signing secret; without one (plain `rasa run`) a per-process one, so ids end with the process."""
    configured = load_settings().widget_session_secret
    if not configured:
        logger.warning("WIDGET_SESSION_SECRET is not set: widget sessions will not survive a restart")
        return secrets.token_bytes(32)
    return configured.encode()


def _signature(nonce: str, secret: bytes) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret: bytes) -> str:
    nonce = secrets.token_hex(16)
    return f"{nonce}.{_signature(nonce, secret)}"


def is_valid(session_id: object, secret: bytes) -> bool:
    if not isinstance(session_id, str) or not SESSION_ID_RE.fullmatch(session_id):
        return False
    nonce, signature = session_id.split(".")
    return hmac.compare_digest(signature, _signature(nonce, secret))
