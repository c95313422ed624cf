"""Rule-based red-flag layer: the detector on the dev set, focused context
tests, and the Rasa graph component on real `Message` objects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from components.red_flags import (
    REASON_DENIED,
    REASON_EXPLAINED,
    REASON_FIGURE_OF_SPEECH,
    REASON_HYPOTHETICAL,
    REASON_OTHER_PERSON,
    REASON_PAST_RESOLVED,
    Detection,
    RedFlagDetector,
    most_urgent,
    sort_by_urgency,
)

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
@pytest.fixture(scope="session")
def spacy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's spaCy pipeline, built by the build script into a temp dir."""
    from scripts.build_spacy_pipeline import build

    return build(tmp_path_factory.mktemp("spacy") / "en_facet")


@pytest.fixture(scope="session")
def nlp(spacy_dir: Path):
    import spacy

    return spacy.load(spacy_dir)


@pytest.fixture(scope="session")
def detector(nlp) -> RedFlagDetector:
    return RedFlagDetector(nlp=nlp)


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


# ---------------------------------------------------------------- focused: fires
FIRES = [
    # spec and brief examples
    ("I can't feel anything when I wipe", "cauda_equina"),
    ("cant pee", "cauda_equina"),
    ("peeing myself", "cauda_equina"),
    ("numb bum", "cauda_equina"),
    ("legs gave way", "progressive_neuro_deficit"),
    ("seeing double", "vascular_neck"),
    ("kill myself", "self_harm"),
    ("kms", "self_harm"),
    ("unalive", "self_harm"),
    ("lost weight without trying", "cancer_or_infection"),
    ("slipped on ice, I have osteoporosis and now my back hurts", "major_trauma"),
    ("sudden ripping pain between my shoulder blades", "chest_or_breathing"),
    ("electric shock down my back when I look down", "cervical_myelopathy"),
    ("nothing helps, worst pain of my life", "severe_worsening_pain"),
    # misspellings, slang, WhatsApp style
    ("numbnes in my leg is moving up", "progressive_neuro_deficit"),
    ("excrutiating pain in my lower back", "severe_worsening_pain"),
    ("NUMB BUM AND CANT PEE HELP", "cauda_equina"),
    ("dizzy af when i turn my neck", "vascular_neck"),
    ("im gonna kms if this doesnt stop", "self_harm"),
    ("T-boned at a junction yesterday, neck stiff", "major_trauma"),
    # hedged reports fire
    ("not sure if it's numb", "progressive_neuro_deficit"),
    ("I think I might be leaking", "cauda_equina"),
    ("I don't think I can feel the toilet paper properly", "cauda_equina"),
    ("maybe it's nothing but my chest feels tight", "chest_or_breathing"),
    # a personal report phrased as a question still fires
    ("is it normal that I keep leaking wee since my back went?", "cauda_equina"),
    ("Why do I keep dropping things?", "cervical_myelopathy"),
    ("Is a fever normal with back pain? I've had one since Sunday", "cancer_or_infection"),
    # history that is itself the red flag
    ("I had a lymphoma 5 years ago and now my back aches", "cancer_or_infection"),
    # "never used to" means it is new
    ("I never used to get night sweats but now I do every night", "cancer_or_infection"),
    # elliptical subject after mentioning someone else
    ("Took my son to football and got hit by a car", "major_trauma"),
    # a red flag buried in a long message
    (
        "Hi, I've been doing the stretches and they help. Should I use heat or ice? And how long do "
        "injections last? Also, since yesterday I can't really feel anything down there when I wipe. Thanks",
        "cauda_equina",
    ),
    ("Hello\nquick question about my appointment\nalso my legs keep giving way", "progressive_neuro_deficit"),
    # v2 round: the known misses, and other members of their wording families
    ("i came off my motorbike yesterday and now my back is in agony", "major_trauma"),
    ("my right leg has gone weak and keeps buckling under me, worse than yesterday", "progressive_neuro_deficit"),
    ("my knee keeps folding under me", "progressive_neuro_deficit"),
    ("I cannot make urine since yesterday", "cauda_equina"),
    ("the wee just will not come, I have been sat on the loo for ages", "cauda_equina"),
    ("only a few drops come out when I go to the toilet", "cauda_equina"),
    ("I don't think I'm emptying my bladder fully", "cauda_equina"),
    ("my bladder control is not what it used to be and I've had some leaks", "cauda_equina"),
    ("I've started wearing incontinence pads since my back went", "cauda_equina"),
    ("I can't feel a thing down below", "cauda_equina"),
    ("my sciatica has moved across to the other leg too", "cauda_equina"),
    ("there was a pile-up on the motorway and I was in it, neck sore", "major_trauma"),
    ("a van went into the back of my car at the lights", "major_trauma"),
    ("fell off a kitchen chair I was standing on", "major_trauma"),
    ("came off the top of a stepladder onto the patio", "major_trauma"),
    ("I skied into a tree yesterday and my back hurts", "major_trauma"),
    ("my tractor rolled on top of me", "major_trauma"),
    ("dropped from a size 16 to a 12 without trying", "cancer_or_infection"),
    ("I've lost a stone and a half and I'm not dieting", "cancer_or_infection"),
    ("my belt needs a new notch and I'm eating normally", "cancer_or_infection"),
    ("there's pus coming out of where they did the injection", "cancer_or_infection"),
    ("breathing's got really difficult this afternoon", "chest_or_breathing"),
    ("I feel like I can't get any air in", "chest_or_breathing"),
    ("felt something rip between my shoulder blades", "chest_or_breathing"),
    ("heavy pressure behind my breastbone", "chest_or_breathing"),
    ("the pain is a solid 10 today", "severe_worsening_pain"),
    ("the co-codamol no longer touches it", "severe_worsening_pain"),
    ("I've taken a whole packet of co-codamol", "self_harm"),
    ("whats even the point anymore", "self_harm"),
    ("if the operation doesn't work I'll end it", "self_harm"),
    ("since my neck went everything turns round and round, really giddy", "vascular_neck"),
    ("I see two images of everything since the chiropractor", "vascular_neck"),
    ("I can't manage fiddly things like earrings any more", "cervical_myelopathy"),
    ("the cup just falls from my hand", "cervical_myelopathy"),
    # "no longer" is lost ability here, not a resolution
    ("I am 80 and my legs are so feeble I can no longer get out of my chair", "progressive_neuro_deficit"),
    # "they" about the writer's own legs is not someone else
    ("my legs are numb and they keep giving way", "progressive_neuro_deficit"),
    # "I'm Sam" / "Chris here" are the writer, not someone else
    ("Hi I'm Sam and my legs keep giving way", "progressive_neuro_deficit"),
    ("Chris here - can't pee since yesterday", "cauda_equina"),
    # a named clinician in an earlier clause does not make the report someone else's
    ("Sarah said to message you, can't pee since last night", "cauda_equina"),
    # someone named in the object of the report is not whose report it is
    ("I've written goodbye letters to my kids", "self_harm"),
    # an answer word before a comma is not a denial of what follows
    ("No, legs keep giving way", "progressive_neuro_deficit"),
    ("no. leaking all the time now", "cauda_equina"),
]


@pytest.mark.parametrize("text,category", FIRES)
def test_fires(detector, text: str, category: str) -> None:
    result = detector.detect(text)
    assert category in result.categories, (result.categories, [(s.category, s.reason) for s in result.suppressed])


# ---------------------------------------------------------------- focused: suppressed, by reason
SUPPRESSED = [
    # plain denial
    ("no numbness", REASON_DENIED),
    ("I don't have any bladder problems", REASON_DENIED),
    ("There's no chest pain or shortness of breath", REASON_DENIED),
    ("I'm not suicidal, just fed up", REASON_DENIED),
    ("never had cancer", REASON_DENIED),
    ("my legs aren't weak and nothing is numb", REASON_DENIED),
    ("I'm not thinking of harming myself", REASON_DENIED),
    ("the pain isn't getting worse, it's about the same", REASON_DENIED),
    ("I can pee fine", REASON_DENIED),
    # a benign explanation named in the pattern (`unless`)
    ("I lost 2 stone on slimming world", REASON_EXPLAINED),
    ("I took all my tablets this morning as usual", REASON_EXPLAINED),
    ("Numbness? No.", REASON_DENIED),
    ("can walk fine, no problems with my legs giving way", REASON_DENIED),
    # someone else
    ("my mum had cancer", REASON_OTHER_PERSON),
    ("my sister said she wants to end it all", REASON_OTHER_PERSON),
    ("my brother had cauda equina surgery last year", REASON_OTHER_PERSON),
    ("my mum had breast cancer in 2010, she's fine now", REASON_OTHER_PERSON),
    # figures of speech built on red-flag words
    ("I nearly collapsed laughing at the physio", REASON_FIGURE_OF_SPEECH),
    ("I was paralysed with fear before the injection", REASON_FIGURE_OF_SPEECH),
    ("I nearly had a heart attack when I saw the bill", REASON_FIGURE_OF_SPEECH),
    ("my brain goes numb doing the same exercises", REASON_FIGURE_OF_SPEECH),
    # past and resolved
    ("I had a fall ten years ago", REASON_PAST_RESOLVED),
    ("had some numbness in my foot last year but it went away", REASON_PAST_RESOLVED),
    ("I had a fever last month but it's gone", REASON_PAST_RESOLVED),
    ("I used to get dizzy with my neck but it stopped after physio", REASON_PAST_RESOLVED),
    # general / hypothetical questions
    ("what if I get numbness?", REASON_HYPOTHETICAL),
    ("What are the symptoms of cauda equina?", REASON_HYPOTHETICAL),
    ("does facet joint pain cause numbness?", REASON_HYPOTHETICAL),
    ("Can a neck manipulation cause a stroke?", REASON_HYPOTHETICAL),
    ("what should I do if my legs ever give way?", REASON_HYPOTHETICAL),
    ("Is pain in both legs normal with facet pain?", REASON_HYPOTHETICAL),
    ("will the injection make my arm feel heavy or weak afterwards?", REASON_HYPOTHETICAL),
]


# a carer or relative reporting someone else's sign happening now: a red flag about them
CARERS = [
    "my husband is having trouble peeing",
    "My son says his legs keep giving way",
    "asking for my aunt - her chest feels tight",
    "a friend of mine has been seeing double",
    "Maria keeps dropping things and says her neck hurts",
    "Sam says their legs keep giving way",
    "Chris has had a fever and back pain since the weekend",
    "asking for Tom: he can't pee",
    "my flatmate said they can't feel their feet",
    "my teenage son's legs keep buckling",
    "my little girl fell off the trampoline",
]


@pytest.mark.parametrize("text", CARERS)
def test_carer_reports_fire_about_someone_else(detector, text: str) -> None:
    result = detector.detect(text)
    assert result.fired, [(s.category, s.reason) for s in result.suppressed]
    assert result.about_other


@pytest.mark.parametrize("text,reason", SUPPRESSED)
def test_suppressed(detector, text: str, reason: str) -> None:
    result = detector.detect(text)
    assert not result.fired, [(d.category, d.text, d.pattern_id) for d in result.detections]
    assert reason in result.suppressed_reasons, [(s.category, s.reason) for s in result.suppressed]


@pytest.mark.parametrize(
    "text",
    ["what are the warning signs?", "How long do facet injections last?", "my back clicks when I twist", "telephone number"],
)
def test_unrelated_is_silent(detector, text: str) -> None:
    result = detector.detect(text)
    assert not result.fired and not result.suppressed


# ---------------------------------------------------------------- clause scoping
@pytest.mark.parametrize(
    "text,category,denied_category",
    [
        ("no numbness but I've wet myself", "cauda_equina", "progressive_neuro_deficit"),
        ("I don't have back pain, but I can't pee", "cauda_equina", None),
        ("No bladder problems, but my left leg gave out this morning", "progressive_neuro_deficit", "cauda_equina"),
        ("I'm not dizzy. My words keep coming out slurred though and my neck hurts", "vascular_neck", None),
        ("no fever, my jeans are falling off me and I'm not dieting", "cancer_or_infection", None),
        ("I don't know why but my legs keep giving way", "progressive_neuro_deficit", None),
        ("I can't sleep because I keep wetting myself", "cauda_equina", None),
    ],
)
def test_denial_only_reaches_its_own_clause(detector, text, category, denied_category) -> None:
    result = detector.detect(text)
    assert category in result.categories, result.as_dict()
    if denied_category:
        assert denied_category not in result.categories
        assert any(s.category == denied_category and s.reason == REASON_DENIED for s in result.suppressed)


def test_denial_list_covers_every_item(detector) -> None:
    result = detector.detect("No tingling, no numbness, no weakness, no problems with my waterworks")
    assert not result.fired
    assert {s.reason for s in result.suppressed} == {REASON_DENIED}


def test_hedge_beats_negation(detector) -> None:
    assert detector.detect("I'm not sure if I've been leaking").fired
    assert not detector.detect("I haven't been leaking").fired


# ---------------------------------------------------------------- result object
def test_detection_offsets_point_into_the_text(detector) -> None:
    text = "Hi there. Since Tuesday I can't pee and my legs keep giving way!"
    result = detector.detect(text)
    assert result.fired
    for det in result.detections:
        assert text.lower()[det.start : det.end] == det.text.lower()
        assert det.urgency == "emergency"


def test_most_urgent_orders_emergency_crisis_urgent() -> None:
    dets = [
        Detection("severe_worsening_pain", "urgent", "agony", 0, 5),
        Detection("self_harm", "crisis", "kms", 6, 9),
        Detection("cauda_equina", "emergency", "cant pee", 10, 18),
    ]
    assert most_urgent(dets).category == "cauda_equina"
    assert [d.urgency for d in sort_by_urgency(dets)] == ["emergency", "crisis", "urgent"]
    assert most_urgent([]) is None
    assert most_urgent(dets[:2]).category == "self_harm"


def test_result_lists_categories_most_urgent_first(detector) -> None:
    result = detector.detect("the pain is unbearable and I want to die and I can't pee")
    assert result.categories[0] == "cauda_equina"
    assert result.categories.index("self_harm") < result.categories.index("severe_worsening_pain")


def test_detect_accepts_doc_or_text(detector, nlp) -> None:
    text = "i cant feel my legs"
    assert detector.detect(nlp(text)).categories == detector.detect(text).categories


def test_build_is_idempotent(tmp_path: Path) -> None:
    from scripts.build_spacy_pipeline import build, is_up_to_date

    out = build(tmp_path / "p")
    stamp = (out / "meta.json").stat().st_mtime_ns
    assert is_up_to_date(out)
    build(out)
    assert (out / "meta.json").stat().st_mtime_ns == stamp
    build(out, force=True)
    assert is_up_to_date(out)


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
