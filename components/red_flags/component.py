"""Rasa graph component: the rule-based red-flag layer.

Place it in the NLU pipeline AFTER the intent classifier, ResponseSelector and
any fallback/gating components, e.g.

    - name: components.red_flags.component.RedFlagEntityDetector
      # patterns_file: components/red_flags/patterns.yml   (default: beside this module)
      # intent_name: report_red_flag                        (default)

For every message it runs `RedFlagDetector` on the spaCy doc that `SpacyNLP`
put on the message (`text_spacy_doc`), gathers the evidence of both layers (rule
matches, carers' reports, crisis mentions, suppressed or figurative wording, the
ML layer's confidence and rank for `report_red_flag`) and applies the one safety
decision (`clinic_bot.safety.decide`):

* escalate: the intent becomes `report_red_flag` (the original kept in
  `red_flag_override`) with three entities, `red_flag` (category),
  `red_flag_urgency` (from the table in config/safety.yml; "unspecified" when the
  ML layer alone decided) and `red_flag_about` (self, or other for a carer);
* check: the intent becomes `red_flag_check` (the original kept in
  `red_flag_override`), which the dialogue answers with one safety question;
* continue: an ML-only `report_red_flag` is replaced by the best other intent
  (reasons in `red_flag_suppressed`); anything else is left alone.

The decision and its reasons are added to the parse data as `safety_decision`.

The pattern file is read from disk when the component is created (it is not
copied into the trained model), so knowledge updates need a restart, not a
retrain.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic_bot import names
from clinic_bot.safety import CHECK, CONTINUE, CRISIS_CATEGORY, ESCALATE, UNSPECIFIED, Decision, Evidence, decide
from components.red_flags import DEFAULT_PATTERNS_FILE, DetectionResult, RedFlagDetector
from components.red_flags.normalise import lowercase_keeping_offsets

logger = logging.getLogger(__name__)

OVERRIDE_KEY = names.PARSE_OVERRIDE
SUPPRESSED_KEY = "red_flag_suppressed"
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@functools.lru_cache(maxsize=1)
def _fallback_nlp() -> Any:
    """Same recipe as scripts/build_spacy_pipeline.py, built in memory.

    Only used when a message arrives without a spaCy doc (e.g. SpacyNLP missing
    or the doc text does not line up with the message text).
    """
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except Exception:  # pragma: no cover - lookups data missing
        logger.warning("red flags: fallback pipeline without lemmatizer")
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    return nlp


def _resolve_patterns_file(value: Optional[Text]) -> Path:
    if not value:
        return DEFAULT_PATTERNS_FILE
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    candidate = PROJECT_ROOT / path
    return candidate if candidate.exists() else path


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class RedFlagEntityDetector(GraphComponent, EntityExtractorMixin):
    """Adds `red_flag` entities and enforces the `report_red_flag` intent."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Needs `SpacyNLP` earlier in the pipeline (it provides `text_spacy_doc`)."""
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # path to the pattern file; relative paths are tried against the
            # working directory and then the project root
            "patterns_file": None,
            # the intent that triggers the red-flag rule in the dialogue
            "intent_name": "report_red_flag",
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy", "yaml"]

    def __init__(self, config: Dict[Text, Any], detector: Optional[RedFlagDetector] = None) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        self.intent_name: Text = self._config["intent_name"]
        self.patterns_file = _resolve_patterns_file(self._config.get("patterns_file"))
        # Fail loudly at start-up if the knowledge file is missing or broken:
        # silently running without the safety layer is worse than not starting.
        self.detector = detector or RedFlagDetector(patterns_file=self.patterns_file).warm_up()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagEntityDetector:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    # ------------------------------------------------------------------ helpers
    def _doc_for(self, message: Message) -> Any:
        text = message.get(TEXT) or ""
        doc = message.get(SPACY_DOCS[TEXT])
        if doc is not None and len(doc.text) == len(text):
            return doc
        if doc is None:
            logger.warning(
                "RedFlagEntityDetector: message has no '%s'; is SpacyNLP in the pipeline? " "Using a fallback pipeline.",
                SPACY_DOCS[TEXT],
            )
        return _fallback_nlp()(lowercase_keeping_offsets(text))

    def detect(self, message: Message) -> DetectionResult:
        return self.detector.detect(self._doc_for(message))

    def _evidence(self, message: Message, result: Optional[DetectionResult]) -> Evidence:
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != DEFAULT_NLU_FALLBACK_INTENT_NAME]
        rank, confidence = 99, 0.0
        for i, r in enumerate(ranking):
            if r.get(INTENT_NAME_KEY) == self.intent_name:
                rank, confidence = i + 1, float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                break
        if result is None:
            return Evidence(ml_confidence=confidence, ml_rank=rank)
        return Evidence(
            rule_categories=result.categories,
            about_other=result.about_other,
            crisis_mention=any(m.category == CRISIS_CATEGORY for m in result.mentions),
            only_suppressed=bool(result.suppressed) and not result.mentions,
            figurative=result.figurative,
            ml_confidence=confidence,
            ml_rank=rank,
        )

    def _entities(self, result: Optional[DetectionResult], decision: Decision) -> List[Dict[Text, Any]]:
        """The category, urgency and person entities; they fill the slots the safety message reads."""
        det = next((d for d in (result.first_per_category() if result else []) if d.category == decision.category), None)
        start, end = (det.start, det.end) if det else (0, 0)
        # no category (the ML layer alone): the urgency entity says so, which picks
        # the broad safety message (domain/safety.yml) that also gives the crisis line
        urgency = UNSPECIFIED if decision.category == UNSPECIFIED else decision.urgency
        values = ((names.ENTITY_RED_FLAG, decision.category), (names.ENTITY_URGENCY, urgency), (names.ENTITY_ABOUT, decision.about))
        return [
            {
                ENTITY_ATTRIBUTE_TYPE: entity,
                ENTITY_ATTRIBUTE_VALUE: value,
                ENTITY_ATTRIBUTE_START: start,
                ENTITY_ATTRIBUTE_END: end,
                ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                EXTRACTOR: self.name,
            }
            for entity, value in values
        ]

    def _set_intent(self, message: Message, name: Text, confidence: float) -> None:
        forced = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, dict(forced), add_to_output=True)
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != name]
        message.set(INTENT_RANKING_KEY, [dict(forced)] + ranking, add_to_output=True)

    def _escalate(self, message: Message, result: Optional[DetectionResult], decision: Decision) -> None:
        own = {names.ENTITY_RED_FLAG, names.ENTITY_URGENCY, names.ENTITY_ABOUT}
        existing = [e for e in (message.get(ENTITIES) or []) if not (e.get(EXTRACTOR) == self.name and e.get(ENTITY_ATTRIBUTE_TYPE) in own)]
        message.set(ENTITIES, existing + self._entities(result, decision), add_to_output=True)
        intent = message.get(INTENT) or {}
        if intent.get(INTENT_NAME_KEY) == self.intent_name:
            return
        message.set(OVERRIDE_KEY, {"original_intent": intent, "categories": result.categories if result else []}, add_to_output=True)
        self._set_intent(message, self.intent_name, 1.0)

    def _check(self, message: Message) -> None:
        message.set(OVERRIDE_KEY, {"original_intent": message.get(INTENT), "check": True}, add_to_output=True)
        self._set_intent(message, names.INTENT_RED_FLAG_CHECK, 1.0)

    def _downgrade(self, message: Message, result: Optional[DetectionResult]) -> None:
        """The ML layer said red flag but the decision is to carry on: take the best other intent."""
        ranking = message.get(INTENT_RANKING_KEY) or []
        best = next((r for r in ranking if r.get(INTENT_NAME_KEY) not in (self.intent_name, DEFAULT_NLU_FALLBACK_INTENT_NAME, None)), None)
        if best is None:
            return
        original = message.get(INTENT) or {}
        message.set(
            SUPPRESSED_KEY,
            {
                "reasons": result.suppressed_reasons if result else [],
                "categories": sorted({s.category for s in result.suppressed}) if result else [],
                "original_intent": original,
            },
            add_to_output=True,
        )
        message.set(
            INTENT, {INTENT_NAME_KEY: best[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: best.get(PREDICTED_CONFIDENCE_KEY, 0.0)}, add_to_output=True
        )
        message.set(INTENT_RANKING_KEY, [r for r in ranking if r.get(INTENT_NAME_KEY) != self.intent_name], add_to_output=True)

    # ------------------------------------------------------------------ graph API
    def process(self, messages: List[Message]) -> List[Message]:
        """Runs the rules, asks the one safety decision, and applies it (see module docstring)."""
        for message in messages:
            if not message.get(TEXT):
                continue
            try:
                result: Optional[DetectionResult] = self.detect(message)
            except Exception:  # never take the assistant down; the ML layer still counts
                logger.exception("RedFlagEntityDetector failed on a message; deciding on the ML layer alone")
                result = None
            decision = decide(self._evidence(message, result))
            if decision.action == ESCALATE:
                self._escalate(message, result, decision)
            elif decision.action == CHECK:
                self._check(message)
            elif (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == self.intent_name:
                self._downgrade(message, result)
            if decision.action != CONTINUE or decision.reasons:
                message.set(names.PARSE_SAFETY, decision.as_dict(), add_to_output=True)
        return messages
