"""Clinical content (issue 14): warning signs generated from the one red-flag
table, numbers and services only from the profile's locale, plain English,
buttons where a longer text exists, and honest sources."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from clinic_bot import warning_signs
from clinic_bot.readability import reading_grade, sentences
from clinic_bot.safety import TABLE_FILE, UNSPECIFIED, load_table
from tests.data.rendering import LOCALES, ROOT, all_rendered, faq, rendered, values_for

TABLE = load_table()
WORDING = warning_signs.load_wording()
SIGNED = [c for c in TABLE.category_urgency if c != UNSPECIFIED]
SOURCE_003 = "003_3ae8d69588f61fc0.txt"
MAX_GRADE = 8.0


def bullets(category: str) -> list:
    return [f"• {b}" for b in WORDING.signs[category]]


def lead(urgency: str, locale: str) -> str:
    return WORDING.advice[urgency]["lead"].format_map(values_for(locale))


# ---------------------------------------------------------------- 1. warning signs from the one table


@pytest.mark.parametrize("locale", LOCALES)
def test_each_categorys_signs_sit_under_the_advice_for_its_urgency(locale: str) -> None:
    slots = warning_signs.slots(values_for(locale))
    for category in SIGNED:
        urgency = TABLE.urgency_of(category)
        block = slots[f"warning_signs_{urgency}"]
        assert block.startswith(lead(urgency, locale)), urgency
        for b in bullets(category):
            assert b in block, (category, b)
            others = [u for u in TABLE.urgency_rank if u != urgency and b in slots[f"warning_signs_{u}"]]
            assert not others, f"{category} also listed under {others}"


def test_an_urgency_changed_in_the_table_moves_the_signs(tmp_path: Path) -> None:
    raw = yaml.safe_load(TABLE_FILE.read_text(encoding="utf-8"))
    assert raw["categories"]["cervical_myelopathy"]["urgency"] == "urgent"
    raw["categories"]["cervical_myelopathy"]["urgency"] = "emergency"
    changed = tmp_path / "safety.yml"
    changed.write_text(yaml.safe_dump(raw), encoding="utf-8")
    table = load_table(changed)
    slots = warning_signs.slots(values_for("uk"), table, warning_signs.load_wording(changed, table))
    for b in bullets("cervical_myelopathy"):
        assert b in slots["warning_signs_emergency"] and b not in slots["warning_signs_urgent"]


def test_every_category_must_be_worded_for_patients(tmp_path: Path) -> None:
    raw = yaml.safe_load(TABLE_FILE.read_text(encoding="utf-8"))
    raw["categories"]["new_sign"] = {"urgency": "urgent"}
    changed = tmp_path / "safety.yml"
    changed.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ValueError, match="new_sign"):
        warning_signs.load_wording(changed, load_table(changed))


def test_the_locale_domain_is_generated_from_the_profile_and_the_table() -> None:
    from scripts.render_locale_domain import render

    assert (ROOT / "domain" / "locale.yml").read_text(encoding="utf-8") == render(), "run `make domain/locale.yml`"
    slots = yaml.safe_load((ROOT / "domain" / "locale.yml").read_text(encoding="utf-8"))["slots"]
    assert slots["warning_signs_emergency"]["initial_value"] == warning_signs.slots(values_for("uk"))["warning_signs_emergency"]


@pytest.mark.parametrize("locale", LOCALES)
def test_warning_sign_answers_list_the_signs_with_what_to_do(locale: str) -> None:
    text, more = rendered("warning_signs", locale)
    emergency = [c for c in SIGNED if TABLE.urgency_of(c) == "emergency"]
    later = [c for c in SIGNED if TABLE.urgency_of(c) != "emergency"]
    assert lead("emergency", locale) in text
    assert set(warning_signs.categories_in(text, WORDING)) == set(emergency)
    assert set(warning_signs.categories_in(more, WORDING)) == set(later)
    for topic in ("is_it_serious", "when_to_see_professional"):
        assert set(emergency) <= set(warning_signs.categories_in(rendered(topic, locale)[1], WORDING)), topic
    neck = rendered("neck_facet_pain", locale)[0]
    assert set(warning_signs.categories_in(neck, WORDING)) == set(WORDING.neck) == {"vascular_neck", "cervical_myelopathy"}
    for word in ("dizziness", "double vision", "slurred speech", "clumsy hands"):
        assert word in neck
    everything = text + more
    for word in ("both legs", "peeing", "sex", "chest pain", "fever", "cancer", "trouble walking", "worsening weakness", "spreading", "bad fall"):
        assert word in everything, word


RED_FLAG_WORDS = re.compile(
    r"bladder|bowel|genital|both legs|chest pain|double vision|slurred|fever|cancer|" r"prompt medical|urgent medical|straight away|emergency|a&e",
    re.I,
)


def test_no_answer_writes_its_own_warning_signs() -> None:
    """Signs and their urgency come only from the generated lists, never hand-written beside them."""
    for topic, response in faq().items():
        for part in (response["text"], response["metadata"]["more"]):
            found = RED_FLAG_WORDS.findall(re.sub(r"\{\w+\}", "", part))
            assert not found, f"{topic}: {found} (use the {{warning_signs_*}} slots)"


# ---------------------------------------------------------------- 2. numbers and services from the locale

FIXED = re.compile(
    r"\b(999|911|111|112|988|85258)\b|116 ?123|A&E|\bNHS\b|\bGP\b|emergency (room|department|number)|\bER\b|"
    r"urgent care|Samaritans|SHOUT|Lifeline",
    re.I,
)


def all_response_templates():
    domain_dir = ROOT / "domain"
    for path in sorted(domain_dir.glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            for v in variants:
                yield name, v.get("text") or ""
                yield f"{name}.more", (v.get("metadata") or {}).get("more") or ""
                for b in v.get("buttons") or []:
                    yield f"{name}.button", b.get("title", "")


def test_no_response_names_a_number_or_service_in_fixed_words() -> None:
    offenders = [(name, m.group(0)) for name, text in all_response_templates() for m in [FIXED.search(text)] if m]
    assert not offenders, f"numbers and services must come from the locale slots: {offenders}"


THEIRS = {"uk": re.compile(r"\b911\b|\b988\b|emergency room|urgent care"), "us": re.compile(r"\b999\b|\b111\b|A&E|\bNHS\b|\bGP\b|Samaritans|116 123")}
OURS = {"uk": ("999", "A&E", "NHS 111", "GP"), "us": ("911", "the emergency room", "urgent care", "your doctor")}


@pytest.mark.parametrize("locale", LOCALES)
def test_answers_name_only_their_own_locales_numbers(locale: str) -> None:
    texts = [t for _, _, t in all_rendered(locale)]
    whole = "\n".join(texts)
    for word in OURS[locale]:
        assert word in whole, word
    wrong = [(topic, part, THEIRS[locale].search(t).group(0)) for topic, part, t in all_rendered(locale) if THEIRS[locale].search(t)]
    assert not wrong, wrong
    assert not [t for t in texts if "{" in t], "a placeholder was left unfilled"


# ---------------------------------------------------------------- 4. buttons


@pytest.mark.parametrize("topic", sorted(faq()))
def test_buttons_offer_more_and_a_person_where_a_more_text_exists(topic: str) -> None:
    response = faq()[topic]
    assert response["metadata"].get("more"), topic
    titles = [b["title"] for b in response.get("buttons") or []]
    assert titles == ["Tell me more", "Talk to a person"], topic
    more, person = response["buttons"]
    assert person["payload"] == "/request_human"
    # Rasa fills responses like str.format: '{{' in the domain reaches the channel as '{'
    payload = more["payload"].replace("{{", "{").replace("}}", "}")
    intent, entities = re.fullmatch(r"/(\w+)(\{.*\})", payload).groups()
    assert intent == "more_info" and json.loads(entities) == {"faq_topic": topic}
    assert all(len(t) <= 20 for t in titles), "WhatsApp reply buttons take 20 characters"


# ---------------------------------------------------------------- 5. plain English


def test_bullets_and_lines_count_as_sentences() -> None:
    assert sentences("Common triggers:\n• walking downhill\n• rolling over in bed.") == [
        "Common triggers.",
        "walking downhill.",
        "rolling over in bed.",
    ]
    listed = "Things that help:\n• moving gently every day\n• building up slowly\n• sleeping well at night\n• changing position"
    assert reading_grade(listed) < reading_grade(listed.replace("\n•", ","))


def test_the_grade_comes_from_the_pinned_offline_library() -> None:
    pins = dict(line.split("==") for line in (ROOT / "requirements.lock").read_text().split() if "==" in line)
    assert version("textstat") == pins["textstat"] == "0.7.3"
    assert reading_grade("Facet joints are small joints at the back of your spine.") < 8
    assert reading_grade("Radiofrequency denervation interrupts nociceptive transmission from zygapophysial articulations.") > 12


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("topic", sorted(faq()))
def test_every_answer_reads_at_grade_8_or_below(topic: str, locale: str) -> None:
    text, more = rendered(topic, locale)
    assert reading_grade(text) <= MAX_GRADE, f"{topic} answer: grade {reading_grade(text)}"
    assert reading_grade(more) <= MAX_GRADE, f"{topic} more: grade {reading_grade(more)}"


JARGON = {re.compile(k, re.I): v for k, v in yaml.safe_load((Path(__file__).parent / "jargon.yml").read_text()).items()}


def _sentences(text: str) -> list:
    return [s for line in sentences(text) for s in re.split(r"(?<=[.!?])\s+", line)]


@pytest.mark.parametrize("topic", sorted(faq()))
def test_jargon_is_explained_where_first_used(topic: str) -> None:
    text, more = rendered(topic, "uk")
    said = _sentences(text) + _sentences(more)
    for term, explanations in JARGON.items():
        first = next((s for s in said if term.search(s)), None)
        if first is not None:
            assert any(e in first.lower() for e in explanations), f"{topic}: {term.pattern!r} unexplained in {first!r}"


# ---------------------------------------------------------------- 6. sources that deserve trust

FIGURE = re.compile(r"\d+\s*(?:–|-|to)\s*\d+|\d+\s*%")
HEDGES = ("about", "roughly", "rough", "one source", "varies", "may", "often")


@pytest.mark.parametrize("topic", sorted(t for t, r in faq().items() if SOURCE_003 in r["metadata"]["sources"]))
def test_figures_from_the_supplement_sellers_page_are_flagged_and_hedged(topic: str) -> None:
    response = faq()[topic]
    text, more = rendered(topic, "uk")
    figures = [s for s in _sentences(text) + _sentences(more) if FIGURE.search(s)]
    if not figures:
        return
    note = response["metadata"].get("source_note", "")
    assert SOURCE_003 in note and "supplement seller" in note, f"{topic}: staff must be told where the figures come from"
    for s in figures:
        assert any(h in s.lower() for h in HEDGES), f"{topic}: figure stated without its uncertainty: {s!r}"
    assert {"injections_work", "injection_duration"} <= {t for t, r in faq().items() if "source_note" in r["metadata"]}


def test_imaging_says_a_worse_grade_doesnt_always_mean_worse_pain() -> None:
    text, _ = rendered("imaging", "uk")
    assert "doesn't always mean worse pain" in text


def test_the_unsourced_medicine_label_advice_is_gone() -> None:
    text, more = rendered("medication", "uk")
    assert "label" not in (text + more).lower()
