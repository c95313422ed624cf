"""Channel contract tests write delivery records (clinic_bot/deliveries.py): into a
temporary project database, never the working copy's var/clinic.db. Stack tests keep
the stack's database (the `stack` fixture sets CLINIC_DB_URL)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _temporary_project_db(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("stack") is None:
        monkeypatch.setenv("CLINIC_DB_URL", f"sqlite:///{tmp_path / 'clinic-default.db'}")
