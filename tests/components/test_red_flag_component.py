"""The rule-based red-flag layer's Rasa graph component, RedFlagEntityDetector, on
real `Message` objects: registration, graph validation, intent override, entities,
downgrades, the safety check, carers' reports and config options. The spaCy
pipeline fixture (`spacy_dir`) is in conftest.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import pytest


# ---------------------------------------------------------------- the Rasa graph component
@pytest.fixture(scope="session")
def spacy_model(spacy_dir: Path):
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    return SpacyNLP.load_model(str(spacy_dir))


@pytest.fixture(scope="session")
def spacy_nlp_component(spacy_model):
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    return SpacyNLP(spacy_model, SpacyNLP.get_default_config())


@pytest.fixture()
def component(tmp_path: Path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    from components.red_flags.component import RedFlagEntityDetector

    return RedFlagEntityDetector.create(
        RedFlagEntityDetector.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("red_flag_detector"),
        ExecutionContext(GraphSchema({}), "test-model"),
    )


def parsed_message(
    text: str,
    intent: str,
    ranking: Dict[str, float],
    spacy_nlp_component=None,
    spacy_model=None,
):
    """A Message as it reaches the component: converted by Rasa's NLUMessageConverter,
    given a spaCy doc by SpacyNLP.process, intent + ranking set like DIETClassifier."""
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={TEXT: text, "message_id": "m1", "metadata": None}, output_properties={TOKENS_NAMES[TEXT]})
    if spacy_nlp_component is not None:
        spacy_nlp_component.process([message], spacy_model)
    top = max(ranking, key=ranking.get)
    message.set(INTENT, {"name": top, "confidence": ranking[top]}, add_to_output=True)
    message.set(
        INTENT_RANKING_KEY,
        [{"name": n, "confidence": c} for n, c in sorted(ranking.items(), key=lambda kv: -kv[1])],
        add_to_output=True,
    )
    return message


def red_flag_entities(message) -> List[Dict[str, Any]]:
    return [e for e in message.get("entities") or [] if e["entity"] == "red_flag"]


def test_component_is_registered_as_an_entity_extractor() -> None:
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    from components.red_flags.component import RedFlagEntityDetector

    registered = DefaultV1Recipe._from_registry(RedFlagEntityDetector.__name__)
    assert registered.clazz is RedFlagEntityDetector
    assert DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR in registered.types
    assert not registered.is_trainable
    assert SpacyNLP in RedFlagEntityDetector.required_components()


def test_component_passes_rasa_graph_validation(spacy_dir: Path) -> None:
    """The recipe builds a graph with the component after the classifiers, and
    Rasa's validation (signatures, types, required components) accepts it."""
    from rasa.engine import validation
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.shared.data import TrainingType

    config = {
        "recipe": "default.v1",
        "language": "en",
        "pipeline": [
            {"name": "SpacyNLP", "model": str(spacy_dir)},
            {"name": "SpacyTokenizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "DIETClassifier", "epochs": 1},
            {"name": "ResponseSelector", "epochs": 1},
            {"name": "FallbackClassifier", "threshold": 0.4},
            {"name": "components.red_flags.component.RedFlagEntityDetector"},
        ],
    }
    model_config = DefaultV1Recipe().graph_config_for_recipe(copy.deepcopy(config), {}, training_type=TrainingType.NLU)
    validation.validate(model_config)
    nodes = [n for n in model_config.predict_schema.nodes.values() if n.uses.__name__ == "RedFlagEntityDetector"]
    assert len(nodes) == 1 and nodes[0].fn == "process"
    # placed after the classifiers: it consumes the FallbackClassifier's output
    assert nodes[0].needs["messages"].startswith("run_FallbackClassifier")


def test_component_overrides_intent_and_adds_entities(component, spacy_nlp_component, spacy_model) -> None:
    text = "Quick question about injections. Also I can't pee since yesterday and the pain is unbearable"
    message = parsed_message(text, "faq", {"faq": 0.81, "report_red_flag": 0.12, "greet": 0.07}, spacy_nlp_component, spacy_model)
    assert message.get("text_spacy_doc") is not None
    component.process([message])

    assert message.get("intent") == {"name": "report_red_flag", "confidence": 1.0}
    assert message.get("red_flag_override")["original_intent"] == {"name": "faq", "confidence": 0.81}
    ranking = [r["name"] for r in message.get("intent_ranking")]
    assert ranking[0] == "report_red_flag" and ranking.count("report_red_flag") == 1
    assert ranking[1:] == ["faq", "greet"]

    ents = red_flag_entities(message)
    # only the most urgent category becomes the entity (it picks the safety advice);
    # every category found is kept in the override record
    assert [e["value"] for e in ents] == ["cauda_equina"]
    assert message.get("red_flag_override")["categories"][:2] == ["cauda_equina", "severe_worsening_pain"]
    for ent in ents:
        assert set(ent) == {"entity", "value", "start", "end", "confidence", "extractor"}
        assert ent["confidence"] == 1.0 and ent["extractor"] == "RedFlagEntityDetector"
        assert 0 <= ent["start"] < ent["end"] <= len(text)
    assert text[ents[0]["start"] : ents[0]["end"]].lower() == "can't pee"
    # visible in Rasa's parse output (output properties)
    out = message.as_dict(only_output_properties=True)
    assert out["intent"]["name"] == "report_red_flag" and "red_flag_override" in out
    assert [e["value"] for e in out["entities"] if e["entity"] == "red_flag"] == ["cauda_equina"]


def test_component_keeps_ml_red_flag_and_adds_entity(component, spacy_nlp_component, spacy_model) -> None:
    message = parsed_message("my legs keep giving way", "report_red_flag", {"report_red_flag": 0.9, "faq": 0.1}, spacy_nlp_component, spacy_model)
    component.process([message])
    assert message.get("intent") == {"name": "report_red_flag", "confidence": 0.9}
    assert message.get("red_flag_override") is None
    assert [e["value"] for e in red_flag_entities(message)] == ["progressive_neuro_deficit"]


def test_component_overrides_nlu_fallback(component, spacy_nlp_component, spacy_model) -> None:
    message = parsed_message("numb bum", "nlu_fallback", {"nlu_fallback": 0.45, "faq": 0.3}, spacy_nlp_component, spacy_model)
    component.process([message])
    assert message.get("intent")["name"] == "report_red_flag"
    assert message.get("red_flag_override")["original_intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "text,reason",
    [
        ("I don't have any numbness or bladder problems", "denied"),
        ("my mum had cancer in her breast", "other_person"),
        ("I was paralysed with fear before my last injection, does it hurt?", "figure_of_speech"),
        ("I had a fall ten years ago", "past_resolved"),
        ("what if I lose control of my bladder?", "hypothetical"),
    ],
)
def test_component_downgrades_ml_red_flag_when_rules_only_saw_suppressed_mentions(
    component, spacy_nlp_component, spacy_model, text: str, reason: str
) -> None:
    ranking = {"report_red_flag": 0.7, "faq": 0.2, "greet": 0.1}
    message = parsed_message(text, "report_red_flag", ranking, spacy_nlp_component, spacy_model)
    component.process([message])
    assert message.get("intent") == {"name": "faq", "confidence": 0.2}
    assert [r["name"] for r in message.get("intent_ranking")] == ["faq", "greet"]
    suppressed = message.get("red_flag_suppressed")
    assert reason in suppressed["reasons"]
    assert suppressed["original_intent"]["name"] == "report_red_flag"
    assert not red_flag_entities(message)
    assert "red_flag_suppressed" in message.as_dict(only_output_properties=True)


def test_component_escalates_a_confident_ml_red_flag_when_rules_saw_nothing(component, spacy_nlp_component, spacy_model) -> None:
    message = parsed_message(
        "something is very wrong with me", "report_red_flag", {"report_red_flag": 0.9, "faq": 0.1}, spacy_nlp_component, spacy_model
    )
    component.process([message])
    assert message.get("intent") == {"name": "report_red_flag", "confidence": 0.9}
    assert [e["value"] for e in red_flag_entities(message)] == ["unspecified"]
    assert message.get("safety_decision")["action"] == "escalate"


@pytest.mark.parametrize(
    "text", ["something is very wrong with me", "my bladder has been a bit odd", "I haven't fallen but my bladder has been a bit odd"]
)
def test_component_asks_the_safety_check_when_only_an_unsure_ml_layer_leans_red_flag(component, spacy_nlp_component, spacy_model, text: str) -> None:
    """Weak evidence (the ML layer alone and unsure) gets one safety question, not an escalation."""
    message = parsed_message(text, "report_red_flag", {"report_red_flag": 0.6, "faq": 0.4}, spacy_nlp_component, spacy_model)
    component.process([message])
    assert message.get("intent")["name"] == "red_flag_check"
    assert message.get("red_flag_override")["original_intent"]["name"] == "report_red_flag"
    assert message.get("safety_decision")["action"] == "check"
    assert not red_flag_entities(message)


def test_component_never_only_checks_crisis_wording(component, spacy_nlp_component, spacy_model) -> None:
    """A bare crisis word (a mention, not a full rule match) with an ML lean escalates at crisis urgency."""
    message = parsed_message("feeling suicidal", "report_red_flag", {"report_red_flag": 0.5, "faq": 0.5}, spacy_nlp_component, spacy_model)
    component.process([message])
    assert message.get("intent")["name"] == "report_red_flag"
    values = {e["entity"]: e["value"] for e in message.get("entities")}
    assert values["red_flag"] == "self_harm" and values["red_flag_urgency"] == "crisis"


def test_component_marks_a_carers_report(component, spacy_nlp_component, spacy_model) -> None:
    message = parsed_message(
        "my dad is 84 and since this morning his legs keep giving way", "faq", {"faq": 0.9, "greet": 0.1}, spacy_nlp_component, spacy_model
    )
    component.process([message])
    values = {e["entity"]: e["value"] for e in message.get("entities")}
    assert values == {"red_flag": "progressive_neuro_deficit", "red_flag_urgency": "emergency", "red_flag_about": "other"}


def test_component_leaves_ordinary_faq_alone(component, spacy_nlp_component, spacy_model) -> None:
    message = parsed_message("how long do facet injections last?", "faq", {"faq": 0.95, "greet": 0.05}, spacy_nlp_component, spacy_model)
    before = copy.deepcopy(message.data)
    before.pop("text_spacy_doc", None)
    component.process([message])
    after = dict(message.data)
    after.pop("text_spacy_doc", None)
    assert after == before


def test_component_works_without_a_spacy_doc(component) -> None:
    message = parsed_message("I've wet myself twice today", "greet", {"greet": 0.6, "faq": 0.4})
    assert message.get("text_spacy_doc") is None
    component.process([message])
    assert message.get("intent")["name"] == "report_red_flag"
    assert [e["value"] for e in red_flag_entities(message)] == ["cauda_equina"]


def test_component_config_options(tmp_path: Path) -> None:
    from components.red_flags import DEFAULT_PATTERNS_FILE
    from components.red_flags.component import RedFlagEntityDetector

    custom = tmp_path / "patterns.yml"
    custom.write_text(DEFAULT_PATTERNS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    comp = RedFlagEntityDetector({"patterns_file": str(custom), "intent_name": "urgent_help"})
    message = parsed_message("kms", "faq", {"faq": 0.9, "greet": 0.1})
    comp.process([message])
    assert message.get("intent")["name"] == "urgent_help"
    assert comp.patterns_file == custom


def test_component_loads_word_lists_at_start_up(tmp_path: Path) -> None:
    """The ~1 s word-list load happens when the model loads, not on a patient's first turn."""
    from components.red_flags.component import RedFlagEntityDetector

    component = RedFlagEntityDetector({})
    assert component.detector.normaliser._known  # loaded already
    assert "walking" in component.detector.normaliser._known
