"""Rule-based red-flag detection (pure Python + spaCy, no Rasa import).

`RedFlagDetector` reads the knowledge in `patterns.yml` (same folder) and runs
it over a spaCy `Doc` (or a text plus an `nlp`):

1. Each token gets a normalised form ("can't" -> "can not", "numbnes" ->
   "numbness", "cos" -> "because") and a lemma. Per sentence two views are
   built - the normalised tokens and their lemmas joined by single spaces - and
   every category pattern (a regex) is matched against both.
2. Each sentence is cut into clauses (at "but", ";", ", I ...", "and my ...").
3. Every match is then judged in its context, in this order:
     other_person  - the last person mentioned up to the match is someone else
     past_resolved - long ago ("years ago", "as a kid", "used to"), or followed
                     by a resolution ("... but it went away"); not for signs
                     whose history is itself the flag (cancer, drug injecting)
     hypothetical  - a conditional ("what if", "in case", "if" in a question)
                     before the match in its clause, or a general question
                     ("can facet pain cause ...?") with no first-person
                     experiencer ("my", "I keep", "I've") in the clause
     denied        - a negation cue before the match in the same clause, not
                     cut off by a new subject/verb/conjunction, or a bare "no"
                     after it; skipped when a hedge precedes the match ("not
                     sure if", "I think", "might") or the match itself carries
                     the negation ("can't pee", "no feeling down there")
   Anything else fires. When in doubt the rules fire.

The result lists fired detections and suppressed mentions separately.
"""
from __future__ import annotations

import functools
import gzip
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import yaml

from clinic_bot.safety import load_table

logger = logging.getLogger(__name__)

DEFAULT_PATTERNS_FILE = Path(__file__).with_name("patterns.yml")

REASON_DENIED = "denied"
REASON_OTHER_PERSON = "other_person"
REASON_PAST_RESOLVED = "past_resolved"
REASON_HYPOTHETICAL = "hypothetical"
# the sign is explained by a benign context named in the pattern's `unless`
# (weight lost on a diet, tablets taken as prescribed)
REASON_EXPLAINED = "explained"
# an everyday idiom built on a red-flag word ("on my last legs", "bored to death")
REASON_FIGURE_OF_SPEECH = "figure_of_speech"
SUPPRESSION_REASONS = (REASON_DENIED, REASON_OTHER_PERSON, REASON_PAST_RESOLVED, REASON_HYPOTHETICAL, REASON_EXPLAINED, REASON_FIGURE_OF_SPEECH)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u2032": "'"})
_MACRO_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_S_IS_BEFORE = frozenset(
    ("it", "that", "what", "he", "she", "there", "who", "here", "how", "where", "this", "everything",
     "nothing", "something", "everyone", "someone", "which", "life", "pain", "back", "neck")
)
_HAS_BEFORE = frozenset(
    ("got", "gotten", "been", "gone", "become", "started", "stopped", "lost", "turned", "spread", "moved", "crept", "doubled", "tripled")
)
_NEGATION_TOKENS = frozenset({"not", "no", "never", "without", "nor", "none", "cannot", "neither", "nothing", "unable"})


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Detection:
    """A red flag that fired."""

    category: str
    urgency: str
    text: str
    start: int
    end: int
    pattern_id: str = ""
    hedged: bool = False
    # a carer or relative reporting someone else's sign happening now
    about_other: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SuppressedMention:
    """A red-flag mention that did not fire, and why."""

    category: str
    urgency: str
    reason: str  # one of SUPPRESSION_REASONS
    text: str
    start: int
    end: int
    pattern_id: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DetectionResult:
    text: str
    detections: List[Detection] = field(default_factory=list)
    suppressed: List[SuppressedMention] = field(default_factory=list)
    # bare topic words ("bladder", "fall") in a reporting context: not enough to
    # fire, but evidence against overruling an ML-only red flag
    mentions: List[Detection] = field(default_factory=list)
    # the message uses an everyday figure of speech built on a red-flag word
    # ("dead tired", "dying to know"): evidence against an ML-only red flag
    figurative: bool = False

    @property
    def fired(self) -> bool:
        return bool(self.detections)

    @property
    def categories(self) -> List[str]:
        """Fired categories, most urgent first, each once."""
        seen: List[str] = []
        for det in sort_by_urgency(self.detections):
            if det.category not in seen:
                seen.append(det.category)
        return seen

    @property
    def about_other(self) -> bool:
        """Every fired sign is someone else's, happening now (a carer writing)."""
        return bool(self.detections) and all(d.about_other for d in self.detections)

    @property
    def suppressed_reasons(self) -> List[str]:
        seen: List[str] = []
        for mention in self.suppressed:
            if mention.reason not in seen:
                seen.append(mention.reason)
        return seen

    def first_per_category(self) -> List[Detection]:
        """One detection per fired category (its earliest span), most urgent first."""
        best: Dict[str, Detection] = {}
        for det in self.detections:
            if det.category not in best or det.start < best[det.category].start:
                best[det.category] = det
        return sort_by_urgency(best.values())

    def as_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "fired": self.fired,
            "categories": self.categories,
            "detections": [d.as_dict() for d in self.detections],
            "suppressed": [s.as_dict() for s in self.suppressed],
            "mentions": [m.as_dict() for m in self.mentions],
            "figurative": self.figurative,
        }


def urgency_rank(urgency: Optional[str]) -> int:
    return load_table().rank_of_urgency(urgency)


def _urgency_of(item: Any) -> Optional[str]:
    if isinstance(item, dict):
        return item.get("urgency")
    return getattr(item, "urgency", None)


def sort_by_urgency(items: Iterable[Any]) -> List[Any]:
    """Stable sort: emergency > crisis > urgent, then by position in the text."""
    return sorted(items, key=lambda d: (urgency_rank(_urgency_of(d)), getattr(d, "start", 0)))


def most_urgent(detections: Iterable[Any]) -> Optional[Any]:
    """The most urgent detection (emergency > crisis > urgent), or None."""
    ordered = sort_by_urgency(detections)
    return ordered[0] if ordered else None


# --------------------------------------------------------------------------- lexical resources
@functools.lru_cache(maxsize=4)
def _known_words(threshold: float) -> frozenset:
    """English words with a lexeme log-probability >= threshold (spacy-lookups-data)."""
    try:
        import spacy_lookups_data  # type: ignore

        path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            probs = json.load(fh)
        return frozenset(w for w, p in probs.items() if p >= threshold)
    except Exception as exc:  # pragma: no cover - optional resource
        logger.warning("red flags: no English word list (%s); typo correction is limited", exc)
        return frozenset()


@functools.lru_cache(maxsize=1)
def _lemma_table() -> Dict[str, str]:
    try:
        from spacy.lookups import load_lookups

        lookups = load_lookups("en", ["lemma_lookup"], strict=False)
        if lookups.has_table("lemma_lookup"):
            return dict(lookups.get_table("lemma_lookup").items())
    except Exception as exc:  # pragma: no cover - optional resource
        logger.warning("red flags: no lemma lookup table (%s)", exc)
    return {}


def _lemma_of(word: str) -> str:
    table = _lemma_table()
    if not table:
        return word
    return " ".join(table.get(w, w) for w in word.split(" "))


def _edit_distance_le(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or limit+1 if larger than limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row_min = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


# --------------------------------------------------------------------------- compiled knowledge
@dataclass
class _Pattern:
    category: str
    urgency: str
    pid: str
    regex: "re.Pattern[str]"
    requires: Tuple[str, ...] = ()
    unless: Optional["re.Pattern[str]"] = None
    history_is_flag: bool = False
    mention_only: bool = False
    question_is_report: bool = False


def _wrap(body: str) -> str:
    return r"(?<![\w'])(?:" + body + r")(?![\w'])"


def _alternation(items: Sequence[str]) -> str:
    # longest first, so multi-word cues win over their first word
    return "|".join(sorted((f"(?:{i})" for i in items if i is not None and str(i) != ""), key=len, reverse=True))


class _Knowledge:
    def __init__(self, data: Dict[str, Any], source: str) -> None:
        self.source = source
        self.macros: Dict[str, str] = {k: str(v) for k, v in (data.get("macros") or {}).items()}
        self.categories: List[Dict[str, Any]] = []
        self.patterns: List[_Pattern] = []
        self.requirements: Dict[str, "re.Pattern[str]"] = {
            name: self._compile(rx, f"requirements.{name}") for name, rx in (data.get("requirements") or {}).items()
        }
        table = load_table()
        for cat in data.get("categories") or []:
            cid = cat["id"]
            # urgency lives in the one safety table (config/safety.yml), not here
            if cid not in table.category_urgency:
                raise ValueError(f"{source}: category {cid} is not in the safety table")
            urgency = table.category_urgency[cid]
            self.categories.append({"id": cid, "urgency": urgency, "description": cat.get("description", "")})
            for idx, rx in enumerate(cat.get("mentions") or []):
                self.patterns.append(
                    _Pattern(category=cid, urgency=urgency, pid=f"{cid}~mention{idx}", regex=self._compile(rx, f"{cid}.mentions"), mention_only=True)
                )
            for idx, spec in enumerate(cat.get("patterns") or []):
                if isinstance(spec, str):
                    spec = {"regex": spec}
                pid = spec.get("id") or f"{cid}#{idx}"
                requires = tuple(spec.get("requires") or ())
                for req in requires:
                    if req not in self.requirements:
                        raise ValueError(f"{source}: pattern {pid} requires unknown {req!r}")
                self.patterns.append(
                    _Pattern(
                        category=cid,
                        urgency=urgency,
                        pid=pid,
                        regex=self._compile(spec["regex"], pid),
                        requires=requires,
                        unless=self._compile(spec["unless"], pid + ".unless", wrap=False) if spec.get("unless") else None,
                        history_is_flag=bool(spec.get("history_is_flag", False)),
                        question_is_report=bool(spec.get("question_is_report", False)),
                    )
                )
        self.urgency: Dict[str, str] = {c["id"]: c["urgency"] for c in self.categories}

        ctx = data.get("context") or {}
        self.clause_break_tokens = frozenset(ctx.get("clause_break_tokens") or ())
        self.contrast_words = frozenset(ctx.get("contrast_words") or ())
        self.joiners = frozenset(ctx.get("joiners") or ())
        self.clause_starters = frozenset(ctx.get("clause_starters") or ())

        neg = ctx.get("negation") or {}
        self.neg_max_distance = int(neg.get("max_distance", 9))
        self.neg_pre = self._cue(neg.get("pre_cues"), "negation.pre_cues")
        self.neg_exceptions = self._cue(neg.get("exceptions"), "negation.exceptions")
        self.neg_terminators = frozenset(neg.get("terminators") or ())
        self.neg_subject_breakers = frozenset(neg.get("subject_breakers") or ())
        self.neg_scope_breakers = frozenset(neg.get("scope_breakers") or ())
        self.neg_post_normal = re.compile(self._expand(neg["post_normal"])) if neg.get("post_normal") else None
        post = neg.get("post_cues") or []
        self.neg_post = re.compile(r"^\s*(?:[,:?!.-]\s*)*(?:" + _alternation([self._expand(p) for p in post]) + r")\s*[.!?,]*\s*$") if post else None

        self.hedge = self._cue((ctx.get("hedge") or {}).get("cues"), "hedge.cues")
        self.figures = self._cue(ctx.get("figures_of_speech"), "figures_of_speech")

        carer = ctx.get("carer") or {}
        self.carer_now = self._cue(carer.get("now"), "carer.now")
        self.carer_now_strong = self._cue(carer.get("now_strong"), "carer.now_strong")
        self.carer_history = self._cue(carer.get("history"), "carer.history")

        persons = ctx.get("persons") or {}
        self.person_self = self._cue(persons.get("self"), "persons.self")
        self.person_other = self._cue(persons.get("other"), "persons.other")
        self.person_generic = self._cue(persons.get("generic"), "persons.generic")
        self.person_other_weak = self._cue(persons.get("other_weak"), "persons.other_weak")
        self.person_other_named = self._cue(persons.get("other_named"), "persons.other_named")
        self.asking_for = self._compile(persons["asking_for"], "persons.asking_for") if persons.get("asking_for") else None

        past = ctx.get("past") or {}
        self.past_strong = self._cue(past.get("strong"), "past.strong")
        self.past_weak = self._cue(past.get("weak"), "past.weak")
        self.resolution = self._cue(past.get("resolution"), "past.resolution")
        self.ongoing = self._cue(past.get("ongoing"), "past.ongoing")
        self.recurrence = self._cue(past.get("recurrence"), "past.recurrence")
        self.past_verb = self._cue(past.get("past_verb"), "past.past_verb")

        hyp = ctx.get("hypothetical") or {}
        self.cond_strong = self._cue(hyp.get("conditional"), "hypothetical.conditional")
        self.cond_question = self._cue(hyp.get("conditional_question"), "hypothetical.conditional_question")
        self.if_words = frozenset(hyp.get("if_words") or ("if",))
        self.if_binders = re.compile(self._expand(hyp["if_binders"])) if hyp.get("if_binders") else None
        self.modal_consequent = self._compile(hyp["modal_consequent"], "modal_consequent") if hyp.get("modal_consequent") else None
        self.general_question = self._cue(hyp.get("general_question"), "hypothetical.general_question")
        self.experiencer = self._compile(hyp["experiencer"], "experiencer") if hyp.get("experiencer") else None
        self.confirmation = self._compile(hyp["confirmation"], "confirmation") if hyp.get("confirmation") else None
        self.inverted_aux = re.compile(self._expand(hyp["inverted_aux"])) if hyp.get("inverted_aux") else None
        # "if X, I'll end it": a first-person intent in the consequent of an "if"
        # is a report, not a hypothetical, for these categories
        self.intent_consequent = self._compile(hyp["intent_consequent"], "intent_consequent") if hyp.get("intent_consequent") else None
        self.intent_categories = frozenset(hyp.get("intent_categories") or ())
        self.question_starters = frozenset(hyp.get("question_starters") or ())

        norm = data.get("normalisation") or {}
        self.slang: Dict[str, str] = {str(k).translate(_APOSTROPHES).lower(): ("" if v is None else str(v)) for k, v in (norm.get("slang") or {}).items()}
        self.fuzzy_vocab: Tuple[str, ...] = tuple(dict.fromkeys(str(w).lower() for w in norm.get("fuzzy_vocabulary") or ()))
        self.fuzzy_vocab_set = frozenset(self.fuzzy_vocab)
        self.fuzzy_min_length = int(norm.get("fuzzy_min_length", 5))
        self.fuzzy_threshold = float(norm.get("fuzzy_known_word_logprob", -16.0))
        self.lemma_exceptions: Dict[str, str] = {str(k).lower(): str(v).lower() for k, v in (norm.get("lemma_exceptions") or {}).items()}

    # -- helpers
    def _expand(self, rx: str, depth: int = 0) -> str:
        if depth > 10:
            raise ValueError(f"{self.source}: macro recursion too deep in {rx!r}")

        def sub(m: "re.Match[str]") -> str:
            name = m.group(1)
            if name not in self.macros:
                raise ValueError(f"{self.source}: unknown macro {{{name}}}")
            return "(?:" + self._expand(self.macros[name], depth + 1) + ")"

        return _MACRO_RE.sub(sub, str(rx))

    def _compile(self, rx: str, what: str, wrap: bool = True) -> "re.Pattern[str]":
        body = self._expand(rx)
        try:
            return re.compile(_wrap(body) if wrap else body)
        except re.error as exc:
            raise ValueError(f"{self.source}: bad regex in {what}: {exc}: {rx!r}") from exc

    def _cue(self, items: Optional[Sequence[str]], what: str) -> Optional["re.Pattern[str]"]:
        items = [self._expand(str(i)) for i in (items or []) if str(i) != ""]
        if not items:
            return None
        return self._compile(_alternation(items), what)


@functools.lru_cache(maxsize=8)
def _load_knowledge(path: str, mtime: float) -> _Knowledge:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return _Knowledge(data, path)


def load_knowledge(patterns_file: Union[str, Path, None] = None) -> _Knowledge:
    path = Path(patterns_file or DEFAULT_PATTERNS_FILE).resolve()
    return _load_knowledge(str(path), path.stat().st_mtime)


# --------------------------------------------------------------------------- text views
@dataclass
class _View:
    text: str
    char_tok: List[int]  # for each char of text: sentence-token position, or -1

    def tokens_for(self, start: int, end: int) -> Tuple[int, int]:
        toks = [t for t in self.char_tok[start:end] if t >= 0]
        if not toks:
            return -1, -1
        return toks[0], toks[-1] + 1


def _build_view(words: Sequence[str], glue: Optional[Sequence[bool]] = None) -> _View:
    """Join words with single spaces (no space before a word whose glue flag is set)."""
    parts: List[str] = []
    char_tok: List[int] = []
    for pos, word in enumerate(words):
        if not word:
            continue
        if parts and not (glue and glue[pos]):
            parts.append(" ")
            char_tok.append(-1)
        parts.append(word)
        char_tok.extend([pos] * len(word))
    return _View("".join(parts), char_tok)


@dataclass
class _Sentence:
    idx: int
    doc_tokens: List[int]  # doc token index for each sentence position
    norms: List[str]
    lemmas: List[str]
    clause_of: List[int]  # clause id per position
    clauses: List[Tuple[int, int]]  # (start, end) positions
    norm_view: _View
    lemma_view: _View
    interrogative: bool
    cues: Dict[str, List[Tuple[int, int]]] = field(default_factory=dict)
    # the writer referred to themselves in an earlier sentence ("My legs are weak.")
    self_before: bool = False


@dataclass
class _Match:
    pattern: _Pattern
    sent: _Sentence
    start: int  # sentence positions
    end: int


# --------------------------------------------------------------------------- the detector
class RedFlagDetector:
    """Rule-based red-flag detector over spaCy docs."""

    def __init__(self, patterns_file: Union[str, Path, None] = None, nlp: Any = None) -> None:
        self.patterns_file = Path(patterns_file or DEFAULT_PATTERNS_FILE)
        self.k = load_knowledge(self.patterns_file)
        self.nlp = nlp
        self._known: Optional[frozenset] = None
        self._norm_cache: Dict[str, str] = {}

    # -- public API
    def warm_up(self) -> "RedFlagDetector":
        """Load the word lists now (about 1 s) rather than on a patient's first turn."""
        self._known_words()
        _lemma_table()
        return self

    @property
    def categories(self) -> List[Dict[str, Any]]:
        return list(self.k.categories)

    def urgency_of(self, category: str) -> Optional[str]:
        return self.k.urgency.get(category)

    def detect(self, doc_or_text: Any, nlp: Any = None) -> DetectionResult:
        """Run the rules over a spaCy Doc, or over a text with `nlp` (or self.nlp)."""
        if isinstance(doc_or_text, str):
            nlp = nlp or self.nlp
            if nlp is None:
                raise ValueError("RedFlagDetector.detect(text) needs an `nlp` (spaCy Language)")
            text = doc_or_text
            lowered = text.lower()
            doc = nlp(lowered if len(lowered) == len(text) else text)
        else:
            doc = doc_or_text
        return self._detect_doc(doc)

    __call__ = detect

    # -- normalisation
    def _known_words(self) -> frozenset:
        if self._known is None:
            self._known = _known_words(self.k.fuzzy_threshold)
        return self._known

    def _normalise_word(self, word: str) -> str:
        cached = self._norm_cache.get(word)
        if cached is not None:
            return cached
        out = word
        if word.isalpha():
            if re.search(r"(.)\1\1", word):
                one = re.sub(r"(.)\1{2,}", r"\1", word)
                two = re.sub(r"(.)\1{2,}", r"\1\1", word)
                known = self._known_words()
                if one in self.k.fuzzy_vocab_set or (one in known and two not in self.k.fuzzy_vocab_set):
                    out = one
                else:
                    out = two
            out = self._fuzzy(out)
        if len(self._norm_cache) < 50000:
            self._norm_cache[word] = out
        return out

    def _fuzzy(self, word: str) -> str:
        k = self.k
        if len(word) < k.fuzzy_min_length or word in k.fuzzy_vocab_set or not k.fuzzy_vocab:
            return word
        known = self._known_words()
        if word in known or word in k.slang:
            return word
        limit = 2 if len(word) >= 9 else 1
        best, best_d = word, limit + 1
        for cand in k.fuzzy_vocab:
            if abs(len(cand) - len(word)) > limit or len(cand) < k.fuzzy_min_length - 1:
                continue
            d = _edit_distance_le(word, cand, limit)
            if d < best_d:
                best, best_d = cand, d
        return best if best_d <= limit else word

    def _token_forms(self, doc: Any) -> Tuple[List[str], List[str]]:
        norms: List[str] = []
        lemmas: List[str] = []
        prev = ""
        for tok in doc:
            if tok.is_space:
                norms.append("")
                lemmas.append("")
                continue
            raw = tok.text.translate(_APOSTROPHES).lower()
            if raw == "m" and prev == "i":
                norm = "am"
            elif raw == "d" and prev == "i":
                norm = "'d"
            elif raw == "'s" and prev and self._next_word(doc, tok.i) in _HAS_BEFORE:
                norm = "has"  # "breathing's got hard", "balance's gone", "it's been" -> "has"
            elif raw in ("s", "'s") and prev in _S_IS_BEFORE:
                norm = "is"  # it's / that's / he's -> "is" (possessive 's elsewhere stays)
            elif raw == "ve" and prev in ("i", "you", "we", "they", "could", "would", "should", "might", "must"):
                norm = "have"
            elif raw == "re" and prev in ("you", "we", "they"):
                norm = "are"
            elif raw in self.k.slang:
                norm = self.k.slang[raw]
            else:
                norm = self._normalise_word(raw)
            if norm == raw:
                lemma = (tok.lemma_ or raw).translate(_APOSTROPHES).lower()
                if raw in ("'s",):
                    lemma = raw
                if not lemma.strip():
                    lemma = _lemma_of(raw)
            else:
                lemma = _lemma_of(norm) if norm else ""
            if norm in self.k.lemma_exceptions:
                lemma = self.k.lemma_exceptions[norm]
            norms.append(norm)
            lemmas.append(lemma)
            prev = norm or prev
        return norms, lemmas

    @staticmethod
    def _next_word(doc: Any, i: int) -> str:
        for j in range(i + 1, min(i + 3, len(doc))):
            if not doc[j].is_space:
                return doc[j].text.translate(_APOSTROPHES).lower()
        return ""

    # -- segmentation
    def _sentence_spans(self, doc: Any) -> List[List[int]]:
        try:
            has_sents = doc.has_annotation("SENT_START")
        except Exception:  # pragma: no cover - very old spaCy
            has_sents = False
        spans: List[List[int]] = []
        if has_sents:
            raw = [list(range(s.start, s.end)) for s in doc.sents]
        else:
            raw, cur = [], []
            for tok in doc:
                cur.append(tok.i)
                if tok.text in (".", "!", "?") or set(tok.text) <= set(".!?") and tok.text:
                    raw.append(cur)
                    cur = []
            if cur:
                raw.append(cur)
        for sent in raw:
            cur = []
            for i in sent:
                tok = doc[i]
                if tok.is_space:
                    if "\n" in tok.text and cur:
                        spans.append(cur)
                        cur = []
                    continue
                cur.append(i)
                # sentencizer misses "?!"-runs glued to the next word and "..." mid-line
                if tok.text.count("?") >= 1 and tok.text.strip("?!") == "" and i != sent[-1]:
                    spans.append(cur)
                    cur = []
            if cur:
                spans.append(cur)
        return spans

    def _clauses(self, doc: Any, positions: List[int], norms: List[str]) -> List[Tuple[int, int]]:
        k = self.k
        n = len(positions)
        starts = {0}
        for p in range(n):
            w = norms[p]
            if w in k.clause_break_tokens or (w == "-" and p > 0 and doc[positions[p - 1]].whitespace_):
                starts.add(p + 1)
            elif w in k.contrast_words and p > 0:
                starts.add(p)
            elif w in k.joiners and p + 1 < n:
                nxt = norms[p + 1].split(" ")[0] if norms[p + 1] else ""
                if nxt in k.clause_starters:
                    starts.add(p + 1)
        cuts = sorted(s for s in starts if s < n)
        bounds = []
        for i, s in enumerate(cuts):
            e = cuts[i + 1] if i + 1 < len(cuts) else n
            if e > s:
                bounds.append((s, e))
        return bounds or [(0, n)]

    def _build_sentences(self, doc: Any) -> List[_Sentence]:
        all_norms, all_lemmas = self._token_forms(doc)
        sentences: List[_Sentence] = []
        for idx, positions in enumerate(self._sentence_spans(doc)):
            norms = [all_norms[i] for i in positions]
            lemmas = [all_lemmas[i] for i in positions]
            if not any(norms):
                continue
            clauses = self._clauses(doc, positions, norms)
            # intra-word hyphens ("rear-ended", "self-harm") stay glued to their neighbours
            glue = [False] * len(positions)
            for p, i in enumerate(positions):
                tok = doc[i]
                if tok.text == "-" and 0 < p < len(positions) - 1 and not doc[i - 1].whitespace_ and not tok.whitespace_:
                    glue[p] = True
                    glue[p + 1] = True
            clause_of = [0] * len(positions)
            for cid, (s, e) in enumerate(clauses):
                for p in range(s, e):
                    clause_of[p] = cid
            content = [w for w in norms if w]
            first = content[0].split(" ")[0] if content else ""
            second = (content[1].split(" ")[0] if len(content) > 1 else "")
            interrogative = "?" in "".join(w for w in norms if w and set(w) <= set("?!.")) or (
                first in self.k.question_starters and second not in ("not", "n't")
            )
            sentences.append(
                _Sentence(
                    idx=idx,
                    doc_tokens=positions,
                    norms=norms,
                    lemmas=lemmas,
                    clause_of=clause_of,
                    clauses=clauses,
                    norm_view=_build_view(norms, glue),
                    lemma_view=_build_view(lemmas, glue),
                    interrogative=interrogative,
                )
            )
        return sentences

    # -- cue helpers
    def _cue_spans(self, sent: _Sentence, name: str, rx: Optional["re.Pattern[str]"]) -> List[Tuple[int, int]]:
        if rx is None:
            return []
        if name not in sent.cues:
            spans = []
            for m in rx.finditer(sent.norm_view.text):
                s, e = sent.norm_view.tokens_for(m.start(), m.end())
                if s >= 0:
                    spans.append((s, e))
            sent.cues[name] = spans
        return sent.cues[name]

    def _clause_range(self, sent: _Sentence, pos: int) -> Tuple[int, int]:
        return sent.clauses[sent.clause_of[pos]]

    def _words(self, sent: _Sentence, s: int, e: int) -> List[str]:
        out: List[str] = []
        for w in sent.norms[s:e]:
            if w:
                out.extend(w.split(" "))
        return out

    # -- context decisions
    def _person_refs(self, sent: _Sentence) -> List[Tuple[int, int, str]]:
        """(start, end, kind) for person references in the sentence, kind in self/other/generic."""
        if "_persons" in sent.cues:
            return sent.cues["_persons"]  # type: ignore[return-value]
        selfs = self._cue_spans(sent, "person_self", self.k.person_self)
        others = self._cue_spans(sent, "person_other", self.k.person_other)
        generics = self._cue_spans(sent, "person_generic", self.k.person_generic)
        refs: List[Tuple[int, int, str]] = []
        group_self = [(s, e) for s, e in selfs if e - s > 1]
        single_self = [(s, e) for s, e in selfs if e - s == 1]

        def overlaps(a: Tuple[int, int], spans: Iterable[Tuple[int, int]]) -> bool:
            return any(a[0] < b[1] and b[0] < a[1] for b in spans)

        kept_other = [o for o in others if not overlaps(o, group_self)]
        refs += [(s, e, "self") for s, e in group_self]
        refs += [(s, e, "other") for s, e in kept_other]
        refs += [(s, e, "self") for s, e in single_self if not overlaps((s, e), kept_other + group_self)]
        refs += [(s, e, "generic") for s, e in generics if not overlaps((s, e), kept_other + group_self + single_self)]
        # first names: someone else in their own clause (never carried over)
        for s, e in self._cue_spans(sent, "person_other_named", self.k.person_other_named):
            if not overlaps((s, e), [(r[0], r[1]) for r in refs]):
                refs.append((s, e, "other_named"))
        # they/them/their: someone else only if the writer has not mentioned
        # anything of their own before it (it could be "my legs ... they")
        self_starts = [r[0] for r in refs if r[2] == "self"]
        for s, e in self._cue_spans(sent, "person_other_weak", self.k.person_other_weak):
            if sent.self_before or any(p < s for p in self_starts) or overlaps((s, e), [(r[0], r[1]) for r in refs]):
                continue
            refs.append((s, e, "other_weak"))
        refs.sort()
        sent.cues["_persons"] = refs  # type: ignore[assignment]
        return refs

    def _is_other_person(self, sent: _Sentence, m: _Match, asking_for_other: bool) -> Optional[str]:
        refs = self._person_refs(sent)
        c_start, _ = self._clause_range(sent, m.start)
        in_clause = [r for r in refs if c_start <= r[0] < m.end]
        before = [r for r in in_clause if r[0] <= m.start]
        if before and before[-1][2] == "self":
            # someone named INSIDE the match after the writer ("I've written
            # letters to my kids") is the object, not the person it happens to
            kind = "self"
        elif in_clause:
            kind = in_clause[-1][2]
        else:
            kind = None
            # carry a clause-initial "my dad ..." subject over to later clauses of the sentence
            cid = sent.clause_of[m.start]
            for prev in range(cid - 1, -1, -1):
                ps, pe = sent.clauses[prev]
                prefs = [r for r in refs if ps <= r[0] < pe]
                if prefs:
                    lead = ps
                    while lead < pe and (not sent.norms[lead] or sent.norms[lead] in ("and", "but", "so", "also", "then", ",", "plus")):
                        lead += 1
                    if prefs[0][2] == "other" and prefs[0][0] == lead and all(r[2] != "self" for r in prefs):
                        kind = "other"
                    break
            if kind is None and asking_for_other:
                if not any(r[2] == "self" for r in refs if r[0] < m.end):
                    kind = "other"
        if kind in ("other", "other_weak", "other_named"):
            return REASON_OTHER_PERSON
        if kind == "generic" and sent.interrogative:
            return REASON_HYPOTHETICAL
        return None

    def _is_past_resolved(self, sents: List[_Sentence], sent: _Sentence, m: _Match) -> bool:
        if m.pattern.history_is_flag:
            return False
        k = self.k
        c_start, c_end = self._clause_range(sent, m.start)
        in_clause = lambda spans: [sp for sp in spans if c_start <= sp[0] < c_end]  # noqa: E731
        ongoing = in_clause(self._cue_spans(sent, "ongoing", k.ongoing))
        # recurrence anywhere after the match in this sentence or the next one
        recur = [sp for sp in self._cue_spans(sent, "recurrence", k.recurrence) if sp[0] >= m.start]
        nxt = sents[sents.index(sent) + 1] if sents.index(sent) + 1 < len(sents) else None
        if nxt is not None and self._cue_spans(nxt, "recurrence", k.recurrence):
            recur = recur + [(-1, -1)]
        if ongoing or recur:
            return False
        if in_clause(self._cue_spans(sent, "past_strong", k.past_strong)):
            return True
        # "a dark time eight years ago and had thoughts of ...": a long-ago cue earlier
        # in the sentence covers a later clause told in the past tense
        if in_clause(self._cue_spans(sent, "past_verb", k.past_verb)) and any(
            sp[0] < c_start for sp in self._cue_spans(sent, "past_strong", k.past_strong)
        ):
            return True
        resolved = [sp for sp in self._cue_spans(sent, "resolution", k.resolution) if sp[0] >= m.end or (sp[0] >= c_start and sp[0] >= m.start and sp[1] > m.end)]
        if not resolved and nxt is not None:
            nres = self._cue_spans(nxt, "resolution", k.resolution)
            if nres and nres[0][0] <= 2:
                resolved = nres
        return bool(resolved)

    def _has_experiencer(self, sent: _Sentence, s: int, e: int) -> bool:
        k = self.k
        if k.experiencer is None:
            return False
        for sp in self._cue_spans(sent, "experiencer", k.experiencer):
            if not (s <= sp[0] < e):
                continue
            before = " ".join(self._words(sent, max(0, sp[0] - 1), sp[0]))
            if k.inverted_aux is not None and k.inverted_aux.search(before + " "):
                continue
            return True
        return False

    def _confirmed_later(self, sents: List[_Sentence], sent: _Sentence) -> bool:
        """A later sentence says it is happening to the writer ("I've had one since Sunday")."""
        if self.k.confirmation is None:
            return False
        i = sents.index(sent)
        return any(self.k.confirmation.search(s.norm_view.text) for s in sents[i + 1 : i + 3])

    def _is_hypothetical(self, sent: _Sentence, m: _Match) -> bool:
        k = self.k
        c_start, c_end = self._clause_range(sent, m.start)
        first_clause_start = sent.clauses[0][0]
        if m.pattern.category in k.intent_categories:
            # crisis wording is a report even inside a question or a "would be"
            # ("is it normal to feel like disappearing?"); only an explicit
            # conditional ("what if", "in case") makes it hypothetical
            return any((c_start <= sp[0] < m.start) or (sp[0] == first_clause_start and sp[0] < m.start)
                       for sp in self._cue_spans(sent, "cond_strong", k.cond_strong))
        sentence_modal = bool(k.modal_consequent and k.modal_consequent.search(sent.norm_view.text))
        questionish = sent.interrogative or sentence_modal

        def governs(sp: Tuple[int, int]) -> bool:
            # before the match in its clause, or opening the sentence
            return (c_start <= sp[0] < m.start) or (sp[0] == first_clause_start and sp[0] < m.start)

        for sp in self._cue_spans(sent, "cond_strong", k.cond_strong):
            if governs(sp):
                return True
        if questionish:
            for sp in self._cue_spans(sent, "cond_question", k.cond_question):
                if governs(sp):
                    return True
            for pos in range(0, m.start):
                if sent.norms[pos] in k.if_words and governs((pos, pos + 1)):
                    before = " ".join(self._words(sent, max(0, pos - 3), pos)) + " "
                    if k.if_binders is not None and k.if_binders.search(before):
                        continue  # "not sure if ..." is a hedge, not a hypothetical
                    if self._intent_consequent(sent, m, pos):
                        continue  # "if the op fails I'll end it": a stated intent
                    return True
        if sent.interrogative and not m.pattern.question_is_report and self._cue_spans(sent, "general_question", k.general_question):
            if not self._has_experiencer(sent, c_start, max(m.end, c_start)):
                return True
        return False

    def _intent_consequent(self, sent: _Sentence, m: _Match, if_pos: int) -> bool:
        """The match follows a first-person intent ("I'll", "I'm going to") that follows the "if"."""
        k = self.k
        if k.intent_consequent is None or m.pattern.category not in k.intent_categories:
            return False
        return any(if_pos < sp[0] < m.start or sp[0] == m.start for sp in self._cue_spans(sent, "intent_consequent", k.intent_consequent))

    def _is_hedged(self, sent: _Sentence, m: _Match) -> bool:
        c_start, _ = self._clause_range(sent, m.start)
        return any(c_start <= sp[0] < m.end for sp in self._cue_spans(sent, "hedge", self.k.hedge))

    def _intrinsically_negative(self, sent: _Sentence, m: _Match) -> bool:
        return any(w in _NEGATION_TOKENS for w in self._words(sent, m.start, m.end))

    def _is_denied(self, sents: List[_Sentence], sent: _Sentence, m: _Match) -> bool:
        k = self.k
        c_start, c_end = self._clause_range(sent, m.start)
        if not self._intrinsically_negative(sent, m):
            exceptions = self._cue_spans(sent, "neg_exceptions", k.neg_exceptions)
            exc_starts = {sp[0] for sp in exceptions}
            for cs, ce in self._cue_spans(sent, "neg_pre", k.neg_pre):
                # the cue starts before the match; it may run into it ("not
                # THINKING OF harming myself" vs the match "thinking of harming myself")
                if cs in exc_starts or not (c_start <= cs < m.start and ce <= m.end):
                    continue
                between = list(range(ce, m.start))
                words = [sent.norms[p] for p in between if sent.norms[p]]
                if len(words) > k.neg_max_distance:
                    continue
                blocked = False
                for p in between:
                    w = sent.norms[p]
                    if not w:
                        continue
                    first = w.split(" ")[0]
                    if (
                        first in k.neg_terminators
                        or first in k.neg_subject_breakers
                        or first in k.neg_scope_breakers
                        or sent.lemmas[p] in k.neg_scope_breakers
                    ):
                        blocked = True
                        break
                if not blocked:
                    return True
        # a bare denial right after the match: "numbness? no", "bladder problems - none"
        if k.neg_post is not None and not self._intrinsically_negative(sent, m):
            rest_words = self._words(sent, m.end, c_end)
            rest = " ".join(rest_words)
            if k.neg_post_normal is not None and k.neg_post_normal.match(rest):
                return True  # "my balance is fine"
            if rest_words and k.neg_post.match(rest):
                return True
            if not [w for w in rest_words if w not in (",", "?", ":", "-", ".", "!")]:
                cid = sent.clause_of[m.start]
                nxt_text = None
                if cid + 1 < len(sent.clauses):
                    ns, ne = sent.clauses[cid + 1]
                    nxt_text = " ".join(self._words(sent, ns, ne))
                else:
                    i = sents.index(sent)
                    if i + 1 < len(sents):
                        nxt_text = sents[i + 1].norm_view.text
                if nxt_text and k.neg_post.match(nxt_text):
                    return True
        return False

    # -- main
    def _requirement_met(self, name: str, views: List[str], cache: Dict[str, bool]) -> bool:
        if name not in cache:
            rx = self.k.requirements[name]
            cache[name] = any(rx.search(v) for v in views)
        return cache[name]

    def _detect_doc(self, doc: Any) -> DetectionResult:
        k = self.k
        text = doc.text
        sents = self._build_sentences(doc)
        result = DetectionResult(text=text)
        if not sents:
            return result
        views = [s.norm_view.text for s in sents] + [s.lemma_view.text for s in sents]
        seen_self = False
        for s in sents:
            s.self_before = seen_self
            seen_self = seen_self or any(r[2] == "self" for r in self._person_refs(s))
        req_cache: Dict[str, bool] = {}
        asking_for_other = bool(k.asking_for and any(k.asking_for.search(s.norm_view.text) for s in sents))

        # one entry per (pattern, sentence, span): several patterns may hit the same
        # words and each is judged on its own (e.g. only some carry history_is_flag)
        matches: Dict[Tuple[str, int, int, int], _Match] = {}
        explained: set = set()  # keys of matches whose `unless` context is present
        for sent in sents:
            for pat in k.patterns:
                if pat.requires and not any(self._requirement_met(r, views, req_cache) for r in pat.requires):
                    continue
                found = False
                for view in (sent.norm_view, sent.lemma_view):
                    for mm in pat.regex.finditer(view.text):
                        s, e = view.tokens_for(mm.start(), mm.end())
                        if s < 0:
                            continue
                        key = (pat.pid, sent.idx, s, e)
                        if key not in matches:
                            if pat.unless is not None and (pat.unless.search(sent.norm_view.text) or pat.unless.search(sent.lemma_view.text)):
                                # never fires; kept as a suppressed mention so the
                                # component can overrule an ML-only red flag on it
                                matches[key] = _Match(pat, sent, s, e)
                                explained.add(key)
                                found = True
                                break
                            matches[key] = _Match(pat, sent, s, e)
                    if found:
                        break

        fired: Dict[Tuple[str, int, int], Detection] = {}
        mentions: Dict[Tuple[str, int, int], Detection] = {}
        suppressed: Dict[Tuple[str, int, int], SuppressedMention] = {}
        for _key, m in sorted(matches.items(), key=lambda kv: (kv[1].sent.idx, kv[1].start, -kv[1].end, kv[0][0])):
            sent = m.sent
            cat = m.pattern.category
            c0 = doc[sent.doc_tokens[m.start]].idx
            last = doc[sent.doc_tokens[m.end - 1]]
            c1 = last.idx + len(last.text)
            reason, about_other = (REASON_EXPLAINED, False) if _key in explained else self._judge(sents, sent, m, asking_for_other)
            if reason is None:
                (mentions if m.pattern.mention_only else fired)[(cat, c0, c1)] = Detection(
                    category=cat,
                    urgency=m.pattern.urgency,
                    text=text[c0:c1],
                    start=c0,
                    end=c1,
                    pattern_id=m.pattern.pid,
                    hedged=self._is_hedged(sent, m),
                    about_other=about_other,
                )
            else:
                suppressed.setdefault(
                    (cat, c0, c1),
                    SuppressedMention(
                        category=cat,
                        urgency=m.pattern.urgency,
                        reason=reason,
                        text=text[c0:c1],
                        start=c0,
                        end=c1,
                        pattern_id=m.pattern.pid,
                    ),
                )
        result.figurative = any(self._cue_spans(s, "figures", k.figures) for s in sents)
        result.detections = sort_by_urgency(_merge_overlaps(list(fired.values())))
        result.suppressed = sorted(
            (s for key, s in suppressed.items() if key not in fired and key not in mentions), key=lambda s: (s.start, s.category)
        )
        result.mentions = sorted(
            (d for key, d in mentions.items() if d.category not in {f.category for f in result.detections}),
            key=lambda d: (d.start, d.category),
        )
        return result

    def _is_figure_of_speech(self, sent: _Sentence, m: _Match) -> bool:
        return any(s < m.end and m.start < e for s, e in self._cue_spans(sent, "figures", self.k.figures))

    def _happening_now(self, sent: _Sentence, m: _Match) -> bool:
        """Someone else's sign is current ("dad's legs keep giving way since this morning")."""
        k = self.k
        if self._cue_spans(sent, "carer_now_strong", k.carer_now_strong):
            return True
        c_start, c_end = self._clause_range(sent, m.start)
        history = [sp for sp in self._cue_spans(sent, "carer_history", k.carer_history) if c_start <= sp[0] < c_end]
        now = self._cue_spans(sent, "carer_now", k.carer_now)
        return bool(now) and not history

    def _judge(self, sents: List[_Sentence], sent: _Sentence, m: _Match, asking_for_other: bool) -> Tuple[Optional[str], bool]:
        """(why the match is suppressed or None, whether it is someone else's sign now)."""
        if self._is_figure_of_speech(sent, m):
            return REASON_FIGURE_OF_SPEECH, False
        person = self._is_other_person(sent, m, asking_for_other)
        about_other = False
        if person == REASON_OTHER_PERSON:
            if self._is_past_resolved(sents, sent, m) or not self._happening_now(sent, m):
                return person, False
            about_other = True
        elif person is not None:
            return person, False
        reason = self._judge_self(sents, sent, m)
        return reason, about_other

    def _judge_self(self, sents: List[_Sentence], sent: _Sentence, m: _Match) -> Optional[str]:
        if self._is_past_resolved(sents, sent, m):
            return REASON_PAST_RESOLVED
        if self._is_hypothetical(sent, m) and not self._confirmed_later(sents, sent):
            return REASON_HYPOTHETICAL
        if not self._is_hedged(sent, m) and self._is_denied(sents, sent, m):
            return REASON_DENIED
        return None

    # -- debugging aid
    def explain(self, doc_or_text: Any, nlp: Any = None) -> Dict[str, Any]:
        """Views, clauses and the result, for tuning patterns."""
        if isinstance(doc_or_text, str):
            nlp = nlp or self.nlp
            doc = nlp(doc_or_text.lower())
        else:
            doc = doc_or_text
        sents = self._build_sentences(doc)
        return {
            "sentences": [
                {
                    "norm": s.norm_view.text,
                    "lemma": s.lemma_view.text,
                    "interrogative": s.interrogative,
                    "clauses": [" ".join(self._words(s, a, b)) for a, b in s.clauses],
                }
                for s in sents
            ],
            "result": self._detect_doc(doc).as_dict(),
        }


def _merge_overlaps(dets: List[Detection]) -> List[Detection]:
    """Per category, keep one detection per overlapping group (the longest)."""
    out: List[Detection] = []
    by_cat: Dict[str, List[Detection]] = {}
    for d in dets:
        by_cat.setdefault(d.category, []).append(d)
    for cat, items in by_cat.items():
        items.sort(key=lambda d: (d.start, -(d.end - d.start)))
        group: List[Detection] = []
        group_end = -1
        for d in items:
            if group and d.start < group_end:
                group.append(d)
                group_end = max(group_end, d.end)
                continue
            if group:
                out.append(max(group, key=lambda x: (x.end - x.start, -x.start)))
            group, group_end = [d], d.end
        if group:
            out.append(max(group, key=lambda x: (x.end - x.start, -x.start)))
    return out

