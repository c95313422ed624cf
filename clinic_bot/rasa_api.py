"""Client for the Rasa server's HTTP API, used by staff tools to act on handoffs.

Staff replies are appended as bot events delivered on the channel that owns
the conversation (the channel of its first message: socket.io, WhatsApp), not
`output_channel=latest`, which a message from another channel could redirect.
Resuming clears the `handoff_active` slot that pauses the bot.

The API is authenticated with a short-lived JWT in the Authorization header,
signed with `RASA_JWT_SECRET` (a token in the URL would land in logs and
proxies). `python -m clinic_bot.rasa_api token` prints one for curl.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Iterable, List, Optional
from urllib.parse import quote

import aiohttp
import jwt

from clinic_bot import names
from clinic_bot.settings import load_settings

RESUME_TEXT = "You're chatting with the clinic's automated assistant again. Ask me anything about facet joint pain."


JWT_TTL_S = 300


class RasaApiError(RuntimeError):
    """The Rasa server refused or failed a request."""


def admin_jwt(secret: str, ttl_s: int = JWT_TTL_S) -> str:
    """A token Rasa's API accepts as an admin's (rasa/server.py `requires_auth`)."""
    now = int(time.time())
    return jwt.encode({"user": {"username": "clinic-staff-tools", "role": "admin"}, "iat": now, "exp": now + ttl_s}, secret, algorithm="HS256")


def auth_headers(secret: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {admin_jwt(secret)}"} if secret else {}


def owning_channel(events: Iterable[Any]) -> Optional[str]:
    """The input channel of a conversation's first message: the channel that owns it.

    Takes events as the HTTP API returns them (dicts) or as Rasa's tracker holds them."""
    for event in events:
        if isinstance(event, dict):
            kind, channel = event.get("event"), event.get("input_channel")
        else:
            kind, channel = getattr(event, "type_name", None), getattr(event, "input_channel", None)
        if kind == "user" and channel:
            return str(channel)
    return None


class RasaApi:
    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None, timeout_s: float = 10.0) -> None:
        settings = load_settings()
        self.base_url = (base_url or settings.rasa_url).rstrip("/")
        self.token = settings.rasa_jwt_secret if token is None else token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _url(self, conversation_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{suffix}"

    def _params(self, **extra: str) -> Dict[str, str]:
        return dict(extra)

    async def _request(self, method: str, url: str, params: Dict[str, str], json_body: Any = None) -> Any:
        async with aiohttp.ClientSession(timeout=self.timeout, headers=auth_headers(self.token)) as session:
            async with session.request(method, url, params=params, json=json_body) as resp:
                if resp.status >= 400:
                    raise RasaApiError(f"Rasa answered HTTP {resp.status}: {(await resp.text())[:300]}")
                return await resp.json()

    async def append_events(self, conversation_id: str, events: List[Dict[str, Any]], deliver: bool = True) -> Dict[str, Any]:
        params = self._params(include_events="NONE")
        if deliver:
            channel = owning_channel((await self.tracker(conversation_id)).get("events") or [])
            if channel is None:
                raise RasaApiError(f"conversation {conversation_id!r} has no message from a channel to answer on")
            params.update(output_channel=channel, execute_side_effects="true")
        return await self._request("POST", self._url(conversation_id, "tracker/events"), params, events)

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        return await self._request("GET", self._url(conversation_id, "tracker"), self._params(include_events="ALL"))

    async def staff_reply(self, conversation_id: str, text: str, staff_name: str) -> Dict[str, Any]:
        """Send a staff member's message to the person on their channel."""
        event = {"event": "bot", "text": text, "metadata": {"staff_reply": True, "staff": staff_name}}
        return await self.append_events(conversation_id, [event])

    async def resume_bot(self, conversation_id: str, staff_name: str) -> Dict[str, Any]:
        """Hand the conversation back to the assistant."""
        events: List[Dict[str, Any]] = [
            {"event": "slot", "name": names.SLOT_HANDOFF, "value": False},
            {"event": "bot", "text": RESUME_TEXT, "metadata": {"handoff_resumed_by": staff_name}},
        ]
        return await self.append_events(conversation_id, events)


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m clinic_bot.rasa_api token`: a 5-minute admin JWT for curl."""
    args = sys.argv[1:] if argv is None else argv
    settings = load_settings()
    secret = settings.rasa_jwt_secret
    kept = settings.var_dir / "secrets" / "rasa_jwt_secret"
    if not secret and kept.is_file():
        secret = kept.read_text().strip()
    if args != ["token"] or not secret:
        print("usage: RASA_JWT_SECRET=... python -m clinic_bot.rasa_api token   (make run keeps it in var/secrets/rasa_jwt_secret)", file=sys.stderr)
        return 2
    print(admin_jwt(secret))
    return 0


if __name__ == "__main__":
    sys.exit(main())
