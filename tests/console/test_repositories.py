"""Reading Rasa's tracker store: filters, search, transcripts, unanswered report, exports."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from clinic_bot.db import get_engine
from clinic_bot.tickets import TicketStore
from console.exports import EVENT_COLUMNS, event_rows, nlu_yaml_stub, safe_cell, to_csv, to_jsonl
from console.masking import Masker
from console.repositories.conversations import ConversationRepository
from console.repositories.events import tracker_engine
from console.repositories.filters import Filters
from console.repositories.unanswered import group_unanswered, normalise
from tests.console.conftest import SECRET, seed_red_flag_conversation

UTC = ZoneInfo("UTC")
DAY = 86400.0


@pytest.fixture
def repo(console_env, writer):
    engine = get_engine(f"sqlite:///{console_env / 'clinic.db'}")
    return ConversationRepository(tracker_engine(f"sqlite:///{console_env / 'tracker.db'}"), TicketStore(engine), SECRET)


@pytest.fixture
def seeded(console_env, writer, repo):
    w = writer
    now = time.time()
    # 1) WhatsApp red flag, in handoff, with a ticket (10 days ago)
    w.at(now - 10 * DAY)
    seed_red_flag_conversation(w, "447700900123", f"sqlite:///{console_env / 'clinic.db'}")
    # 2) socket.io FAQ conversation with an FAQ-gate fallback and a low-confidence message (3 days ago)
    w.at(now - 3 * DAY)
    w.save(
        "sock-faq",
        w.session()
        + [
            w.user("how long do injections last", "faq", 0.93, channel="socketio", topic="injection_duration", topic_conf=0.91),
            w.action("utter_faq"),
            w.bot("Usually a few months."),
            w.action("action_listen"),
            w.user(
                "Do the jabs hurt?!",
                "nlu_fallback",
                0.45,
                channel="socketio",
                topic="injection_pain",
                topic_conf=0.31,
                ranking=[{"name": "faq", "confidence": 0.9}],
                faq_gate={"reason": "topic confidence 0.31 < 0.45"},
            ),
            w.action("action_suggest_topics"),
            w.bot("Did you mean one of these?", buttons=[{"title": "Injections", "payload": "/x"}]),
            w.action("action_listen"),
            w.user(
                "do the jabs hurt",
                "nlu_fallback",
                0.45,
                channel="socketio",
                topic="injection_pain",
                topic_conf=0.2,
                ranking=[{"name": "faq", "confidence": 0.88}],
            ),
            w.action("action_suggest_topics"),
            w.action("action_listen"),
            w.user("can I swim after", "faq", 0.52, channel="socketio", topic="exercise", topic_conf=0.8),
            w.action("utter_faq"),
            w.bot("Gentle swimming is fine."),
            w.action("action_listen"),
            w.user(
                '/choose_faq{"faq_topic":"exercise"}', "choose_faq", 1.0, channel="socketio", entities=[{"entity": "faq_topic", "value": "exercise"}]
            ),
            w.action("action_answer_chosen_faq"),
            w.action("action_listen"),
        ],
    )
    # 3) REST: plain fallback + core fallback, and text needing JSON escaping (today)
    w.at(now - 600)
    w.save(
        "rest-xyz",
        w.session()
        + [
            w.user(
                'qwerty "zxcv" 100%_done',
                "nlu_fallback",
                0.3,
                channel="rest",
                ranking=[{"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.3}],
            ),
            w.action("action_suggest_topics"),
            w.action("action_listen"),
            w.user("Ça fait mal à l'épaule", "out_of_scope", 0.9, channel="rest"),
            w.action("action_default_fallback"),
            w.action("action_listen"),
        ],
    )
    # 4) a session with no user message (a widget that connected and left): not listed
    w.save("empty-visit", w.session())
    return now


def ids(items):
    return sorted(s.sender_id for s in items)


def test_summaries(seeded, repo):
    s = repo.summaries()
    assert set(s) == {"447700900123", "sock-faq", "rest-xyz"}
    wa = s["447700900123"]
    assert wa.channel == "whatsapp" and wa.escalated and wa.in_handoff and wa.open_tickets == 1 and wa.user_messages == 1
    assert s["sock-faq"].channel == "socketio" and not s["sock-faq"].escalated and s["sock-faq"].user_messages == 5


def test_filters(seeded, repo):
    f = lambda **kw: ids(repo.filtered(Filters(**kw), UTC)[0])  # noqa: E731
    assert f() == ["447700900123", "rest-xyz", "sock-faq"]
    assert f(channel="whatsapp") == ["447700900123"]
    assert f(escalated="yes") == ["447700900123"]
    assert f(escalated="no") == ["rest-xyz", "sock-faq"]
    assert f(unanswered="yes") == ["rest-xyz", "sock-faq"]
    assert f(unanswered="no") == ["447700900123"]
    today = datetime.now(UTC).date()
    four_days_ago = date.fromordinal(today.toordinal() - 4)
    assert f(date_from=four_days_ago) == ["rest-xyz", "sock-faq"]
    assert f(date_to=date.fromordinal(today.toordinal() - 5)) == ["447700900123"]
    assert f(date_from=four_days_ago, channel="socketio", unanswered="yes") == ["sock-faq"]
    items, channels = repo.filtered(Filters(), UTC)
    assert channels == ["rest", "socketio", "whatsapp"]
    assert [s.sender_id for s in items] == ["rest-xyz", "sock-faq", "447700900123"]  # most recent first


def test_text_search_matches_message_text_and_ids(seeded, repo):
    f = lambda q: ids(repo.filtered(Filters(q=q), UTC)[0])  # noqa: E731
    assert f("INJECTIONS") == ["sock-faq"]
    assert f("few months") == ["sock-faq"]  # bot replies too
    assert f('"zxcv"') == ["rest-xyz"]  # quotes are JSON-escaped in Rasa's data column
    assert f("100%_done") == ["rest-xyz"]  # LIKE wildcards are escaped
    assert f("%") == ["rest-xyz"]
    assert f("épaule") == ["rest-xyz"]  # non-ASCII
    assert f("ÉPAULE") == ["rest-xyz"]
    assert f("injection_duration") == []  # intent / topic names are not message text
    assert f("report_red_flag") == []
    assert f("nothing like this") == []
    assert f("7700900") == ["447700900123"]  # conversation ids match too
    assert f("SOCK-") == ["sock-faq"]


def test_paging(seeded, repo):
    page = repo.page(Filters(page=2), UTC, page_size=2)
    assert (page.total, page.pages, page.page, ids(page.items)) == (3, 2, 2, ["447700900123"])
    assert repo.page(Filters(page=99), UTC, page_size=2).page == 2
    assert Filters.from_args({"page": "x", "escalated": "maybe", "from": "bad", "to": "2024-02-30"}) == Filters()
    f = Filters.from_args({"channel": ["rest"], "q": "a b", "from": "2024-01-01", "unanswered": "yes"})
    assert f.query(page=3) == "channel=rest&from=2024-01-01&unanswered=yes&q=a+b&page=3"


def test_transcript(seeded, repo):
    tr = repo.transcript("sock-faq")
    users = [i for i in tr.items if i.kind == "user"]
    first, gated, fallback, low, button = [u.info for u in users]
    assert (first.intent, first.topic, first.topic_confidence, first.fallback) == ("faq", "injection_duration", 0.91, None)
    assert gated.fallback == "faq_gate" and gated.topic == "injection_pain" and gated.original_intent == "faq"
    assert fallback.fallback == "faq_gate"  # `faq` still tops the ranking: the gate, even without faq_gate in the data
    assert low.low_confidence and low.unanswered_kind == "low_confidence"
    assert button.is_payload and button.topic == "exercise" and button.unanswered_kind is None
    bots = [i for i in tr.items if i.kind == "bot"]
    assert bots[1].buttons == ["Injections"]
    assert "action_listen" not in [i.name for i in tr.items if i.kind == "action"]
    assert not tr.in_handoff and tr.channel == "socketio"

    red = repo.transcript("447700900123")
    assert red.in_handoff and red.channel == "whatsapp"
    kinds = [i.kind for i in red.items]
    assert "handoff" in kinds and "ticket" in kinds and "session" in kinds
    assert not any(i.kind == "slot" and i.name == "emergency_number" for i in red.items)
    user = next(i for i in red.items if i.kind == "user")
    assert ("red_flag", "cauda_equina") in user.info.entities and not user.during_handoff

    rest = repo.transcript("rest-xyz")
    assert [i.core_fallback for i in rest.items if i.kind == "user"] == [False, True]


def test_handoff_state_follows_the_last_slot_and_restarts(seeded, repo, writer):
    assert repo.in_handoff("447700900123")
    writer.save("447700900123", [writer.user("hello? anyone?", "greet", 0.9, channel="whatsapp", topic="symptoms"), writer.action("action_listen")])
    held = [i for i in repo.transcript("447700900123").items if i.kind == "user"][-1]
    assert held.during_handoff and held.info.topic is None  # a greeting has no FAQ topic
    writer.save("447700900123", [writer.slot("handoff_active", False)])
    assert not repo.in_handoff("447700900123")
    writer.save("447700900123", [writer.slot("handoff_active", True), writer.restart()])
    assert not repo.in_handoff("447700900123")
    assert not repo.summaries()["447700900123"].in_handoff


def test_staff_replies_are_shown_as_staff(seeded, repo, writer):
    writer.save("447700900123", [writer.bot("Hello, this is Sam from the clinic.", {"staff_reply": True, "staff": "sam"})])
    staff = [i for i in repo.transcript("447700900123").items if i.kind == "staff"]
    assert [(s.text, s.actor) for s in staff] == [("Hello, this is Sam from the clinic.", "sam")]


def test_refs_are_opaque_and_resolve(seeded, repo):
    ref = repo.ref("447700900123")
    assert len(ref) == 32 and "447700900123" not in ref
    fresh = ConversationRepository(repo.engine, repo.tickets, SECRET)  # empty cache: resolves by lookup
    assert fresh.resolve(ref) == "447700900123"
    assert fresh.resolve("0" * 32) is None
    assert fresh.resolve("../etc/passwd") is None
    assert ConversationRepository(repo.engine, repo.tickets, "another-secret-key-0123456789abcdef").ref("447700900123") != ref


def test_unanswered_report(seeded, repo):
    items = repo.unanswered()
    kinds = sorted((i.sender_id, i.kind) for i in items)
    assert kinds == [
        ("rest-xyz", "core_fallback"),
        ("rest-xyz", "nlu_fallback"),
        ("sock-faq", "faq_gate"),
        ("sock-faq", "faq_gate"),
        ("sock-faq", "low_confidence"),
    ]
    groups = group_unanswered(items)
    top = groups[0]
    assert top.key == "do the jabs hurt" and top.count == 2
    assert top.examples == ["do the jabs hurt", "Do the jabs hurt?!"]  # newest wording first
    assert top.top_guess == "faq/injection_pain" and top.min_confidence == pytest.approx(0.2)
    assert normalise("  Do the JABS   hurt?! ") == "do the jabs hurt"
    assert len(repo.unanswered(start=time.time() - DAY)) == 2  # only today's
    assert {i.sender_id for i in repo.unanswered(senders=["sock-faq"])} == {"sock-faq"}


def test_csv_and_jsonl_exports(seeded, repo, writer):
    writer.save("447700900123", [writer.user('=HYPERLINK("http://evil") call 07700 900123', "greet", 0.9, channel="whatsapp")])
    tr = repo.transcript("447700900123")
    rows = list(event_rows(tr, Masker(full=False)))
    assert {r["conversation"] for r in rows} == {"•••••••••123"}
    text = to_csv(rows, EVENT_COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == EVENT_COLUMNS
    formula = [r for r in parsed if "HYPERLINK" in r["text"]][0]
    assert formula["text"].startswith("'=") and "••••• •••123" in formula["text"]
    red = [r for r in parsed if r["intent"] == "report_red_flag"][0]
    assert red["text"] == "I've wet myself and my back is killing me" and float(red["intent_confidence"]) == 0.97
    assert any(r["kind"] == "handoff" for r in parsed) and any(r["kind"] == "ticket" for r in parsed)
    lines = to_jsonl(event_rows(tr, Masker(full=True))).splitlines()
    assert all(json.loads(line)["conversation"] == "447700900123" for line in lines)
    assert safe_cell("-1+2") == "'-1+2" and safe_cell("@x") == "'@x" and safe_cell("ok") == "ok" and safe_cell(3) == 3


def test_nlu_yaml_stub_is_valid_rasa_training_data(seeded, repo, writer):
    writer.save(
        "rest-xyz",
        [writer.user("text me on 07700 900123: are you open?", "nlu_fallback", 0.2, ranking=[{"name": "nlu_fallback", "confidence": 0.45}])],
    )
    groups = group_unanswered(repo.unanswered())
    stub = nlu_yaml_stub(groups)
    data = yaml.safe_load(stub)
    assert data["version"] == "3.1"
    examples = data["nlu"][0]["examples"].splitlines()
    assert "- do the jabs hurt" in examples and "- Do the jabs hurt?!" in examples
    assert "07700 900123" not in stub and "- text me on ••••• •••123: are you open?" in examples  # always masked
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    td = RasaYAMLReader().reads(stub)
    assert len(td.training_examples) == len(examples)
