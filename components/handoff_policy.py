"""Keeps the bot quiet while a conversation is with staff.

When the `handoff_active` slot is true, every new user message is only
recorded (staff see it in the console) and the bot listens, unless the message
is a red flag: safety advice always goes out at once, so red flags fall through
to the rules. Staff hand the conversation back by clearing the slot.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME, USER_INTENT_RESTART
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_bot import names
from components.runtime_policy import RuntimePolicy


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class HandoffPolicy(RuntimePolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 7,
            "slot": names.SLOT_HANDOFF,
            # the safety path speaks during handoff too (see RedFlagPolicy)
            "passthrough_intents": [names.INTENT_RED_FLAG, names.INTENT_RED_FLAG_CHECK, names.INTENT_CHECK_YES, USER_INTENT_RESTART],
        }

    def should_hold(self, tracker: DialogueStateTracker) -> bool:
        if not tracker.get_slot(self.config["slot"]):
            return False
        if tracker.latest_action_name != ACTION_LISTEN_NAME:
            return False
        if not isinstance(tracker.events[-1] if tracker.events else None, UserUttered) and not tracker.latest_message:
            return False
        intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        return intent not in self.config["passthrough_intents"]

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if self.should_hold(tracker):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)
