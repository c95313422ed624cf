"""Shared by the bad-input tests of the running stack (tests/reliability/test_bad_input_*.py)."""

from __future__ import annotations

from tests.reliability.helpers import ROOT

CREDENTIALS = (ROOT / "credentials.yml").read_text()
