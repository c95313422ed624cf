"""The safety turn, independent of everything else in the conversation.

A red flag must always get safety advice first, then escalation, whatever state
the conversation is in: in handoff, mid-topic, or after a failed session start
when the action server is down (which leaves the tracker without the shape the
RulePolicy matches on). This policy looks only at the current turn and at
whether the bot's previous turn asked the safety check:

* `report_red_flag` (the safety decision said escalate), or a "yes" to the
  check: the safety response, then the escalation action;
* `red_flag_check` (weak evidence): the one-question check, then its log entry
  for staff;
* a "no" to the check: the answer to what the person first asked (not while a
  person from the clinic has taken over: then the bot stays quiet).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_bot import names
from components.runtime_policy import RuntimePolicy

IGNORED_ACTIONS = {ACTION_LISTEN_NAME, "action_extract_slots"}
ESCALATE = [names.UTTER_SAFETY, names.ACTION_ESCALATE]
CHECK = [names.UTTER_CHECK, names.ACTION_LOG_CHECK]
ANSWER = [names.ACTION_ANSWER_AFTER_CHECK]


def actions_this_turn(tracker: DialogueStateTracker) -> Optional[List[str]]:
    """Names of the actions run since the latest user message (None: no user message yet)."""
    names_: List[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return list(reversed(names_))
        if isinstance(event, ActionExecuted) and event.action_name not in IGNORED_ACTIONS:
            names_.append(event.action_name)
    return None


def previous_turn_checked(tracker: DialogueStateTracker) -> bool:
    """The bot's last turn before the latest user message asked the safety check."""
    seen_user = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_user:
                return False
            seen_user = True
        elif seen_user and isinstance(event, ActionExecuted) and event.action_name not in IGNORED_ACTIONS:
            return event.action_name in CHECK
    return False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class RedFlagPolicy(RuntimePolicy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": 8}

    def sequence_for(self, tracker: DialogueStateTracker) -> Optional[List[str]]:
        intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
        if intent in (names.INTENT_RED_FLAG, names.INTENT_CHECK_YES):
            return ESCALATE
        if intent == names.INTENT_RED_FLAG_CHECK:
            return CHECK
        answered_check = intent == names.INTENT_CHECK_NO or (intent in (names.INTENT_AFFIRM, names.INTENT_DENY) and previous_turn_checked(tracker))
        if not answered_check:
            return None
        if intent == names.INTENT_AFFIRM:
            return ESCALATE
        return None if tracker.get_slot(names.SLOT_HANDOFF) else ANSWER

    def next_action(self, tracker: DialogueStateTracker) -> Optional[str]:
        sequence = self.sequence_for(tracker)
        if sequence is None:
            return None
        done = actions_this_turn(tracker)
        if done is None:
            return None
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
