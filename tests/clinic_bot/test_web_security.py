"""Widget session ids, allowed origins, REST access rules, the HTTP API's JWT."""

from __future__ import annotations

from types import SimpleNamespace

import jwt
import pytest

from channels import rest_validated as rest
from clinic_bot.origins import default_widget_origins, origin_of
from clinic_bot.rasa_api import admin_jwt, owning_channel
from widget import session_ids

SECRET = b"widget-secret"


def test_session_ids_are_signed_and_unforgeable() -> None:
    sid = session_ids.issue(SECRET)
    assert session_ids.is_valid(sid, SECRET)
    nonce, sig = sid.split(".")
    assert not session_ids.is_valid(f"{nonce}.{'0' * 32}", SECRET)
    assert not session_ids.is_valid(nonce, SECRET)  # the old unsigned format
    assert not session_ids.is_valid(sid, b"another server's secret")
    assert not session_ids.is_valid({"session_id": sid}, SECRET)


def test_origins_default_to_the_clinic_site_and_the_local_demo() -> None:
    assert origin_of("https://Riverside-Physio.example/book?x=1") == "https://riverside-physio.example"
    assert origin_of("javascript:alert(1)") is None
    origins = default_widget_origins("http://127.0.0.1:8080/")
    assert origins == ["https://riverside-physio.example", "http://127.0.0.1:8080"]
    assert "*" not in origins


def request(ip: str = "127.0.0.1", **headers: str) -> SimpleNamespace:
    return SimpleNamespace(ip=ip, headers={k.lower(): v for k, v in headers.items()})


def test_rest_local_mode_refuses_remote_and_proxied_callers() -> None:
    assert rest.access_refusal(request(), "local", "") is None
    assert rest.access_refusal(request("::1"), "local", "") is None
    assert rest.access_refusal(request("203.0.113.9"), "local", "").status == 403
    assert rest.access_refusal(request(**{"X-Forwarded-For": "203.0.113.9"}), "local", "").status == 403


def test_rest_token_and_off_modes() -> None:
    assert rest.access_refusal(request("203.0.113.9", Authorization="Bearer s3cret"), "token", "s3cret") is None
    assert rest.access_refusal(request("203.0.113.9", Authorization="Bearer nope"), "token", "s3cret").status == 401
    assert rest.access_refusal(request("127.0.0.1"), "token", "").status == 401  # no token configured: closed
    assert rest.access_refusal(request(), "off", "").status == 404


@pytest.mark.parametrize(
    "sender", ["447700900123", "+44 7700 900123", "whatsapp:+15551234567", "0123456789abcdef0123456789abcdef", session_ids.issue(SECRET)]
)
def test_rest_refuses_other_channels_sender_ids(sender: str) -> None:
    assert rest.OTHER_CHANNEL_SENDER.search(sender)


def test_owner_is_the_first_messages_channel() -> None:
    events = [{"event": "action"}, {"event": "user", "input_channel": "socketio"}, {"event": "user", "input_channel": "rest"}]
    assert owning_channel(events) == "socketio"
    assert owning_channel([]) is None


def test_admin_jwt_is_short_lived_and_admin() -> None:
    claims = jwt.decode(admin_jwt("k"), "k", algorithms=["HS256"])
    assert claims["user"]["role"] == "admin" and 0 < claims["exp"] - claims["iat"] <= 300


def test_remote_addresses_are_rate_limited_local_callers_are_not() -> None:
    from clinic_bot.rate_limit import Rate, RateLimiter

    limiter = RateLimiter(Rate.parse("2/60"))
    remote = request("203.0.113.9")
    assert rest.rate_refusal(remote, limiter) is None and rest.rate_refusal(remote, limiter) is None
    refused = rest.rate_refusal(remote, limiter)
    assert refused.status == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert all(rest.rate_refusal(request(), limiter) is None for _ in range(10))  # this machine
