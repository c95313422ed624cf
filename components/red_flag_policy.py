"""The red-flag turn, independent of everything else in the conversation.

A red flag must always get safety advice first, then escalation, whatever state
the conversation is in: in handoff, mid-topic, or after a failed session start
when the action server is down (which leaves the tracker without the shape the
RulePolicy matches on). This policy looks only at the current turn: after a
`report_red_flag` message it predicts the safety response, then the escalation
action, then listens.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from components.runtime_policy import RuntimePolicy

IGNORED_ACTIONS = {ACTION_LISTEN_NAME, "action_extract_slots"}


def actions_this_turn(tracker: DialogueStateTracker) -> Optional[List[str]]:
    """Names of the actions run since the latest user message (None: no user message yet)."""
    names: List[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return list(reversed(names))
        if isinstance(event, ActionExecuted) and event.action_name not in IGNORED_ACTIONS:
            names.append(event.action_name)
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class RedFlagPolicy(RuntimePolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "priority": 8,
            "intent": "report_red_flag",
            "sequence": ["utter_red_flag_safety", "action_escalate_red_flag"],
        }


    def next_action(self, tracker: DialogueStateTracker) -> Optional[str]:
        intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        if intent != self.config["intent"]:
            return None
        done = actions_this_turn(tracker)
        if done is None:
            return None
        sequence = self.config["sequence"]
        if len(done) < len(sequence) and done == sequence[: len(done)]:
            return sequence[len(done)]
        return ACTION_LISTEN_NAME

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain, rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self.next_action(tracker)
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)
