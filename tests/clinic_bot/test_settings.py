"""Settings live in one place (issue 13.5): clinic_bot/settings.py's VARIABLES, and
.env.example generated from them."""

from __future__ import annotations

import re
from pathlib import Path

from clinic_bot import settings

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for d in ("actions", "channels", "clinic_bot", "components", "console", "widget") for p in (ROOT / d).rglob("*.py")]
READ = re.compile(r"""(?:environ\.get|getenv|environ\[|settings_env|\benv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
# variables the project sets for libraries (never settings of its own)
FOR_LIBRARIES = {
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "TF_CPP_MIN_LOG_LEVEL",
    "SQLALCHEMY_SILENCE_UBER_WARNING",
    "SANIC_REQUEST_MAX_SIZE",
    "PYTHONPATH",
}


def test_env_example_is_generated_from_the_one_list() -> None:
    assert (ROOT / ".env.example").read_text() == settings.env_example(), "regenerate: python -m clinic_bot.settings --example > .env.example"


def test_every_variable_read_anywhere_is_in_the_list() -> None:
    names = {v.name for v in settings.VARIABLES}
    read = {(p.relative_to(ROOT).as_posix(), m) for p in CODE for m in READ.findall(p.read_text())}
    unknown = sorted((path, name) for path, name in read if name not in names | FOR_LIBRARIES)
    assert not unknown, f"read from the environment but missing from clinic_bot/settings.py VARIABLES: {unknown}"


def test_only_the_settings_module_reads_the_environment_directly() -> None:
    allowed = {
        "clinic_bot/settings.py",
        "clinic_bot/launcher.py",  # copies the environment into its children's
        "console/config.py",  # expands ${VAR} in endpoints.yml as Rasa does
    }
    readers = {p.relative_to(ROOT).as_posix() for p in CODE if re.search(r"os\.environ\.get|os\.getenv", p.read_text())}
    assert readers <= allowed, readers - allowed


def test_defaults_and_blank_values(monkeypatch) -> None:
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "  ")
    monkeypatch.delenv("RATE_PER_SENDER", raising=False)
    s = settings.load_settings()
    assert s.max_message_chars == 3000 and s.rate_per_sender == "20/60"
    assert s.var_dir.is_absolute() and s.profile_path.name == "clinic_profile.yml"
