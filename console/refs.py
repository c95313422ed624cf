"""Opaque conversation references for URLs.

Sender ids can be phone numbers (WhatsApp), so they never appear in URLs,
browser history, access logs or Referer headers. A reference is a keyed hash
(HMAC-SHA256 with CONSOLE_SECRET_KEY) of the sender id; the conversations
repository resolves it back by looking the id up among the stored ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

REF_RE = re.compile(r"^[0-9a-f]{32}$")


def conversation_ref(secret_key: str, sender_id: str) -> str:
    return hmac.new(secret_key.encode(), f"conversation:{sender_id}".encode(), hashlib.sha256).hexdigest()[:32]


def erased_pseudonym(secret_key: str, sender_id: str) -> str:
    """What the audit log keeps for an erased conversation instead of its sender id.

    Keyed, so a phone number cannot be recovered by hashing every number; with
    no key configured (CLI without CONSOLE_SECRET_KEY) it is simply random.
    """
    if not secret_key:
        return f"erased:{secrets.token_hex(8)}"
    digest = hmac.new(secret_key.encode(), f"erased:{sender_id}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"erased:{digest}"
