"""The action server: rasa-sdk's app, bound to loopback and callable only by Rasa.

    python -m actions.server --port 5055

Why not `rasa run actions`: rasa-sdk 3.6 binds 0.0.0.0 (rasa_sdk/endpoint.py
`run`, host from SANIC_HOST only), allows every CORS origin, accepts any caller
on `/webhook` (a forged POST could open an emergency ticket and alert staff
without going through Rasa), and its error handler echoes the request body,
i.e. the patient's conversation, in a 500 answer. This entry point keeps
rasa-sdk's `create_app` and its routes and changes only that:

* it listens on `ACTION_HOST` (default 127.0.0.1);
* every route but `/health` and `/metrics` (clinic_bot/metrics.py: loopback
  or METRICS_TOKEN only) needs the shared secret Rasa sends in the
  `X-Action-Secret` header (`action_endpoint.headers` in endpoints.yml); a
  missing or wrong secret answers 401 before any action code runs;
* no CORS headers (only Rasa calls it, never a browser);
* errors answer `{"error": "internal error"}` and log no request body.
"""

from __future__ import annotations

import argparse
import hmac
import logging
from typing import Optional

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_bot import metrics
from clinic_bot.settings import load_settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Action-Secret"
OPEN_PATHS = frozenset({"/health", "/metrics"})


def secret_matches(provided: Optional[str], expected: str) -> bool:
    """Constant-time check; an empty expected secret never matches (fail closed)."""
    return bool(expected) and provided is not None and hmac.compare_digest(provided.encode(), expected.encode())


def build_app(secret: str, package: str = "actions") -> Sanic:
    """rasa-sdk's app for `package`, with the secret check and a quiet error handler."""
    if not secret:
        raise ValueError("ACTION_SERVER_SECRET is empty: the action server refuses to start without it")
    app = create_app(package, cors_origins=None)
    metrics.add_route(app)

    @app.on_request
    async def require_secret(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return response.json({"error": "unauthorised: this server answers only the assistant's Rasa server"}, status=401)
        return None

    async def internal_error(request: Request, exception: Exception) -> HTTPResponse:
        logger.error("action server error on %s: %s", request.path, type(exception).__name__)
        return response.json({"error": "internal error"}, status=500)

    app.error_handler.add(Exception, internal_error)
    return app


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    settings = load_settings()
    app = build_app(settings.action_server_secret)
    logger.info("action server on http://%s:%d", settings.action_host, args.port)
    app.run(settings.action_host, args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
