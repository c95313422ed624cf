"""The two runtime policies on real trackers and the project's domain:
RedFlagPolicy (components/red_flag_policy.py) runs the safety turn whatever the
state, HandoffPolicy (components/handoff_policy.py) keeps the bot quiet while
staff have the conversation, and Rasa's ensemble lets the safety path through."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import pytest
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME, USER_INTENT_RESTART
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_bot import names
from components.handoff_policy import HandoffPolicy
from components.red_flag_policy import RedFlagPolicy
from tests.components.graph_helpers import create_component, project_config


# ---------------------------------------------------------------- conversations
def session_start() -> List[Event]:
    return [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)]


def user(intent: str, text: str = "...") -> List[Event]:
    return [UserUttered(text, intent={"name": intent, "confidence": 1.0})]


def bot(*actions: str) -> List[Event]:
    return [ActionExecuted(a) for a in actions]


def listen() -> List[Event]:
    return [ActionExecuted(ACTION_LISTEN_NAME)]


def tracker(domain: Domain, *parts: List[Event], handoff: bool = False) -> DialogueStateTracker:
    events: List[Event] = [e for part in parts for e in part]
    if handoff:
        # after the session start, which resets the slots
        starts = [i for i, e in enumerate(events) if isinstance(e, SessionStarted)]
        events.insert(starts[-1] + 1 if starts else 0, SlotSet(names.SLOT_HANDOFF, True))
    return DialogueStateTracker.from_events("unit-test", events, slots=domain.slots)


def predicted(prediction: PolicyPrediction, domain: Domain) -> Optional[str]:
    """The action a policy is sure of, or None when it abstains (all zeros)."""
    probabilities = np.asarray(prediction.probabilities)
    if probabilities.max() == 0.0:
        return None
    assert probabilities.max() == 1.0 and (probabilities > 0).sum() == 1
    return domain.action_names_or_texts[int(probabilities.argmax())]


@pytest.fixture
def red_flag_policy(model_storage, execution_context) -> RedFlagPolicy:
    return create_component(RedFlagPolicy, project_config(RedFlagPolicy), model_storage, execution_context)


@pytest.fixture
def handoff_policy(model_storage, execution_context) -> HandoffPolicy:
    return create_component(HandoffPolicy, project_config(HandoffPolicy), model_storage, execution_context)


def run_turn(policy: Any, domain: Domain, *parts: List[Event], handoff: bool = False, limit: int = 5) -> List[str]:
    """Let the policy alone drive one bot turn: the actions it predicts until it listens or abstains."""
    done: List[Event] = []
    actions: List[str] = []
    for _ in range(limit):
        action = predicted(policy.predict_action_probabilities(tracker(domain, *parts, done, handoff=handoff), domain), domain)
        if action is None:
            break
        actions.append(action)
        if action == ACTION_LISTEN_NAME:
            break
        done += bot(action)
    return actions


# ---------------------------------------------------------------- RedFlagPolicy
def test_a_red_flag_gets_safety_advice_then_escalation_then_listens(red_flag_policy, domain) -> None:
    turn = run_turn(red_flag_policy, domain, session_start(), user(names.INTENT_RED_FLAG))
    assert turn == [names.UTTER_SAFETY, names.ACTION_ESCALATE, ACTION_LISTEN_NAME]


def test_a_red_flag_mid_topic_or_without_a_session_start_is_handled_the_same(red_flag_policy, domain) -> None:
    mid_topic = run_turn(red_flag_policy, domain, session_start(), user("faq"), bot("utter_faq"), listen(), user(names.INTENT_RED_FLAG))
    # the action server was down at session start: no session events at all
    no_session = run_turn(red_flag_policy, domain, listen(), user(names.INTENT_RED_FLAG))
    assert mid_topic == no_session == [names.UTTER_SAFETY, names.ACTION_ESCALATE, ACTION_LISTEN_NAME]


def test_weak_evidence_asks_the_check_and_logs_it(red_flag_policy, domain) -> None:
    turn = run_turn(red_flag_policy, domain, session_start(), user(names.INTENT_RED_FLAG_CHECK))
    assert turn == [names.UTTER_CHECK, names.ACTION_LOG_CHECK, ACTION_LISTEN_NAME]


def asked_check() -> List[Event]:
    return session_start() + user(names.INTENT_RED_FLAG_CHECK) + bot(names.UTTER_CHECK, names.ACTION_LOG_CHECK) + listen()


@pytest.mark.parametrize("answer", [names.INTENT_CHECK_YES, names.INTENT_AFFIRM])
def test_yes_to_the_check_escalates(red_flag_policy, domain, answer) -> None:
    assert run_turn(red_flag_policy, domain, asked_check(), user(answer)) == [names.UTTER_SAFETY, names.ACTION_ESCALATE, ACTION_LISTEN_NAME]


@pytest.mark.parametrize("answer", [names.INTENT_CHECK_NO, names.INTENT_DENY])
def test_no_to_the_check_answers_what_they_asked(red_flag_policy, domain, answer) -> None:
    assert run_turn(red_flag_policy, domain, asked_check(), user(answer)) == [names.ACTION_ANSWER_AFTER_CHECK, ACTION_LISTEN_NAME]


def test_no_to_the_check_during_handoff_leaves_the_turn_to_staff(red_flag_policy, domain) -> None:
    assert run_turn(red_flag_policy, domain, asked_check(), user(names.INTENT_CHECK_NO), handoff=True) == []


@pytest.mark.parametrize("answer", [names.INTENT_AFFIRM, names.INTENT_DENY])
def test_yes_or_no_after_anything_but_the_check_is_not_its_business(red_flag_policy, domain, answer) -> None:
    history = session_start() + user("faq") + bot("utter_faq") + listen()
    assert run_turn(red_flag_policy, domain, history, user(answer)) == []


def test_a_yes_two_turns_after_the_check_is_not_an_answer_to_it(red_flag_policy, domain) -> None:
    later = asked_check() + user("faq") + bot("utter_faq") + listen()
    assert run_turn(red_flag_policy, domain, later, user(names.INTENT_AFFIRM)) == []


@pytest.mark.parametrize("intent", ["faq", "greet", names.INTENT_REQUEST_HUMAN, names.INTENT_FALLBACK])
def test_ordinary_turns_are_left_to_the_other_policies(red_flag_policy, domain, intent) -> None:
    assert run_turn(red_flag_policy, domain, session_start(), user(intent)) == []


def test_nothing_to_say_before_the_first_user_message(red_flag_policy, domain) -> None:
    prediction = red_flag_policy.predict_action_probabilities(tracker(domain, session_start()), domain)
    assert predicted(prediction, domain) is None


def test_policy_priorities_put_safety_above_handoff_above_rules(red_flag_policy, handoff_policy) -> None:
    assert red_flag_policy.priority == 8 and handoff_policy.priority == 7
    # RulePolicy's default priority is 6: both runtime policies win a tie with it
    assert handoff_policy.priority > 6


# ---------------------------------------------------------------- HandoffPolicy
def in_handoff(intent: str) -> List[Event]:
    return session_start() + user(names.INTENT_REQUEST_HUMAN) + bot("action_handoff") + listen() + user(intent)


@pytest.mark.parametrize("intent", ["faq", "greet", names.INTENT_AFFIRM, names.INTENT_CHECK_NO, names.INTENT_FALLBACK])
def test_in_handoff_the_bot_only_listens(handoff_policy, domain, intent) -> None:
    assert run_turn(handoff_policy, domain, in_handoff(intent), handoff=True) == [ACTION_LISTEN_NAME]


@pytest.mark.parametrize("intent", [names.INTENT_RED_FLAG, names.INTENT_RED_FLAG_CHECK, names.INTENT_CHECK_YES, USER_INTENT_RESTART])
def test_the_safety_path_and_restart_pass_through_handoff(handoff_policy, domain, intent) -> None:
    assert run_turn(handoff_policy, domain, in_handoff(intent), handoff=True) == []


def test_without_handoff_it_abstains(handoff_policy, domain) -> None:
    assert run_turn(handoff_policy, domain, in_handoff("faq"), handoff=False) == []


def test_it_holds_only_at_the_start_of_a_turn(handoff_policy, domain) -> None:
    # an action already ran after the user spoke (here the handoff notice): the policy abstains
    t = tracker(domain, in_handoff("faq"), bot("utter_handoff_started"), [BotUttered("A person from the clinic will reply here.")], handoff=True)
    assert predicted(handoff_policy.predict_action_probabilities(t, domain), domain) is None


# ---------------------------------------------------------------- together, as Rasa combines them
def combined(policies: Dict[str, Any], t: DialogueStateTracker, domain: Domain) -> Optional[str]:
    kwargs = {name: p.predict_action_probabilities(t, domain) for name, p in policies.items()}
    best = DefaultPolicyPredictionEnsemble().combine_predictions_from_kwargs(t, domain, **kwargs)
    return predicted(best, domain)


def test_during_handoff_a_red_flag_still_gets_safety_advice(red_flag_policy, handoff_policy, domain) -> None:
    policies = {"red_flag": red_flag_policy, "handoff": handoff_policy}
    t = tracker(domain, in_handoff(names.INTENT_RED_FLAG), handoff=True)
    assert combined(policies, t, domain) == names.UTTER_SAFETY
    t = tracker(domain, in_handoff("faq"), handoff=True)
    assert combined(policies, t, domain) == ACTION_LISTEN_NAME
