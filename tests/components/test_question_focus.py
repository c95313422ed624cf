"""Finding the question in a long message (components/question_focus.py)."""

from __future__ import annotations

import pytest

from components.question_focus import focus_sentence, is_question, sentences


def test_one_sentence_has_no_focus() -> None:
    assert focus_sentence("should I rest?") is None
    assert focus_sentence("") is None


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "I'm 54 and work in a warehouse. My GP said it's the facet joints. How long do injections last? Thanks in advance.",
            "How long do injections last?",
        ),
        ("hurt my back lifting boxes last week. physio says facets\nshould i rest or keep moving", "should i rest or keep moving"),
        ("Is it arthritis? My mum had arthritis. She is 80 now.", "Is it arthritis?"),
        ("Long story. Back has ached for years. Nothing helps much.", "Nothing helps much."),
    ],
)
def test_the_last_question_like_sentence_is_the_focus(text: str, expected: str) -> None:
    assert focus_sentence(text) == expected


def test_sentences_and_questions() -> None:
    assert sentences("First one here. Second one?! third line\nfourth line") == ["First one here.", "Second one?!", "third line", "fourth line"]
    assert is_question("wat r facet joints") and is_question("any tips for sleeping") and not is_question("my back hurts")
