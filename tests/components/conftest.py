"""Fixtures for unit tests of the graph components, the way Rasa's own tests build
them: a `LocalModelStorage` in a temporary folder and an `ExecutionContext`, plus
the project's domain (domain/). Helpers to create components: graph_helpers.py.
Also the project's spaCy pipeline and the rule-based red-flag detector on it, shared
by the red-flag tests (test_red_flag_dev_set.py, test_red_flag_detector.py,
test_red_flag_component.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain

from components.red_flags import RedFlagDetector
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


# ---------------------------------------------------------------- spaCy pipeline, red-flag detector
@pytest.fixture(scope="session")
def spacy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's spaCy pipeline, built by the build script into a temp dir."""
    from scripts.build_spacy_pipeline import build

    return build(tmp_path_factory.mktemp("spacy") / "en_facet")


@pytest.fixture(scope="session")
def nlp(spacy_dir: Path):
    import spacy

    return spacy.load(spacy_dir)


@pytest.fixture(scope="session")
def detector(nlp) -> RedFlagDetector:
    return RedFlagDetector(nlp=nlp)
