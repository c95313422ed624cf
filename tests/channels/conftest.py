"""Fixtures of the channel contract tests.

They write delivery records (clinic_bot/deliveries.py) into a temporary project
database, never the working copy's var/clinic.db; stack tests keep the stack's
database (the `stack` fixture sets CLINIC_DB_URL). The WhatsApp contract tests get
the channel's real blueprint on loopback (`harness`) with a fake Graph API (`graph`);
the helpers they use are in tests/channels/whatsapp_helpers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from clinic_bot.db import make_engine
from tests.channels.whatsapp_helpers import PNID, SECRET, TOKEN, VERIFY, Harness
from tests.fakes import RecordingServer


@pytest.fixture(autouse=True)
def _temporary_project_db(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("stack") is None:
        monkeypatch.setenv("CLINIC_DB_URL", f"sqlite:///{tmp_path / 'clinic-default.db'}")


# --------------------------------------------------------------------------- WhatsApp contract tests


@pytest.fixture(scope="module")
def graph_server() -> RecordingServer:
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def graph(graph_server: RecordingServer) -> RecordingServer:
    """The fake Graph API, emptied for each test (one server per module: stopping one takes 0.5 s)."""
    with graph_server._lock:
        graph_server.requests.clear()
        graph_server.scripts.clear()
    return graph_server


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clinic.db'}"


@pytest.fixture
def config(graph: RecordingServer) -> WhatsAppConfig:
    return WhatsAppConfig(
        app_secret=SECRET,
        verify_token=VERIFY,
        access_token=TOKEN,
        phone_number_id=PNID,
        graph_url=graph.url + "/graph",
        timeout_s=1.0,
        max_attempts=3,
        backoff_s=0.01,
    )


@pytest.fixture
async def harness(config: WhatsAppConfig, graph: RecordingServer, db_url: str):
    h = await Harness(WhatsAppInput(config, engine=make_engine(db_url)), graph).start()
    yield h
    await h.stop()
