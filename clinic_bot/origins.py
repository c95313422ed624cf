"""Which web pages may talk to the assistant from a browser (CORS), in one place.

Only the widget's socket.io endpoint answers cross-origin; the HTTP API, REST
and WhatsApp routes never do. The allowed origins are `WIDGET_ORIGINS` when set,
otherwise the clinic's own site from the clinic profile (`clinic.website`, else
the origin of `clinic.booking_url`), plus the local demo page that `make run`
serves (the launcher passes it in).
"""

from __future__ import annotations

from typing import List, Optional
from urllib.parse import urlsplit

from clinic_bot.profile import cached_profile
from clinic_bot.settings import load_settings


def origin_of(url: str) -> Optional[str]:
    """`scheme://host[:port]` of an absolute http(s) URL, else None."""
    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def clinic_site_origin() -> Optional[str]:
    clinic = cached_profile().clinic
    return origin_of(str(clinic.get("website") or clinic.get("booking_url") or ""))


def default_widget_origins(local_demo_url: Optional[str] = None) -> List[str]:
    """The clinic's site and (for `make run`) the local demo page."""
    found = [clinic_site_origin(), origin_of(local_demo_url or "")]
    return [o for i, o in enumerate(found) if o and o not in found[:i]]


def allowed_widget_origins() -> List[str]:
    """What the socket.io channel accepts; never a wildcard unless set explicitly."""
    configured = [o for o in load_settings().widget_origins if o]
    return configured or default_widget_origins()
