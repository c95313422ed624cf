"""Bad input on the REST webhook of the running stack: odd texts, undecodable bodies,
JSON of the wrong shape, a missing or 10 KB sender.

The rule every case follows (a clear answer or a 4xx, and the assistant still
answers afterwards): tests/reliability/helpers.py.
"""

from __future__ import annotations

import uuid
from typing import Tuple

import pytest

from tests.conftest import new_sender, rest_send
from tests.reliability.helpers import (
    LONG_ID,
    REST_ANSWER,
    REST_MORE,
    REST_QUESTION,
    TEXT_CASES,
    assert_still_answers,
    dumps,
    is_clear_answer,
    raw_post,
    texts,
)

pytestmark = pytest.mark.stack

# ------------------------------------------------------------------------------------------ REST

# Rasa 3.6's stock REST channel answered 500 to a non-object body, an empty 200 to a non-string `message` or
# non-object `metadata`, and filed a message without `sender` under the shared conversation 'default'.
# credentials.yml now names channels.rest_validated.ValidatedRestInput, which answers 400 to all of these.


def rest_url(stack) -> str:
    return f"{stack.rasa_url}/webhooks/rest/webhook"


def acceptable(status: int, body: bytes) -> Tuple[bool, str]:
    """A 4xx, or a 200 whose JSON reply answers the turn."""
    if 400 <= status < 500:
        return True, f"{status}"
    if status == 200:
        try:
            import json

            messages = json.loads(body)
        except ValueError:
            return False, f"200 with a body that is not JSON: {body[:200]!r}"
        if is_clear_answer(messages):
            return True, "200 answered"
        return False, f"200 without an answer: {texts(messages)}"
    return False, f"HTTP {status}: {body[:300]!r}"


@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_rest_text_cases_are_answered(stack, case: str) -> None:
    status, body = raw_post(rest_url(stack), dumps({"sender": new_sender(f"bad-{case}"), "message": TEXT_CASES[case]}))
    ok, what = acceptable(status, body)
    assert ok, f"{case}: {what}"
    if len(dumps({"message": TEXT_CASES[case]})) > 65_536:  # over the request cap (MAX_REQUEST_BYTES): refused before NLU
        assert status == 413, f"{case}: a body over the cap should get 413, got {status}"
    else:
        assert status == 200, f"{case}: plain text (even empty) should be answered, got {status}"
    assert_still_answers(stack)


def _sender() -> str:
    return new_sender("bad-shape")


RAW_CASES = [
    pytest.param("invalid_utf8", lambda: b'{"sender": "' + _sender().encode() + b'", "message": "\xff\xfe back \xc3\x28 pain"}'),
    pytest.param("not_json", lambda: REST_QUESTION.encode()),
    pytest.param("truncated_json", lambda: b'{"sender": "someone", "message": "should I re'),
    pytest.param("empty_body", lambda: b""),
]


@pytest.mark.parametrize("case,body", RAW_CASES)
def test_rest_undecodable_bodies_get_a_4xx(stack, case: str, body) -> None:
    status, reply = raw_post(rest_url(stack), body())
    try:
        ok, what = acceptable(status, reply)
        assert ok, f"{case}: {what}"
    finally:
        assert_still_answers(stack)


SHAPE_CASES = [
    pytest.param("list", lambda: [{"sender": _sender(), "message": REST_QUESTION}]),
    pytest.param("number", lambda: 42),
    pytest.param("string", lambda: REST_QUESTION),
    pytest.param("null", lambda: None),
    pytest.param("empty_object", lambda: {}),
    pytest.param("missing_message", lambda: {"sender": _sender()}),
    pytest.param("message_null", lambda: {"sender": _sender(), "message": None}),
    pytest.param("message_object", lambda: {"sender": _sender(), "message": {"text": REST_QUESTION}}),
    pytest.param("message_number", lambda: {"sender": _sender(), "message": 12345}),
    pytest.param("sender_object", lambda: {"sender": {"id": 1}, "message": REST_QUESTION}),
    pytest.param("sender_number", lambda: {"sender": 447700900123, "message": REST_QUESTION}),
    pytest.param("long_sender_10kb", lambda: {"sender": LONG_ID + uuid.uuid4().hex, "message": REST_QUESTION}),
    pytest.param("unknown_keys", lambda: {"sender": _sender(), "message": REST_QUESTION, "unknown": [True, None]}),
    pytest.param("input_channel_object", lambda: {"sender": _sender(), "message": REST_QUESTION, "input_channel": {"x": 1}}),
    pytest.param("metadata_list", lambda: {"sender": _sender(), "message": REST_QUESTION, "metadata": [1, 2]}),
]


@pytest.mark.parametrize("case,payload", SHAPE_CASES)
def test_rest_json_of_the_wrong_shape(stack, case: str, payload) -> None:
    status, body = raw_post(rest_url(stack), dumps(payload()))
    try:
        ok, what = acceptable(status, body)
        assert ok, f"{case}: {what}"
    finally:  # even when the case itself is a known failure, the server must not be hurt by it
        assert_still_answers(stack)


def test_rest_message_without_sender_is_refused_not_merged_into_a_shared_conversation(stack) -> None:
    status, _ = raw_post(rest_url(stack), dumps({"message": REST_QUESTION}))
    assert 400 <= status < 500, f"a message without `sender` was accepted (HTTP {status}) into conversation 'default'"


def test_rest_long_sender_is_refused_with_a_clear_error(stack) -> None:
    """A 10 KB sender id used to open a conversation that staff could not reach (its tracker URL
    was too long for Rasa's HTTP API, HTTP 413) nor ticket (conversation ids are 255 characters
    in the ticket store). It is refused up front; 255 characters still work."""
    status, body = raw_post(rest_url(stack), dumps({"sender": LONG_ID + uuid.uuid4().hex, "message": REST_QUESTION}))
    assert status == 400 and b"longer than 255" in body
    sender = ("long-" + "x" * 300)[:255]
    assert REST_ANSWER in texts(rest_send(stack, sender, REST_QUESTION))
    assert REST_MORE in texts(rest_send(stack, sender, "tell me more"))
