"""CSRF tokens: an HMAC of the session token (standard library only).

Every form carries `csrf_token`; every state-changing request without a valid
one is refused with 403 before its handler runs. Logged-in forms use a token
bound to the session; the login form uses one bound to a short-lived signed
pre-login cookie, so a login cannot be forged from another site either.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_token(secret_key: str, bound_to: str, purpose: str = "session") -> str:
    return hmac.new(secret_key.encode(), f"csrf:{purpose}:{bound_to}".encode(), hashlib.sha256).hexdigest()


def check_token(secret_key: str, bound_to: Optional[str], provided: Optional[str], purpose: str = "session") -> bool:
    if not bound_to or not provided or len(provided) != 64:
        return False
    return hmac.compare_digest(make_token(secret_key, bound_to, purpose), provided)
