"""Training data sanity: enough varied examples per topic, no leakage into the held-out set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def training():
    return load_data(str(ROOT / "data" / "nlu"))


def test_every_faq_topic_has_at_least_15_examples(training) -> None:
    counts = Counter(m.get("intent_response_key") for m in training.intent_examples if m.get("intent") == "faq")
    domain_topics = {p.stem for p in (ROOT / "data" / "nlu" / "faq").glob("*.yml")}
    assert domain_topics, "no FAQ training files"
    for topic in domain_topics:
        assert counts[f"faq/{topic}"] >= 15, topic


def test_no_duplicate_examples_across_intents(training) -> None:
    seen = Counter(m.get("text").strip().lower() for m in training.intent_examples)
    dupes = [t for t, n in seen.items() if n > 1]
    assert not dupes, dupes[:10]


def test_heldout_set_is_not_in_training_data(training) -> None:
    heldout = load_data(str(ROOT / "tests" / "nlu" / "heldout.yml"))
    train_texts = {m.get("text").strip().lower() for m in training.intent_examples}
    leaked = [m.get("text") for m in heldout.intent_examples if m.get("text").strip().lower() in train_texts]
    assert not leaked, leaked


def test_locale_domain_matches_clinic_profile() -> None:
    from scripts.render_locale_domain import render

    assert (ROOT / "domain" / "locale.yml").read_text(encoding="utf-8") == render(), "run `make` to regenerate domain/locale.yml"


def test_red_flag_categories_match_the_spec() -> None:
    from clinic_bot.safety import UNSPECIFIED, load_table

    spec = ROOT.parent / "shared" / "spec" / "red_flags.yml"
    if not spec.exists():
        pytest.skip("red flag spec not available")
    expected = {c["id"]: c["urgency"] for c in yaml.safe_load(spec.read_text())["categories"]}
    table = {c: u for c, u in load_table().category_urgency.items() if c != UNSPECIFIED}
    assert table == expected


def test_test_sets_are_never_trained_on(training) -> None:
    """No blind or dev test message is a training example (punctuation and case aside), and
    no blind one shares a 12-word run with one (separate writers do hit the same 8-word
    stock phrases now and then)."""
    from scripts.eval_blind import text_key

    def shingles(text: str) -> set:
        words = text.lower().split()
        return {" ".join(words[i : i + 12]) for i in range(len(words) - 11)}

    texts = [m.get("text") for m in training.intent_examples]
    train = {text_key(t) for t in texts}
    train_shingles = set().union(*(shingles(t) for t in texts))
    for folder in ("blind", "red_flags"):
        for path in sorted((ROOT / "tests" / folder).glob("*.yml")):
            items = [i["text"] for i in yaml.safe_load(path.read_text(encoding="utf-8"))]
            assert not [t for t in items if text_key(t) in train], path
            if folder == "blind":
                assert not [t for t in items if shingles(t) & train_shingles], path


def test_training_data_has_the_real_patient_programme() -> None:
    """Each topic's own file holds at least 80 examples, 20 (a quarter of 80) of them long (3+ sentences
    or 200+ characters); the red-flag hard negatives in data/nlu/red_flag_negatives.yml come on top."""
    from components.question_focus import sentences

    by_topic: dict = {}
    for path in sorted((ROOT / "data" / "nlu" / "faq").glob("*.yml")):
        for m in load_data(str(path)).intent_examples:
            by_topic.setdefault(path.stem, []).append(m.get("text"))
    assert len(by_topic) == 33
    for topic, texts in by_topic.items():
        long_ = [t for t in texts if len(sentences(t)) >= 3 or len(t) >= 200]
        assert len(texts) >= 80 and len(long_) >= 20, (topic, len(texts), len(long_))
