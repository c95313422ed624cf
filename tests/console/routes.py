"""Every route the console app registers, as concrete (method, path) pairs.

Built from the app's own router, so a route added later is checked
automatically by the "refused without login" tests.
"""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

import console  # noqa: F401
from console.app import create_app
from console.config import ConsoleConfig

# /metrics needs no sign-in: it has its own rule (loopback or METRICS_TOKEN; tests/clinic_bot/test_metrics.py)
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/static/console.css"),
    ("HEAD", "/static/console.css"),
    ("GET", "/metrics"),
}
_PARAM = re.compile(r"<([^:>]+)(?::([^>]+))?>")


def sample_value(name: str, kind: str, ref: str) -> str:
    if name == "__file_uri__":
        return "console.css"
    if kind == "int":
        return "1"
    if name == "ref":
        return ref
    raise AssertionError(f"no sample value for route parameter <{name}:{kind}>: add one in tests/console/routes.py")


def concrete_routes(env: Dict[str, str], ref: str = "0" * 32) -> List[Tuple[str, str, str]]:
    """(method, path, route name) for every method of every route."""
    config = ConsoleConfig(secret_key=env["CONSOLE_SECRET_KEY"], db_url=env["CLINIC_DB_URL"], tracker_db_url=f"sqlite:///{env['RASA_TRACKER_DB']}")
    app = create_app(config)
    out = []
    for route in app.router.routes:
        path = "/" + _PARAM.sub(lambda m: sample_value(m.group(1), m.group(2) or "", ref), route.path)
        for method in sorted(route.methods):
            out.append((method, path, route.name))
    assert len(out) >= 20, out
    return sorted(out)
