"""The FAQ knowledge base: complete, traceable, phone-sized, and free of the
sources' spam, adverts and third-party contact details."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import yaml
from rasa.shared.core.domain import Domain

from tests.data.rendering import LOCALES, rendered

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CATALOG = SHARED / "spec" / "faq_catalog.yml"
SEEDS = SHARED / "seeds"

FORBIDDEN = [
    "herpes",
    "herbal cure",
    "herbal home",
    "drrazor",
    "gmail",
    "motion bliss",
    "eggshell",
    "nature's blast",
    "cleveland clinic",
    "core performance",
    "heywood",
    "scaldwell",
    "northants",
    "jersey city",
    "hoboken",
    "weehawken",
    "copyright",
    "©",
    "registered number",
    "whatsapp me",
    "watapp",
]
PHONE = re.compile(r"(?:\+?\d[\d\s().-]{6,}\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
URL = re.compile(r"(https?://|www\.)\S+|\b[\w-]+\.(com|co\.uk|org|net|io)\b", re.I)
DOSE = re.compile(r"\b\d+(\.\d+)?\s?(mg|milligrams?|mcg|g|ml|tablets?|pills?|capsules?)\b", re.I)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def faq_responses(domain: Domain) -> Dict[str, dict]:
    return {name.split("/", 1)[1]: variants[0] for name, variants in domain.responses.items() if name.startswith("utter_faq/")}


def all_response_texts(domain: Domain) -> Iterator[Tuple[str, str]]:
    for name, variants in domain.responses.items():
        for v in variants:
            yield name, v.get("text") or ""
            meta = v.get("metadata") or {}
            if isinstance(meta.get("more"), str):
                yield f"{name}.more", meta["more"]
            for b in v.get("buttons") or []:
                yield f"{name}.button", b.get("title", "")


def catalog_topics() -> List[dict]:
    if not CATALOG.exists():
        pytest.skip(f"FAQ catalog not found at {CATALOG}")
    return yaml.safe_load(CATALOG.read_text())["topics"]


def test_every_catalog_topic_has_exactly_one_answer(domain: Domain) -> None:
    ids = {t["id"] for t in catalog_topics()}
    assert set(faq_responses(domain)) == ids
    for topic in ids:
        assert len(domain.responses[f"utter_faq/{topic}"]) == 1, f"{topic}: one answer per topic, not copies that drift"


@pytest.mark.parametrize("locale", LOCALES)
def test_answers_fit_a_phone_screen_and_have_a_follow_up(domain: Domain, locale: str) -> None:
    """As patients read them: placeholders filled with the locale's numbers and warning-sign lists."""
    for topic in faq_responses(domain):
        text, more = rendered(topic, locale)
        assert 80 <= len(text) <= 600, (topic, len(text))
        assert 150 <= len(more) <= 900, (topic, len(more))
        assert more.strip() != text.strip()


def test_answers_are_traceable_to_existing_source_articles(domain: Domain) -> None:
    catalog = {t["id"]: t for t in catalog_topics()}
    for topic, response in faq_responses(domain).items():
        meta = response["metadata"]
        assert meta["topic"] == topic
        assert meta["sources"], topic
        assert set(meta["sources"]) == set(catalog[topic]["sources"]), topic
        for source in meta["sources"]:
            assert (SEEDS / source).is_file(), f"{topic}: unknown source {source}"


@pytest.mark.parametrize("pattern,label", [(PHONE, "phone number"), (EMAIL, "email"), (URL, "URL"), (DOSE, "medicine dose")])
def test_no_response_contains_contact_details_or_doses(domain: Domain, pattern: re.Pattern, label: str) -> None:
    offenders = [(name, m.group(0)) for name, text in all_response_texts(domain) for m in [pattern.search(text)] if m]
    assert not offenders, f"{label} found in responses: {offenders}"


def test_no_response_repeats_spam_adverts_or_other_clinics(domain: Domain) -> None:
    for name, text in all_response_texts(domain):
        lowered = text.lower()
        hits = [w for w in FORBIDDEN if w in lowered]
        assert not hits, f"{name} mentions {hits}"


def _shingles(text: str, n: int = 10) -> set:
    words = re.findall(r"[a-z']+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_answers_are_written_in_our_own_words(domain: Domain) -> None:
    """No run of ten words is copied from a source article."""
    if not SEEDS.exists():
        pytest.skip("seeds not available")
    seed_shingles = set().union(*(_shingles(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")))
    for name, text in all_response_texts(domain):
        copied = _shingles(text) & seed_shingles
        assert not copied, f"{name} copies source wording: {sorted(copied)[:2]}"


def test_supplement_answer_does_not_endorse_products(domain: Domain) -> None:
    text = faq_responses(domain)["supplements_and_cures"]["text"].lower()
    assert "not recommend" in text or "don't recommend" in text or "can't recommend" in text or "no supplement" in text
    assert "pharmacist" in text or "gp" in text or "pharmacist" in faq_responses(domain)["supplements_and_cures"]["metadata"]["more"].lower()


@pytest.mark.parametrize("locale,doctor", [("uk", "your gp"), ("us", "your doctor")])
def test_medication_answer_gives_no_doses_and_points_to_a_professional(locale: str, doctor: str) -> None:
    text, more = (t.lower() for t in rendered("medication", locale))
    assert "pharmacist" in text and doctor in text
    assert not DOSE.search(text + more)


@pytest.mark.parametrize("locale,call", [("uk", "call 999 now or go to a&e"), ("us", "call 911 now or go to the emergency room")])
def test_warning_signs_answer_points_to_urgent_help(locale: str, call: str) -> None:
    text = rendered("warning_signs", locale)[0].lower()
    assert call in text and "peeing" in text and "bowels" in text and "genitals" in text


def test_the_safety_check_fits_whatsapp_reply_buttons() -> None:
    """The check's quick replies: the same three payloads everywhere, titles of at most 20 characters on WhatsApp."""
    import yaml

    variants = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain" / "safety.yml").read_text())["responses"]["utter_red_flag_check"]
    default = next(v for v in variants if not v.get("channel"))
    whatsapp = next(v for v in variants if v.get("channel") == "whatsapp")
    assert (
        [b["payload"] for b in default["buttons"]]
        == [b["payload"] for b in whatsapp["buttons"]]
        == ["/red_flag_confirmed", "/red_flag_denied", "/request_human"]
    )
    assert default["buttons"][0]["title"] == "Yes, this is happening now"
    assert all(len(b["title"]) <= 20 for b in whatsapp["buttons"])
    assert default["text"] == whatsapp["text"]
