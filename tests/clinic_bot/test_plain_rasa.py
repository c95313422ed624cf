"""Plain Rasa works from the project folder (issue 13.8): what endpoints.yml reads comes
from var/rasa.env (`make rasa-env`), the domain is the `domain/` folder, and the
config's spaCy pipeline is the one `make spacy` builds."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from clinic_bot.launcher import PROJECT_ROOT, Stack
from clinic_bot.services import ScaleOutServices


def read_env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = shlex.split(value)[0] if value else ""
    return out


def test_rasa_env_sets_every_variable_the_endpoints_read(tmp_path, monkeypatch) -> None:
    env = read_env_file(Stack(var_dir=tmp_path / "var").write_rasa_env())
    for name in ("endpoints.yml", "endpoints.production.yml"):
        wanted = set(re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / name).read_text()))
        missing = wanted - set(env) - set(ScaleOutServices.from_env().as_env())  # make cluster sets these (clinic_bot/cluster.py)
        assert not missing, f"{name} reads {missing}, which var/rasa.env does not set"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from rasa.core.utils import read_endpoints_from_path

    endpoints = read_endpoints_from_path(PROJECT_ROOT / "endpoints.yml")
    assert endpoints.action.url == env["ACTION_SERVER_URL"]
    assert endpoints.action.headers["X-Action-Secret"] == env["ACTION_SERVER_SECRET"]
    assert endpoints.tracker_store.kwargs["db"] == env["RASA_TRACKER_DB"]
    assert (tmp_path / "var" / "rasa.env").stat().st_mode & 0o077 == 0  # it holds secrets


def test_the_readme_names_the_steps_of_plain_rasa() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for step in ("make rasa-env", "make spacy", "--domain domain", "python -m actions.server", "set -a; . var/rasa.env; set +a"):
        assert step in readme, step


def test_the_config_uses_the_pipeline_make_spacy_builds() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text())
    spacy_nlp = next(c for c in config["pipeline"] if c["name"] == "SpacyNLP")
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert f"SPACY_DIR := {spacy_nlp['model']}" in makefile
