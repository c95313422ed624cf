"""Building graph components for unit tests the way Rasa's graph does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Type

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def project_config(component: Type[Any]) -> Dict[str, Any]:
    """The component's entry in config.yml (pipeline or policies), without `name`."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    wanted = f"{component.__module__}.{component.__name__}"
    for entry in (config.get("pipeline") or []) + (config.get("policies") or []):
        if entry.get("name") == wanted:
            return {k: v for k, v in entry.items() if k != "name"}
    raise LookupError(f"{wanted} is not in config.yml")


def create_component(
    component: Type[GraphComponent],
    config: Dict[str, Any],
    model_storage: ModelStorage,
    execution_context: ExecutionContext,
) -> Any:
    """`component.create` with its defaults overlaid by `config`, as Rasa's graph does."""
    return component.create({**component.get_default_config(), **config}, model_storage, Resource(component.__name__), execution_context)
