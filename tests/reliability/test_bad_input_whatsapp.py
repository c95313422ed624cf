"""Bad input on the WhatsApp webhook of the running stack: odd texts, bodies of the wrong
shape or size, and bad signatures.

The rule every case follows (a clear answer or a 4xx, and the assistant still
answers afterwards): tests/reliability/helpers.py.
"""

from __future__ import annotations

import time
import uuid
from typing import List

import pytest

from tests.reliability.helpers import (
    CREDENTIALS,
    REST_ANSWER,
    REST_QUESTION,
    ROOT,
    TEXT_CASES,
    assert_servers_alive,
    assert_still_answers,
    dumps,
    graph_messages_to,
    graph_texts,
    post_whatsapp,
    wait_until,
    whatsapp_notification,
    whatsapp_text,
)

pytestmark = pytest.mark.stack

# ------------------------------------------------------------------------------------------ WhatsApp

WHATSAPP_READY = (ROOT / "channels" / "whatsapp" / "__init__.py").exists() and "channels.whatsapp.WhatsAppInput" in CREDENTIALS
needs_whatsapp = pytest.mark.skipif(
    not WHATSAPP_READY,
    reason="WhatsApp channel not there yet (channels/whatsapp/ + channels.whatsapp.WhatsAppInput "
    "in credentials.yml): its bad-input cases are skipped",
)


def wa_id() -> str:
    return "4477009" + str(uuid.uuid4().int)[:5]


def wamid() -> str:
    return "wamid.TEST" + uuid.uuid4().hex


def _wait_reply(recorder, who: str, timeout_s: float = 30.0) -> List[str]:
    wait_until(lambda: graph_messages_to(recorder, who), timeout_s=timeout_s)
    time.sleep(0.5)  # a turn may send several messages
    return graph_texts(graph_messages_to(recorder, who))


def _whatsapp_still_answers(stack, recorder) -> None:
    who = wa_id()
    status, body = post_whatsapp(stack, dumps(whatsapp_text(who, REST_QUESTION, wamid())))
    assert status == 200, (status, body)
    wait_until(lambda: any(REST_ANSWER.split("\n")[0] in t for t in graph_texts(graph_messages_to(recorder, who))), timeout_s=30)
    replies = graph_texts(graph_messages_to(recorder, who))
    assert any(REST_ANSWER.split("\n")[0] in t for t in replies), f"WhatsApp: {REST_QUESTION!r} not answered: {replies}"
    assert_still_answers(stack)


@needs_whatsapp
@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_whatsapp_text_cases(stack, recorder, case: str) -> None:
    who = wa_id()
    status, body = post_whatsapp(stack, dumps(whatsapp_text(who, TEXT_CASES[case], wamid())))
    assert status == 200, f"{case}: HTTP {status} {body[:200]!r}"
    if TEXT_CASES[case].strip():
        replies = _wait_reply(recorder, who, timeout_s=90 if case == "100kb" else 30)
        assert any(replies), f"{case}: no WhatsApp reply"
    _whatsapp_still_answers(stack, recorder)


WA_BAD = {
    "empty_body": lambda: b"",
    "invalid_utf8": lambda: b'{"object": "whatsapp_business_account", "entry": ["\xff\xfe\xc3\x28"]}',
    "not_json": lambda: b"should I rest?",
    "json_list": lambda: dumps([whatsapp_text(wa_id(), REST_QUESTION, wamid())]),
    "json_number": lambda: b"42",
    "missing_keys": lambda: b"{}",
    "entry_not_a_list": lambda: dumps({"object": "whatsapp_business_account", "entry": {"id": 1}}),
    "changes_garbage": lambda: dumps({"object": "whatsapp_business_account", "entry": [{"changes": [1, None, "x"]}]}),
    "message_without_id": lambda: dumps(whatsapp_notification("447700900111", {"from": "447700900111", "type": "text", "text": {"body": "hi"}})),
    "text_body_object": lambda: dumps(whatsapp_text(wa_id(), {"body": REST_QUESTION}, wamid())),
    "text_body_number": lambda: dumps(whatsapp_text(wa_id(), 12345, wamid())),
    "wa_id_10kb": lambda: dumps(whatsapp_text("4" * 10_240, REST_QUESTION, wamid())),
    "unknown_type": lambda: dumps(
        whatsapp_notification("447700900112", {"from": "447700900112", "id": wamid(), "type": "hologram", "hologram": {"x": 1}})
    ),
    "body_over_256kb": lambda: dumps(whatsapp_text(wa_id(), "x" * 300_000, wamid())),
}


@needs_whatsapp
@pytest.mark.parametrize("case", sorted(WA_BAD))
def test_whatsapp_bad_bodies(stack, recorder, case: str) -> None:
    status, body = post_whatsapp(stack, WA_BAD[case]())
    assert status < 500, f"{case}: HTTP {status} {body[:300]!r}"
    assert status in (200, 400, 403, 413), f"{case}: unexpected HTTP {status}"
    _whatsapp_still_answers(stack, recorder)


BAD_SIGNATURES = {
    "missing": None,
    "empty": "",
    "wrong_hmac": "sha256=" + "0" * 64,
    "sha1": "sha1=abc",
    "latin1_garbage": "sha256=\u00e9\u00e9",
    "10kb": "x" * 10_000,
}


@needs_whatsapp
@pytest.mark.parametrize("case", sorted(BAD_SIGNATURES))
def test_whatsapp_bad_signatures_are_refused(stack, recorder, case: str) -> None:
    body = dumps(whatsapp_text(wa_id(), REST_QUESTION, wamid()))
    try:
        status, _ = post_whatsapp(stack, body, signature=BAD_SIGNATURES[case])
    except UnicodeEncodeError:  # the HTTP client refuses to send a non-Latin-1 header: nothing reached the server
        return
    # 403 from the channel; a 10 KB header is refused by Sanic itself (413) before the channel sees it
    assert status in (403, 413, 431), f"{case}: HTTP {status}"
    assert_servers_alive(stack)
