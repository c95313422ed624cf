"""Bad input on the staff console's login of the running stack: missing CSRF tokens,
garbage and invalid UTF-8 bodies, huge fields, JSON and broken multipart bodies.

The rule every case follows (a clear answer or a 4xx, and the assistant still
answers afterwards): tests/reliability/helpers.py.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from typing import Any, Dict, Optional, Tuple

import pytest

from tests.reliability.helpers import assert_still_answers, dumps

pytestmark = pytest.mark.stack

# ------------------------------------------------------------------------------------------ staff console


def console_running(stack) -> bool:
    return any(s.name == "staff console" and s.proc and s.proc.poll() is None for s in stack.services)


class ConsoleClient:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path: str, data: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def csrf(self) -> str:
        status, body = self.request("/login")
        assert status == 200, status
        m = re.search(rb'name="csrf_token" value="([0-9a-f]{64})"', body)
        assert m, "no csrf_token in the login form"
        return m.group(1).decode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(tok: str, **fields: str) -> bytes:
    return urllib.parse.urlencode({"csrf_token": tok, **fields}).encode()


# At most ~8 of these reach the password check: the console locks an IP out after 20 failures
# (CONSOLE_LOCKOUT_IP_FAILURES) and tests/console/test_browser.py logs in to this same console.
CONSOLE_CASES = {
    "no_csrf": lambda tok: (b"username=admin&password=admin", FORM),
    "garbage_bytes": lambda tok: (b"\x00\x01\x02garbage&&&===%%%", FORM),
    "invalid_utf8_raw": lambda tok: (b"csrf_token=" + tok.encode() + b"&username=\xff\xfe&password=\xc3\x28", FORM),
    "invalid_utf8_percent": lambda tok: (f"csrf_token={tok}&username=%FF%FE&password=%C3%28".encode(), FORM),
    "username_100kb": lambda tok: (_form(tok, username="a" * 100_000, password="x"), FORM),
    "control_chars": lambda tok: (_form(tok, username="\x00\x07\x1b[2J", password="\x00"), FORM),
    "emoji_and_languages": lambda tok: (_form(tok, username="😀 هل 我 żółć", password="🙏"), FORM),
    "json_body": lambda tok: (dumps({"csrf_token": tok, "username": "admin", "password": "x"}), {"Content-Type": "application/json"}),
    "json_list_with_csrf_header": lambda tok: (b"[1, 2, 3]", {"Content-Type": "application/json", "X-CSRF-Token": tok}),
    "broken_multipart": lambda tok: (b"--xx\r\ngarbage", {"Content-Type": "multipart/form-data; boundary=xx"}),
    "empty_body": lambda tok: (b"", FORM),
    "repeated_fields_and_bad_next": lambda tok: (f"csrf_token={tok}&username=a&username=b&password=c&next=//evil.example".encode(), FORM),
    "next_10kb": lambda tok: (_form(tok, username="nobody", password="x", next="/" + "n" * 10_240), FORM),
}


@pytest.mark.parametrize("case", sorted(CONSOLE_CASES))
def test_console_login_garbage(stack, case: str) -> None:
    if not console_running(stack):
        pytest.skip("the staff console is not running in this stack")
    client = ConsoleClient(stack.console_url)
    body, headers = CONSOLE_CASES[case](client.csrf())
    status, page = client.request("/login", body, headers)
    assert status < 500, f"{case}: HTTP {status} {page[:300]!r}"
    assert status in (400, 401, 403, 413, 429), f"{case}: garbage got HTTP {status} (a login must not succeed)"
    assert not any(c.name.endswith("console_session") and c.value for c in client.jar), f"{case}: a session cookie was set"
    assert client.request("/health")[0] == 200
    assert client.request("/login")[0] == 200
    assert_still_answers(stack)
