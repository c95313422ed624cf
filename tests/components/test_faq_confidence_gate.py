"""FaqConfidenceGate (components/faq_confidence_gate.py) on real `Message`s: an
unsure FAQ topic becomes `nlu_fallback` with the reason and the original intent
kept; a sure topic, or any other intent, passes untouched."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic_bot import names
from components.faq_confidence_gate import FaqConfidenceGate, topic_uncertainty
from tests.components.graph_helpers import create_component, project_config

TOPICS = ["faq/what_is_facet_pain", "faq/exercise", "faq/injections"]


def parsed(intent: str, topic_confidences: Optional[List[float]], intent_confidence: float = 0.9) -> Message:
    """A message as the ResponseSelector leaves it: the intent and a ranking of FAQ topics."""
    data: Dict[str, Any] = {TEXT: "is walking good for my back?", INTENT: {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: intent_confidence}}
    message = Message(data=data)
    if topic_confidences is not None:
        ranking = [{"intent_response_key": t, PREDICTED_CONFIDENCE_KEY: c} for t, c in zip(TOPICS, topic_confidences, strict=False)]
        message.set("response_selector", {"faq": {"ranking": ranking, "response": {"intent_response_key": TOPICS[0]}}}, add_to_output=True)
    return message


@pytest.fixture
def gate(model_storage, execution_context) -> FaqConfidenceGate:
    """The gate as config.yml configures it (threshold 0.45, ambiguity 0.05)."""
    return create_component(FaqConfidenceGate, project_config(FaqConfidenceGate), model_storage, execution_context)


def test_project_config_is_what_these_tests_assume(gate) -> None:
    assert (gate.retrieval_intent, gate.threshold, gate.ambiguity) == ("faq", 0.45, 0.05)


def test_a_sure_topic_is_answered(gate) -> None:
    message = gate.process([parsed("faq", [0.80, 0.10, 0.05])])[0]
    assert message.get(INTENT)[INTENT_NAME_KEY] == "faq"
    assert message.get(names.PARSE_FAQ_GATE) is None


def test_confidence_at_the_threshold_is_answered(gate) -> None:
    message = gate.process([parsed("faq", [0.45, 0.20])])[0]
    assert message.get(INTENT)[INTENT_NAME_KEY] == "faq"


def test_a_low_topic_confidence_falls_back_keeping_the_original(gate) -> None:
    message = gate.process([parsed("faq", [0.40, 0.30, 0.20], intent_confidence=0.97)])[0]
    assert message.get(INTENT) == {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 0.45}
    gate_info = message.get(names.PARSE_FAQ_GATE)
    assert gate_info["reason"] == "topic confidence 0.40 < 0.45"
    assert gate_info["original_intent"] == {INTENT_NAME_KEY: "faq", PREDICTED_CONFIDENCE_KEY: 0.97}
    # the topic ranking stays, so action_suggest_topics can offer the likely ones
    assert [r[PREDICTED_CONFIDENCE_KEY] for r in message.get("response_selector")["faq"]["ranking"]] == [0.40, 0.30, 0.20]
    # both additions reach the parse result the dialogue and the console read
    output = message.as_dict(only_output_properties=True)
    assert output[INTENT][INTENT_NAME_KEY] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    assert names.PARSE_FAQ_GATE in output


def test_two_close_topics_fall_back_even_when_confident(gate) -> None:
    message = gate.process([parsed("faq", [0.50, 0.47, 0.03])])[0]
    assert message.get(INTENT)[INTENT_NAME_KEY] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    assert message.get(names.PARSE_FAQ_GATE)["reason"] == "top topics within 0.05"


def test_faq_without_a_topic_ranking_falls_back(gate) -> None:
    message = gate.process([parsed("faq", None)])[0]
    assert message.get(INTENT)[INTENT_NAME_KEY] == DEFAULT_NLU_FALLBACK_INTENT_NAME
    assert message.get(names.PARSE_FAQ_GATE)["reason"] == "no topic ranking"


@pytest.mark.parametrize("intent", ["greet", names.INTENT_RED_FLAG, DEFAULT_NLU_FALLBACK_INTENT_NAME])
def test_other_intents_pass_untouched_whatever_the_topics(gate, intent) -> None:
    message = gate.process([parsed(intent, [0.10, 0.09])])[0]
    assert message.get(INTENT)[INTENT_NAME_KEY] == intent
    assert message.get(names.PARSE_FAQ_GATE) is None


def test_each_message_of_a_batch_is_judged_on_its_own(gate) -> None:
    sure, unsure = gate.process([parsed("faq", [0.9, 0.05]), parsed("faq", [0.3, 0.2])])
    assert sure.get(INTENT)[INTENT_NAME_KEY] == "faq"
    assert unsure.get(INTENT)[INTENT_NAME_KEY] == DEFAULT_NLU_FALLBACK_INTENT_NAME


def test_defaults_apply_when_config_yml_says_nothing(model_storage, execution_context) -> None:
    gate = create_component(FaqConfidenceGate, {}, model_storage, execution_context)
    # default threshold 0.5: a topic at 0.48 that config.yml's 0.45 would answer falls back
    message = gate.process([parsed("faq", [0.48, 0.10])])[0]
    assert message.get(INTENT) == {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 0.5}


def test_topic_uncertainty_is_the_rule_the_calibration_replays() -> None:
    assert topic_uncertainty([0.9, 0.1], 0.45, 0.05) is None
    assert topic_uncertainty([], 0.45, 0.05) == "no topic ranking"
    assert topic_uncertainty([0.9], 0.45, 0.05) is None  # a single topic cannot be ambiguous
    assert topic_uncertainty([0.6, 0.58], 0.45, 0.05) == "top topics within 0.05"
