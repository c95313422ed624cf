"""The demo clinic website with the chat widget embedded, and the widget's files.

    python -m widget.serve --host 127.0.0.1 --port 8080 --rasa-url http://127.0.0.1:5005

Routes:
  /            a demo page standing in for the clinic's own website (name, address,
               hours and phone from the clinic profile), with the widget embedded
               and pointing at --rasa-url
  /widget/*    the widget's static files (widget.js, widget.css, vendor/...): what a
               clinic's real website loads, from this server or any static host
  /health      liveness

Every response carries security headers; the page's Content-Security-Policy
allows scripts and styles from this server only and connections to this server
and the Rasa server (http(s) and ws(s)).
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path
from string import Template
from typing import Dict, List, Optional
from urllib.parse import urlsplit

from sanic import Sanic, response
from sanic.request import Request

from clinic_bot.profile import ClinicProfile, load_profile
from clinic_bot.settings import load_settings

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
DEMO_DIR = HERE / "demo"

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def static_files() -> Dict[str, Path]:
    """URL path (relative to /widget/) -> file, for every file under static/."""
    return {p.relative_to(STATIC_DIR).as_posix(): p for p in sorted(STATIC_DIR.rglob("*")) if p.is_file()}


def content_type_for(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix, "text/plain; charset=utf-8")


def rasa_origins(rasa_url: str) -> List[str]:
    """The Rasa server as CSP sources: its http(s) origin and the matching ws(s) one."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--rasa-url must be an http(s) URL, got {rasa_url!r}")
    ws = "wss" if parts.scheme == "https" else "ws"
    return [f"{parts.scheme}://{parts.netloc}", f"{ws}://{parts.netloc}"]


def page_csp(rasa_url: str) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self' " + " ".join(rasa_origins(rasa_url)),
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def render_demo_page(profile: ClinicProfile, rasa_url: str) -> str:
    clinic = profile.clinic
    esc = lambda value: html.escape(str(value), quote=True)  # noqa: E731
    emergency = profile.locale.emergency_number
    phone = str(clinic["phone"])
    short_name = clinic.get("short_name") or profile.name
    hours = "\n".join(f"        <li>{esc(line)}</li>" for line in profile.opening_hours_lines())
    template = Template((DEMO_DIR / "index.html").read_text(encoding="utf-8"))
    return template.substitute(
        clinic_name=esc(profile.name),
        address=esc(clinic["address"]),
        directions=esc(clinic.get("directions", "")),
        hours_items=hours,
        phone=esc(phone),
        phone_tel=esc("".join(ch for ch in phone if ch.isdigit() or ch == "+")),
        email=esc(clinic["email"]),
        emergency_number=esc(emergency),
        rasa_url=esc(rasa_url.rstrip("/")),
        widget_title=esc(f"{short_name} assistant"),
        notice=esc(f"General information only, not a diagnosis. In an emergency, call {emergency}."),
        offline_text=esc(f"If you need urgent medical help, call {emergency}. To reach the clinic, phone {phone}."),
    )


def build_app(rasa_url: str, profile: Optional[ClinicProfile] = None, name: str = "clinic_widget_demo") -> Sanic:
    profile = profile or load_profile()
    page = render_demo_page(profile, rasa_url)
    csp = page_csp(rasa_url)
    demo_css = (DEMO_DIR / "demo.css").read_bytes()

    app = Sanic(name)
    app.config.MOTD = False
    app.config.ACCESS_LOG = False

    files = static_files()

    @app.get("/widget/<path:path>")
    async def widget_file(_: Request, path: str) -> response.HTTPResponse:
        # only files that exist under static/ at start-up: no directory
        # listings, no path tricks
        found = files.get(path)
        if found is None:
            return response.text("not found", status=404)
        return await response.file(found, mime_type=content_type_for(found))

    @app.get("/")
    async def index(_: Request) -> response.HTTPResponse:
        return response.html(page, headers={"Content-Security-Policy": csp, "X-Frame-Options": "DENY", "Cache-Control": "no-cache"})

    @app.get("/demo.css")
    async def demo_stylesheet(_: Request) -> response.HTTPResponse:
        return response.raw(demo_css, content_type="text/css; charset=utf-8")

    @app.get("/health")
    async def health(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/favicon.ico")
    async def favicon(_: Request) -> response.HTTPResponse:
        return response.empty(status=204)

    @app.on_response
    async def security_headers(request: Request, resp: response.HTTPResponse) -> None:
        headers: Dict[str, str] = dict(COMMON_HEADERS)
        if request.path.startswith("/widget/"):
            # clinics load these files from their own pages, i.e. cross-origin
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            headers["Cache-Control"] = "public, max-age=300"
        else:
            headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        for key, value in headers.items():
            if key not in resp.headers:
                resp.headers[key] = value

    return app


def main(argv: Optional[List[str]] = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description="Serve the demo clinic website with the chat widget")
    parser.add_argument("--host", default=settings.widget_host)
    parser.add_argument("--port", type=int, default=settings.widget_port)
    parser.add_argument(
        "--rasa-url",
        default=settings.rasa_url,
        help="the Rasa server as the visitor's browser reaches it",
    )
    args = parser.parse_args(argv)
    try:
        rasa_origins(args.rasa_url)
    except ValueError as exc:
        parser.error(str(exc))
    app = build_app(args.rasa_url)
    app.run(host=args.host, port=args.port, access_log=False, debug=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
