"""Rule-based red-flag detection: the knowledge in patterns.yml, the detector, and
the Rasa component (component.py) that feeds it into the one safety decision.

  results.py     what a detection reports (Detection, DetectionResult, REASON_*)
  knowledge.py   patterns.yml compiled (macros, categories, cue lists)
  normalise.py   per-token normalised forms and lemmas (contractions, slang, typos)
  sentences.py   sentences, clauses and the text views the regexes run over
  matching.py    where the category patterns match
  context/       one module per context rule (figures, persons, past, hypothetical, negation)
  detector.py    RedFlagDetector: runs the above in order
  component.py   RedFlagEntityDetector, the Rasa graph component

Import the detector's public names from here.
"""

from components.red_flags.detector import RedFlagDetector
from components.red_flags.knowledge import DEFAULT_PATTERNS_FILE
from components.red_flags.results import (
    REASON_DENIED,
    REASON_EXPLAINED,
    REASON_FIGURE_OF_SPEECH,
    REASON_HYPOTHETICAL,
    REASON_OTHER_PERSON,
    REASON_PAST_RESOLVED,
    Detection,
    DetectionResult,
    SuppressedMention,
    most_urgent,
    sort_by_urgency,
)

__all__ = [
    "DEFAULT_PATTERNS_FILE",
    "REASON_DENIED",
    "REASON_EXPLAINED",
    "REASON_FIGURE_OF_SPEECH",
    "REASON_HYPOTHETICAL",
    "REASON_OTHER_PERSON",
    "REASON_PAST_RESOLVED",
    "Detection",
    "DetectionResult",
    "RedFlagDetector",
    "SuppressedMention",
    "most_urgent",
    "sort_by_urgency",
]
