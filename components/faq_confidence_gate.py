"""Route uncertain FAQ answers to the clarification path.

Rasa's FallbackClassifier only looks at the intent confidence; it ignores the
ResponseSelector's confidence in the FAQ topic (rasa#9751). This component
closes that gap: when the intent is `faq` but the chosen topic is unsure (low
confidence, or too close to the runner-up) it sets the intent to
`nlu_fallback`, keeping the full rankings so the fallback action can offer the
most likely topics as buttons.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from clinic_bot import names

RESPONSE_SELECTOR = "response_selector"


def topic_confidences(message: Message, retrieval_intent: Text) -> List[float]:
    selector = (message.get(RESPONSE_SELECTOR) or {}).get(retrieval_intent) or {}
    return [float(r.get(PREDICTED_CONFIDENCE_KEY, 0.0)) for r in selector.get("ranking") or []]


def topic_uncertainty(confidences: List[float], threshold: float, ambiguity: float) -> Optional[str]:
    """Why a topic ranking (best first) is not safe to answer from, or None if it is.

    Also replayed offline by scripts/calibrate_gate.py to compare thresholds.
    """
    if not confidences:
        return "no topic ranking"
    if confidences[0] < threshold:
        return f"topic confidence {confidences[0]:.2f} < {threshold}"
    if len(confidences) > 1 and confidences[0] - confidences[1] < ambiguity:
        return f"top topics within {ambiguity}"
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class FaqConfidenceGate(GraphComponent):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [FallbackClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"retrieval_intent": "faq", "threshold": 0.5, "ambiguity_threshold": 0.1}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.retrieval_intent = config["retrieval_intent"]
        self.threshold = float(config["threshold"])
        self.ambiguity = float(config["ambiguity_threshold"])

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "FaqConfidenceGate":
        return cls(config)

    def uncertainty(self, message: Message) -> Optional[str]:
        """Why the FAQ topic is not safe to answer, or None if it is."""
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) != self.retrieval_intent:
            return None
        return topic_uncertainty(topic_confidences(message, self.retrieval_intent), self.threshold, self.ambiguity)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            reason = self.uncertainty(message)
            if reason is None:
                continue
            message.set(names.PARSE_FAQ_GATE, {"reason": reason, "original_intent": message.get(INTENT)}, add_to_output=True)
            message.set(INTENT, {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: self.threshold}, add_to_output=True)
        return messages
