"""`sha256=<hex>` body signatures (HMAC-SHA256), built and checked in one place.

Meta signs each WhatsApp webhook this way (`X-Hub-Signature-256`, keyed with
the app secret), and the clinic signs its staff notifications the same way
(`X-Clinic-Signature-256`, keyed with `STAFF_WEBHOOK_SECRET`), so a receiver
can check both with the same few lines. The signature covers the raw bytes:
re-serialised JSON would not match.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """``sha256=`` + the hex HMAC-SHA256 of the raw `body` keyed with `secret`."""
    return PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: Optional[str]) -> bool:
    """Whether `header` is the signature of `body` (constant-time compare).

    No secret or no header is never valid: a channel without its secret must
    refuse everything rather than accept everything."""
    if not secret or not header:
        return False
    provided = header.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(sign(body, secret).encode("ascii"), provided)
