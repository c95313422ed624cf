"""Fixtures for unit tests of the graph components, the way Rasa's own tests build
them: a `LocalModelStorage` in a temporary folder and an `ExecutionContext`, plus
the project's domain (domain/). Helpers to create components: graph_helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain

from tests.components.graph_helpers import PROJECT_ROOT


@pytest.fixture
def model_storage(tmp_path: Path) -> ModelStorage:
    return LocalModelStorage.create(tmp_path / "model_storage")


@pytest.fixture
def execution_context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="unit_test")


@pytest.fixture(scope="session")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain"))
