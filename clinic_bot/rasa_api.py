"""Client for the Rasa server's HTTP API, used by staff tools to act on handoffs.

Staff replies are appended as bot events with `output_channel=latest`, which
makes Rasa deliver them on the channel the person last wrote from (socket.io,
WhatsApp). Resuming clears the `handoff_active` slot that pauses the bot.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from clinic_bot.settings import load_settings

RESUME_TEXT = "You're chatting with the clinic's automated assistant again. Ask me anything about facet joint pain."


class RasaApiError(RuntimeError):
    """The Rasa server refused or failed a request."""


class RasaApi:
    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None, timeout_s: float = 10.0) -> None:
        settings = load_settings()
        self.base_url = (base_url or settings.rasa_url).rstrip("/")
        self.token = settings.rasa_token if token is None else token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    def _url(self, conversation_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{suffix}"

    def _params(self, **extra: str) -> Dict[str, str]:
        params = dict(extra)
        if self.token:
            params["token"] = self.token
        return params

    async def _request(self, method: str, url: str, params: Dict[str, str], json_body: Any = None) -> Any:
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            async with session.request(method, url, params=params, json=json_body) as resp:
                if resp.status >= 400:
                    raise RasaApiError(f"Rasa answered HTTP {resp.status}: {(await resp.text())[:300]}")
                return await resp.json()

    async def append_events(self, conversation_id: str, events: List[Dict[str, Any]], deliver: bool = True) -> Dict[str, Any]:
        params = self._params(include_events="NONE")
        if deliver:
            params.update(output_channel="latest", execute_side_effects="true")
        return await self._request("POST", self._url(conversation_id, "tracker/events"), params, events)

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        return await self._request("GET", self._url(conversation_id, "tracker"), self._params(include_events="ALL"))

    async def staff_reply(self, conversation_id: str, text: str, staff_name: str) -> Dict[str, Any]:
        """Send a staff member's message to the person on their channel."""
        event = {"event": "bot", "text": text, "metadata": {"staff_reply": True, "staff": staff_name}}
        return await self.append_events(conversation_id, [event])

    async def resume_bot(self, conversation_id: str, staff_name: str) -> Dict[str, Any]:
        """Hand the conversation back to the assistant."""
        events = [
            {"event": "slot", "name": "handoff_active", "value": False},
            {"event": "bot", "text": RESUME_TEXT, "metadata": {"handoff_resumed_by": staff_name}},
        ]
        return await self.append_events(conversation_id, events)
