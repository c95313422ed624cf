"""A recording HTTP server on loopback, standing in for outside services.

It plays the staff notification webhook and the WhatsApp Graph API in tests:
every request is recorded, and a test can script failures per path prefix.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class Recorded:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Script:
    """Responses for a path prefix: a queue of (status, body, delay_s) then the default."""

    queue: List[Tuple[int, Any, float]] = field(default_factory=list)
    default: Tuple[int, Any, float] = (200, {"ok": True}, 0.0)


class RecordingServer:
    def __init__(self) -> None:
        self.requests: List[Recorded] = []
        self.scripts: Dict[str, Script] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, delay = outer._next(self.path)
                with outer._lock:
                    outer.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                if delay:
                    time.sleep(delay)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "RecordingServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()

    def script(self, prefix: str, *responses: Tuple[int, Any, float], default: Optional[Tuple[int, Any, float]] = None) -> None:
        with self._lock:
            self.scripts[prefix] = Script(list(responses), default or Script().default)

    def _next(self, path: str) -> Tuple[int, Any, float]:
        with self._lock:
            for prefix in sorted(self.scripts, key=len, reverse=True):
                if path.startswith(prefix):
                    s = self.scripts[prefix]
                    return s.queue.pop(0) if s.queue else s.default
        return Script().default

    def matching(self, prefix: str) -> List[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def wait_for(self, prefix: str, count: int = 1, timeout_s: float = 15.0) -> List[Recorded]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.matching(prefix)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} request(s) to {prefix}, got {len(self.matching(prefix))}")
