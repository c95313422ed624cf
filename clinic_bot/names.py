"""Names that link the NLU, the dialogue, the actions and the console.

Intent, entity, slot and parse-data keys appear in the domain YAML and in
several Python packages; the Python side reads them from here.
"""

from __future__ import annotations

# intents
INTENT_FAQ = "faq"
INTENT_RED_FLAG = "report_red_flag"
# set by the safety decision when the evidence is weak; never typed or trained
INTENT_RED_FLAG_CHECK = "red_flag_check"
# the check's quick replies (button payloads)
INTENT_CHECK_YES = "red_flag_confirmed"
INTENT_CHECK_NO = "red_flag_denied"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_OUT_OF_SCOPE = "out_of_scope"
INTENT_REQUEST_HUMAN = "request_human"
INTENT_FALLBACK = "nlu_fallback"
INTENT_GREET = "greet"
# set by clinic_bot/message_guard.py for a cut message with no red flag; never typed or trained
INTENT_MESSAGE_TOO_LONG = "message_too_long"
# set by clinic_bot/message_guard.py for a conversation over its message rate
INTENT_RATE_LIMITED = "message_rate_limited"

# entities (the safety decision emits all three on an escalation)
ENTITY_RED_FLAG = "red_flag"
ENTITY_URGENCY = "red_flag_urgency"
ENTITY_ABOUT = "red_flag_about"

# slots
SLOT_CATEGORY = "red_flag_category"
SLOT_URGENCY = "red_flag_urgency"
SLOT_ABOUT = "red_flag_about"
SLOT_HANDOFF = "handoff_active"
SLOT_LAST_TOPIC = "last_faq_topic"

# keys the custom NLU components add to the parse data
PARSE_SAFETY = "safety_decision"
# the intent a message had before the safety decision replaced it
PARSE_OVERRIDE = "red_flag_override"
PARSE_FAQ_GATE = "faq_gate"

# actions and responses of the safety path
UTTER_SAFETY = "utter_red_flag_safety"
UTTER_CHECK = "utter_red_flag_check"
ACTION_ESCALATE = "action_escalate_red_flag"
ACTION_LOG_CHECK = "action_log_safety_check"
ACTION_ANSWER_AFTER_CHECK = "action_answer_after_check"
