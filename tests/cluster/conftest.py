"""Fixtures for the scale-out tests: they need PostgreSQL, Redis and RabbitMQ on this
machine (CI's has them). Where one is missing every test here is skipped, with the
reason, rather than failed; `make test` runs them where they are."""

from __future__ import annotations

from typing import Iterator

import pytest

from clinic_bot.services import ScaleOutServices

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
