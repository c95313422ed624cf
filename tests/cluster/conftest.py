"""Fixtures for the scale-out tests: they need PostgreSQL, Redis and RabbitMQ on this
machine (CI's has them). Where one is missing every test here is skipped, with the
reason, rather than failed; `make test` runs them where they are."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Iterator

import pytest

from clinic_bot.cluster import ClusterStack, nginx_binary
from clinic_bot.launcher import DEFAULT_MODEL
from clinic_bot.services import ScaleOutServices
from tests.channels import whatsapp_helpers as wa
from tests.cluster.helpers import REST_TOKEN, delete_queue
from tests.conftest import GRAPH_PATH, PROJECT_ROOT, STAFF_HOOK_PATH, TEST_SECRETS
from tests.fakes import RecordingServer

SERVICES = ScaleOutServices.from_env()
MISSING = SERVICES.missing()


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if MISSING is None:
        return
    skip = pytest.mark.skip(reason=f"scale-out services absent: {MISSING}")
    for item in items:
        if "tests/cluster/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def services() -> ScaleOutServices:
    return SERVICES


@pytest.fixture
def pg_url(services: ScaleOutServices) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    url = services.create_database("clinic_test")
    yield url
    services.drop_database(url)


@pytest.fixture(scope="session")
def cluster(services: ScaleOutServices, recorder: RecordingServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStack]:
    """`make cluster`'s stack, for real: 2 Rasa servers behind nginx, on a fresh PostgreSQL
    database, Redis locks and socket.io messages, a RabbitMQ queue of this session's own;
    the recorder stands in for the staff webhook and the WhatsApp Graph API."""
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (scripts/ensure_nginx.sh installs it as root)")
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"no trained model at {DEFAULT_MODEL}: run `make test`, which trains it")
    run_id = uuid.uuid4().hex[:10]
    scale_out = dataclasses.replace(services, rabbitmq_queue=f"clinic_test_events_{run_id}")
    stack = ClusterStack(
        var_dir=tmp_path_factory.mktemp("cluster-var"),
        servers=2,
        public_port=0,
        rasa_port=0,
        action_port=0,
        console_port=0,
        widget_port=0,
        database=f"clinic_cluster_{run_id}",
        scale_out=scale_out,
        extra_env={
            "STAFF_WEBHOOK_URL": recorder.url + STAFF_HOOK_PATH,
            "STAFF_WEBHOOK_TIMEOUT": "2",
            "STAFF_WEBHOOK_RETRIES": "3",
            "RECONCILE_EVERY_S": "1",
            "REST_CHANNEL": "token",
            "REST_CHANNEL_TOKEN": REST_TOKEN,
            "WHATSAPP_APP_SECRET": wa.SECRET,
            "WHATSAPP_VERIFY_TOKEN": wa.VERIFY,
            "WHATSAPP_ACCESS_TOKEN": wa.TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": wa.PNID,
            "WHATSAPP_GRAPH_URL": recorder.url + GRAPH_PATH,
            "CONSOLE_SECRET_KEY": TEST_SECRETS["CONSOLE_SECRET_KEY"],
        },
        log_dir=PROJECT_ROOT / "tests" / "artifacts" / "logs" / "cluster",
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        services.drop_database(stack.db_url)
        delete_queue(scale_out)
