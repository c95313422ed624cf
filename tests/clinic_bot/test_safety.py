"""The one red-flag table and the three-way safety decision (clinic_bot/safety.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clinic_bot.safety import (
    CHECK,
    CONTINUE,
    ESCALATE,
    UNSPECIFIED,
    Evidence,
    decide,
    load_table,
)

ROOT = Path(__file__).resolve().parents[2]


def test_table_has_every_detector_category_and_ranks_urgencies() -> None:
    table = load_table()
    patterns = yaml.safe_load((ROOT / "components" / "red_flags" / "patterns.yml").read_text())
    assert {c["id"] for c in patterns["categories"]} | {UNSPECIFIED} == set(table.category_urgency)
    assert table.rank_of_urgency("emergency") < table.rank_of_urgency("crisis") < table.rank_of_urgency("urgent") < table.rank_of_urgency("routine")
    assert table.most_urgent(["severe_worsening_pain", "cauda_equina", "self_harm"]) == "cauda_equina"
    assert table.urgency_of("no-such-category") == table.urgency_of(UNSPECIFIED) == "urgent"


def test_urgency_lives_only_in_the_table() -> None:
    """The detector's knowledge file and the domain carry no urgency of their own."""
    patterns = yaml.safe_load((ROOT / "components" / "red_flags" / "patterns.yml").read_text())
    assert all("urgency" not in c for c in patterns["categories"])
    # the advice is picked by urgency; a category only words the message within its urgency
    for variant in yaml.safe_load((ROOT / "domain" / "safety.yml").read_text())["responses"]["utter_red_flag_safety"]:
        urgencies = [c["value"] for c in variant.get("condition") or [] if c["name"] == "red_flag_urgency"]
        assert urgencies == ([variant["metadata"]["urgency"]] if variant.get("condition") else []), variant


def test_bad_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "safety.yml"
    bad.write_text("urgencies: {emergency: {rank: 0}}\ncategories: {x: {urgency: soon}, unspecified: {urgency: emergency}}\n")
    with pytest.raises(ValueError, match="unknown urgency"):
        load_table(bad)


@pytest.mark.parametrize(
    "evidence,action,category",
    [
        # any rule match escalates, the most urgent category wins
        (Evidence(rule_categories=("severe_worsening_pain", "cauda_equina")), ESCALATE, "cauda_equina"),
        # a rule match escalates even when the ML layer disagrees
        (Evidence(rule_categories=("self_harm",), ml_confidence=0.0, ml_rank=99), ESCALATE, "self_harm"),
        # crisis wording with an ML lean escalates at crisis urgency, never only a check
        (Evidence(crisis_mention=True, ml_confidence=0.4, ml_rank=2), ESCALATE, "self_harm"),
        # the ML layer alone and sure
        (Evidence(ml_confidence=0.95, ml_rank=1), ESCALATE, UNSPECIFIED),
        # the ML layer alone and unsure: ask
        (Evidence(ml_confidence=0.6, ml_rank=1), CHECK, None),
        (Evidence(ml_confidence=0.4, ml_rank=2), CHECK, None),
        # too weak to ask
        (Evidence(ml_confidence=0.2, ml_rank=2), CONTINUE, None),
        (Evidence(ml_confidence=0.9, ml_rank=3), CONTINUE, None),
        # the rules saw the wording only as denied / past / someone else's / figurative
        (Evidence(only_suppressed=True, ml_confidence=0.99, ml_rank=1), CONTINUE, None),
        (Evidence(figurative=True, ml_confidence=0.98, ml_rank=1), CONTINUE, None),
        (Evidence(), CONTINUE, None),
    ],
)
def test_decision(evidence: Evidence, action: str, category) -> None:
    decision = decide(evidence)
    assert (decision.action, decision.category) == (action, category)
    if action == ESCALATE:
        assert decision.urgency == load_table().urgency_of(category)


def test_a_carers_report_is_about_someone_else() -> None:
    decision = decide(Evidence(rule_categories=("progressive_neuro_deficit",), about_other=True))
    assert (decision.action, decision.urgency, decision.about) == (ESCALATE, "emergency", "other")
