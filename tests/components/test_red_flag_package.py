"""The red-flag package's parts on their own (components/red_flags/): the knowledge
file fails loudly when broken, normalisation gives the forms the patterns are
written against, and sentences are cut into the clauses the context rules use."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

import pytest
import spacy
import yaml

from components.red_flags import DEFAULT_PATTERNS_FILE
from components.red_flags.knowledge import Knowledge, load_knowledge
from components.red_flags.normalise import Normaliser, lowercase_keeping_offsets
from components.red_flags.sentences import build_sentences

SPACY_DIR = Path(__file__).resolve().parents[2] / ".cache" / "spacy" / "en_facet"


@pytest.fixture(scope="module")
def nlp():
    if not SPACY_DIR.exists():
        pytest.skip("spaCy pipeline not built (make builds it)")
    return spacy.load(SPACY_DIR)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge()


def minimal(**overrides: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "macros": {"LEG": "legs?"},
        "categories": [{"id": "cauda_equina", "patterns": [{"id": "numb", "regex": "numb {LEG}"}]}],
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------- knowledge
def test_the_shipped_file_compiles_with_urgencies_from_the_safety_table(knowledge) -> None:
    assert knowledge is load_knowledge(DEFAULT_PATTERNS_FILE)  # cached until the file changes
    urgencies = {c["id"]: c["urgency"] for c in knowledge.categories}
    assert urgencies["cauda_equina"] == "emergency" and urgencies["self_harm"] == "crisis"
    assert all(p.urgency == urgencies[p.category] for p in knowledge.patterns)


def test_macros_expand_and_patterns_match_whole_words_only() -> None:
    rx = Knowledge(minimal(), "test").patterns[0].regex
    assert rx.search("numb legs") and rx.search("numb leg")
    assert not rx.search("numb legsss") and not rx.search("benumb leg")


@pytest.mark.parametrize(
    "data, message",
    [
        (minimal(categories=[{"id": "no_such_category", "patterns": ["x"]}]), "not in the safety table"),
        (minimal(categories=[{"id": "cauda_equina", "patterns": ["numb {ARM}"]}]), r"unknown macro \{ARM\}"),
        (minimal(categories=[{"id": "cauda_equina", "patterns": ["numb (leg"]}]), "bad regex in cauda_equina#0"),
        (minimal(categories=[{"id": "cauda_equina", "patterns": [{"regex": "x", "requires": ["nope"]}]}]), "requires unknown 'nope'"),
        (minimal(macros={"A": "{B}", "B": "{A}"}, categories=[{"id": "cauda_equina", "patterns": ["{A}"]}]), "macro recursion"),
    ],
)
def test_a_broken_knowledge_file_is_refused_with_what_is_wrong(data, message) -> None:
    with pytest.raises(ValueError, match=message):
        Knowledge(data, "test.yml")


def test_an_edited_file_is_read_again(tmp_path) -> None:
    path = tmp_path / "patterns.yml"
    path.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
    first = load_knowledge(path)
    data = minimal(categories=[{"id": "cauda_equina", "patterns": ["numb {LEG}", "saddle"]}])
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    later = path.stat().st_mtime + 5  # a coarse file-system clock must still see a change
    os.utime(path, (later, later))
    assert len(load_knowledge(path).patterns) == 2 and len(first.patterns) == 1


# ---------------------------------------------------------------- normalise
@pytest.mark.parametrize(
    "text, norms",
    [
        ("I'm numb", ["i", "am", "numb"]),
        ("it's been weeks", ["it", "has", "been", "weeks"]),
        ("it's numb", ["it", "is", "numb"]),
        ("numbnes in my leg cos I fell", ["numbness", "in", "my", "leg", "because", "i", "fell"]),
        ("sooo numbbb", ["so", "numb"]),
        ("I\u2019ve fallen", ["i", "have", "fallen"]),
    ],
)
def test_tokens_get_the_forms_the_patterns_are_written_against(nlp, knowledge, text, norms) -> None:
    got, _ = Normaliser(knowledge).token_forms(nlp(text.lower()))
    assert [w for w in got if w] == norms


def test_known_english_words_are_not_corrected_towards_the_vocabulary(nlp, knowledge) -> None:
    got, _ = Normaliser(knowledge).token_forms(nlp("numbers"))
    assert got == ["numbers"]


def test_lowercasing_keeps_offsets() -> None:
    assert lowercase_keeping_offsets("I CAN'T Pee") == "i can't pee"
    # "İ" lower-cases to two characters: the text is kept as it is, so offsets still point into it
    assert lowercase_keeping_offsets("İ fell") == "İ fell"


# ---------------------------------------------------------------- sentences
def test_sentences_clauses_and_questions(nlp, knowledge) -> None:
    doc = nlp("my legs are weak but I can walk. is that normal?\nthanks")
    sents = build_sentences(knowledge, Normaliser(knowledge), doc)
    assert [s.norm_view.text for s in sents] == ["my legs are weak but i can walk .", "is that normal ?", "thanks"]
    first = sents[0]
    assert [" ".join(first.words(a, b)) for a, b in first.clauses] == ["my legs are weak", "but i can walk ."]
    assert [s.interrogative for s in sents] == [False, True, False]


def test_view_offsets_map_back_to_sentence_tokens(nlp, knowledge) -> None:
    sent = build_sentences(knowledge, Normaliser(knowledge), nlp("i can't pee"))[0]
    view = sent.norm_view
    start = view.text.index("pee")
    s, e = view.tokens_for(start, start + 3)
    assert sent.norms[s:e] == ["pee"]
