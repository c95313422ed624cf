"""The values patient-facing answers are filled with, all from the clinic profile.

Answers (domain/faq.yml) name no phone number or service: they carry {slot}
placeholders that Rasa fills from slots whose initial values domain/locale.yml
sets from the profile (scripts/render_locale_domain.py writes it from here).
The "tell me more" texts and the tests fill the same placeholders with `fill`.
"""

from __future__ import annotations

import re
from typing import Dict, Mapping

from clinic_bot import warning_signs
from clinic_bot.profile import ClinicProfile

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def answer_slots(profile: ClinicProfile) -> Dict[str, str]:
    """Every value an answer or safety message may name: locale numbers, services, warning-sign lists."""
    values = dict(profile.locale_slots())
    values["doctor"] = profile.locale.doctor
    values["crisis_contacts"] = "\n".join(f"• {c}" for c in profile.locale.crisis_contacts)
    values.update(warning_signs.slots(values))
    return values


def fill(text: str, values: Mapping[str, object]) -> str:
    """Replace {name} with its value, as Rasa fills a response; unknown names stay as they are."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if values.get(m.group(1)) is not None else m.group(0), text)
