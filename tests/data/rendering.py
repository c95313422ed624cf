"""The answers as patients read them, for each locale of the clinic profile.

Answers are templates: Rasa fills their {slots} from domain/locale.yml, which
is generated from the profile. These helpers fill them the same way for any
locale, so tests can check the UK and the US wording alike.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, Tuple

import yaml

from clinic_bot.content import answer_slots, fill
from clinic_bot.profile import ClinicProfile, parse_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "config" / "clinic_profile.yml"
LOCALES = tuple(yaml.safe_load(PROFILE.read_text(encoding="utf-8"))["locales"])


@lru_cache(maxsize=None)
def profile_for(locale: str) -> ClinicProfile:
    raw = copy.deepcopy(yaml.safe_load(PROFILE.read_text(encoding="utf-8")))
    raw["locale"] = locale
    return parse_profile(raw, source=f"{PROFILE} ({locale})")


@lru_cache(maxsize=None)
def values_for(locale: str) -> Dict[str, str]:
    return answer_slots(profile_for(locale))


@lru_cache(maxsize=1)
def faq() -> Dict[str, dict]:
    """utter_faq/<topic> -> its (only) variant, as written in domain/faq.yml."""
    responses = yaml.safe_load((ROOT / "domain" / "faq.yml").read_text(encoding="utf-8"))["responses"]
    return {name.split("/", 1)[1]: variants[0] for name, variants in responses.items()}


def rendered(topic: str, locale: str) -> Tuple[str, str]:
    """(answer, more) of a topic as a patient in `locale` reads them."""
    response = faq()[topic]
    return fill(response["text"], values_for(locale)), fill(response["metadata"]["more"], values_for(locale))


def all_rendered(locale: str) -> Iterator[Tuple[str, str, str]]:
    """(topic, part, text) for every answer and 'more' text."""
    for topic in faq():
        text, more = rendered(topic, locale)
        yield topic, "text", text
        yield topic, "more", more
