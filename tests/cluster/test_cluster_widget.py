"""The website widget across servers: a staff reply reaches the patient's socket whichever
Rasa server holds it (python-socketio's Redis manager), and nginx keeps a socket.io
session on one server (long-polling breaks otherwise)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import socketio

from clinic_bot.origins import default_widget_origins
from clinic_bot.rasa_api import RasaApi
from tests.cluster.helpers import tracker, user_texts, wait_until

STAFF_TEXT = "Hello, this is Kim from the clinic. I have read your messages."


class WidgetClient:
    """A socket.io client speaking the widget's protocol (widget/rasa_channel.py)."""

    def __init__(self, url: str, origin: str, transports: list) -> None:
        self.url, self.origin, self.transports = url, origin, transports
        self.sio = socketio.AsyncClient(reconnection=False)
        self.messages: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue()
        self.session_id = ""
        self._confirmed: "asyncio.Queue[str]" = asyncio.Queue()
        self.sio.on("bot_uttered", self.messages.put_nowait)
        self.sio.on("session_confirm", self._confirmed.put_nowait)

    async def open(self) -> "WidgetClient":
        await self.sio.connect(self.url, headers={"Origin": self.origin}, transports=self.transports, wait_timeout=30)
        await self.sio.emit("session_request", {"session_id": None})
        self.session_id = await asyncio.wait_for(self._confirmed.get(), 30)
        return self

    async def say(self, text: str) -> Dict[str, Any]:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})
        return await self.next_message()

    async def next_message(self, timeout: float = 90) -> Dict[str, Any]:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def wait_for_text(self, text: str, timeout: float = 30) -> Dict[str, Any]:
        async def _find() -> Dict[str, Any]:
            while True:
                message = await self.messages.get()
                if message.get("text") == text:
                    return message

        return await asyncio.wait_for(_find(), timeout)

    async def close(self) -> None:
        await self.sio.disconnect()


def origin(cluster) -> str:
    return default_widget_origins(cluster.widget_url)[0]


def test_staff_reply_reaches_a_socket_held_by_the_other_server(cluster) -> None:
    one, two = cluster.server_urls

    async def scenario() -> Dict[str, Any]:
        patient = await WidgetClient(one, origin(cluster), ["polling"]).open()
        try:
            assert (await patient.say("is facet joint pain the same as arthritis?")).get("text")
            # staff reply to what they have read: the turn is saved (after its answer was emitted)
            await asyncio.to_thread(wait_until, lambda: user_texts(tracker(cluster, patient.session_id, two)["events"]), 30, "the saved turn")
            # the console posts staff replies through Rasa's API; here it lands on server 2
            await RasaApi(two, cluster.token, timeout_s=30).staff_reply(patient.session_id, STAFF_TEXT, "Kim")
            return await patient.wait_for_text(STAFF_TEXT)
        finally:
            await patient.close()

    message = asyncio.run(scenario())
    assert message["metadata"]["staff_reply"] is True


def test_long_polling_session_through_nginx_stays_on_one_server(cluster) -> None:
    """Without sticky sessions, every other polling request would reach a server that does
    not know the session (HTTP 400) and the widget would fail; nginx hashes the address."""

    async def scenario() -> list:
        patient = await WidgetClient(cluster.rasa_url, origin(cluster), ["polling"]).open()
        try:
            answers = []
            for text in ("hello", "what is a facet joint?", "should i rest?"):
                answers.append((await patient.say(text)).get("text"))
                while not patient.messages.empty():  # the rest of a multi-message answer
                    patient.messages.get_nowait()
            await asyncio.to_thread(wait_until, lambda: len(user_texts(tracker(cluster, patient.session_id)["events"])) >= 3, 30, "the saved turns")
            await RasaApi(cluster.rasa_url, cluster.token, timeout_s=30).staff_reply(patient.session_id, STAFF_TEXT, "Kim")
            answers.append((await patient.wait_for_text(STAFF_TEXT)).get("text"))
            return answers
        finally:
            await patient.close()

    answers = asyncio.run(scenario())
    assert all(answers) and answers[-1] == STAFF_TEXT, answers
