"""Rule-based red-flag layer on its dev set: the set's size, balance and separation
from the holdout and training data, the detector's recall and false-escalation rate
on it (overall and per category), and the pattern categories against the spec.
The spaCy pipeline and detector fixtures are in conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "tests" / "red_flags" / "dev_set.yml"
# the holdout kept beside the dev set: v2 (tuned on in the v2 round, so no longer blind;
# v1, holdout_set.yml, was merged into the dev set). Replace it with a fresh v3 for the next
# honest measurement. Only its separation from dev/training data is tested here.
HOLDOUT_SET = ROOT / "tests" / "red_flags" / "holdout_v2.yml"
SPEC = ROOT.parent / "shared" / "spec" / "red_flags.yml"
POSITIVE_KINDS = {"positive", "hedged", "long_mixed", "carer"}
NEGATIVE_KINDS = {"denied", "other_person", "past_resolved", "hypothetical", "unrelated"}
CATEGORIES = [
    "cauda_equina",
    "progressive_neuro_deficit",
    "cervical_myelopathy",
    "vascular_neck",
    "major_trauma",
    "cancer_or_infection",
    "severe_worsening_pain",
    "chest_or_breathing",
    "self_harm",
]


# ---------------------------------------------------------------- fixtures
def load_set(path: Path) -> List[Dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def dev_items() -> List[Dict[str, Any]]:
    return load_set(DEV_SET)


@pytest.fixture(scope="session")
def dev_results(dev_items, detector):
    return [(item, detector.detect(item["text"])) for item in dev_items]


# ---------------------------------------------------------------- the dev set itself
def test_dev_set_is_big_and_balanced_enough(dev_items) -> None:
    assert len(dev_items) >= 500
    for item in dev_items:
        assert set(item) == {"text", "expected", "kind"}, item
        assert item["expected"] in CATEGORIES + ["none"], item
        if item["kind"] in POSITIVE_KINDS:
            assert item["expected"] != "none", item
        else:
            assert item["kind"] in NEGATIVE_KINDS and item["expected"] == "none", item
    for cat in CATEGORIES:
        assert sum(1 for i in dev_items if i["expected"] == cat) >= 15, cat
    for kind in ("denied", "past_resolved", "hypothetical"):
        assert sum(1 for i in dev_items if i["kind"] == kind) >= 12, kind
    # someone else's history (not a red flag) beside carers reporting a sign now (a red flag)
    assert sum(1 for i in dev_items if i["kind"] == "other_person") >= 5
    assert sum(1 for i in dev_items if i["kind"] == "carer") >= 20
    assert sum(1 for i in dev_items if i["kind"] == "unrelated") >= 30
    texts = [i["text"].strip().lower() for i in dev_items]
    assert len(texts) == len(set(texts)), "duplicate texts in the dev set"


def test_dev_and_holdout_do_not_overlap_with_each_other_or_training_data(dev_items) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    from scripts.eval_blind import text_key

    train = {text_key(m.get("text")) for m in load_data(str(ROOT / "data" / "nlu")).intent_examples}
    dev = {text_key(i["text"]) for i in dev_items}
    assert not dev & train
    assert HOLDOUT_SET.exists(), "keep a blind holdout set beside the dev set"
    holdout_items = load_set(HOLDOUT_SET)
    holdout = {text_key(i["text"]) for i in holdout_items}
    assert len(holdout) == len(holdout_items), "duplicate texts in the holdout set"
    assert not holdout & dev
    assert not holdout & train


# ---------------------------------------------------------------- dev-set metrics
def test_dev_set_recall_is_100_percent(dev_results) -> None:
    missed = [
        (item["expected"], item["text"], result.categories)
        for item, result in dev_results
        if item["expected"] != "none" and item["expected"] not in result.categories
    ]
    assert not missed, missed


def test_dev_set_false_escalations_at_most_5_percent(dev_results) -> None:
    negatives = [(item, result) for item, result in dev_results if item["expected"] == "none"]
    fired = [(item["kind"], item["text"], result.categories) for item, result in negatives if result.fired]
    assert len(fired) / len(negatives) <= 0.05, fired


@pytest.mark.parametrize("category", CATEGORIES)
def test_dev_set_recall_per_category(dev_results, category: str) -> None:
    rows = [(item, result) for item, result in dev_results if item["expected"] == category]
    assert len(rows) >= 15
    assert all(category in result.categories for _, result in rows)


def test_pattern_categories_match_the_spec(detector) -> None:
    if not SPEC.exists():
        pytest.skip("spec not available")
    spec = {c["id"]: c["urgency"] for c in yaml.safe_load(SPEC.read_text())["categories"]}
    assert {c["id"]: c["urgency"] for c in detector.categories} == spec
