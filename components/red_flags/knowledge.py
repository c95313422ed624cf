"""The detector's knowledge: `patterns.yml` read once and compiled to regexes.

Category patterns, the cue lists of every context rule and the normalisation
tables all live in the YAML file; this module only expands its `{MACROS}`,
compiles it and fails loudly on a broken entry. Urgencies are not in the file:
they come from the one safety table (config/safety.yml).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml

from clinic_bot.safety import load_table

DEFAULT_PATTERNS_FILE = Path(__file__).with_name("patterns.yml")

_MACRO_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")

# typographic apostrophes and accents read as a plain apostrophe (knowledge keys and patient text alike)
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'", "\u2032": "'"})


@dataclass
class Pattern:
    """One compiled category pattern (or a bare topic word when `mention_only`)."""

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


class Knowledge:
    """Everything in one patterns file, compiled; the rule modules read its attributes."""

    def __init__(self, data: Dict[str, Any], source: str) -> None:
        self.source = source
        self.macros: Dict[str, str] = {k: str(v) for k, v in (data.get("macros") or {}).items()}
        self.requirements: Dict[str, "re.Pattern[str]"] = {
            name: self._compile(rx, f"requirements.{name}") for name, rx in (data.get("requirements") or {}).items()
        }
        self.categories: List[Dict[str, Any]] = []
        self.patterns: List[Pattern] = []
        for cat in data.get("categories") or []:
            self._add_category(cat)
        ctx = data.get("context") or {}
        self._load_clauses(ctx)
        self._load_negation(ctx.get("negation") or {})
        self.hedge = self._cue((ctx.get("hedge") or {}).get("cues"), "hedge.cues")
        self.figures = self._cue(ctx.get("figures_of_speech"), "figures_of_speech")
        self._load_persons(ctx.get("persons") or {}, ctx.get("carer") or {})
        self._load_past(ctx.get("past") or {})
        self._load_hypothetical(ctx.get("hypothetical") or {})
        self._load_normalisation(data.get("normalisation") or {})

    # -- sections of the file
    def _add_category(self, cat: Dict[str, Any]) -> None:
        cid = cat["id"]
        table = load_table()
        # urgency lives in the one safety table (config/safety.yml), not here
        if cid not in table.category_urgency:
            raise ValueError(f"{self.source}: category {cid} is not in the safety table")
        urgency = table.category_urgency[cid]
        self.categories.append({"id": cid, "urgency": urgency, "description": cat.get("description", "")})
        for idx, rx in enumerate(cat.get("mentions") or []):
            self.patterns.append(
                Pattern(category=cid, urgency=urgency, pid=f"{cid}~mention{idx}", regex=self._compile(rx, f"{cid}.mentions"), mention_only=True)
            )
        for idx, spec in enumerate(cat.get("patterns") or []):
            if isinstance(spec, str):
                spec = {"regex": spec}
            pid = spec.get("id") or f"{cid}#{idx}"
            requires = tuple(spec.get("requires") or ())
            for req in requires:
                if req not in self.requirements:
                    raise ValueError(f"{self.source}: pattern {pid} requires unknown {req!r}")
            self.patterns.append(
                Pattern(
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

    def _load_clauses(self, ctx: Dict[str, Any]) -> None:
        self.clause_break_tokens = frozenset(ctx.get("clause_break_tokens") or ())
        self.contrast_words = frozenset(ctx.get("contrast_words") or ())
        self.joiners = frozenset(ctx.get("joiners") or ())
        self.clause_starters = frozenset(ctx.get("clause_starters") or ())

    def _load_negation(self, neg: Dict[str, Any]) -> None:
        self.neg_max_distance = int(neg.get("max_distance", 9))
        self.neg_pre = self._cue(neg.get("pre_cues"), "negation.pre_cues")
        self.neg_exceptions = self._cue(neg.get("exceptions"), "negation.exceptions")
        self.neg_terminators = frozenset(neg.get("terminators") or ())
        self.neg_subject_breakers = frozenset(neg.get("subject_breakers") or ())
        self.neg_scope_breakers = frozenset(neg.get("scope_breakers") or ())
        self.neg_post_normal = re.compile(self._expand(neg["post_normal"])) if neg.get("post_normal") else None
        post = neg.get("post_cues") or []
        self.neg_post = re.compile(r"^\s*(?:[,:?!.-]\s*)*(?:" + _alternation([self._expand(p) for p in post]) + r")\s*[.!?,]*\s*$") if post else None

    def _load_persons(self, persons: Dict[str, Any], carer: Dict[str, Any]) -> None:
        self.carer_now = self._cue(carer.get("now"), "carer.now")
        self.carer_now_strong = self._cue(carer.get("now_strong"), "carer.now_strong")
        self.carer_history = self._cue(carer.get("history"), "carer.history")
        self.person_self = self._cue(persons.get("self"), "persons.self")
        self.person_other = self._cue(persons.get("other"), "persons.other")
        self.person_generic = self._cue(persons.get("generic"), "persons.generic")
        self.person_other_weak = self._cue(persons.get("other_weak"), "persons.other_weak")
        self.person_other_named = self._cue(persons.get("other_named"), "persons.other_named")
        self.asking_for = self._compile(persons["asking_for"], "persons.asking_for") if persons.get("asking_for") else None

    def _load_past(self, past: Dict[str, Any]) -> None:
        self.past_strong = self._cue(past.get("strong"), "past.strong")
        self.resolution = self._cue(past.get("resolution"), "past.resolution")
        self.ongoing = self._cue(past.get("ongoing"), "past.ongoing")
        self.recurrence = self._cue(past.get("recurrence"), "past.recurrence")
        self.past_verb = self._cue(past.get("past_verb"), "past.past_verb")

    def _load_hypothetical(self, hyp: Dict[str, Any]) -> None:
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

    def _load_normalisation(self, norm: Dict[str, Any]) -> None:
        self.slang: Dict[str, str] = {
            str(k).translate(APOSTROPHES).lower(): ("" if v is None else str(v)) for k, v in (norm.get("slang") or {}).items()
        }
        self.fuzzy_vocab: Tuple[str, ...] = tuple(dict.fromkeys(str(w).lower() for w in norm.get("fuzzy_vocabulary") or ()))
        self.fuzzy_vocab_set = frozenset(self.fuzzy_vocab)
        self.fuzzy_min_length = int(norm.get("fuzzy_min_length", 5))
        self.fuzzy_threshold = float(norm.get("fuzzy_known_word_logprob", -16.0))
        self.lemma_exceptions: Dict[str, str] = {str(k).lower(): str(v).lower() for k, v in (norm.get("lemma_exceptions") or {}).items()}

    # -- compiling
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
def _load_knowledge(path: str, mtime: float) -> Knowledge:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return Knowledge(data, path)


def load_knowledge(patterns_file: Union[str, Path, None] = None) -> Knowledge:
    """The compiled file, cached until it changes on disk."""
    path = Path(patterns_file or DEFAULT_PATTERNS_FILE).resolve()
    return _load_knowledge(str(path), path.stat().st_mtime)
