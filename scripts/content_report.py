"""Write reports/content_report.md: the warning-sign answers and every answer's
reading grade, before (a git revision of domain/faq.yml) and now.

    python scripts/content_report.py --before 1db2877

Grades are Flesch-Kincaid (clinic_bot/readability.py: textstat 0.7.3, bullets
and lines counted as sentences), on the answers as patients read them (UK
locale; the current answers also for the US locale).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from clinic_bot.readability import reading_grade  # noqa: E402
from tests.data.rendering import faq, rendered  # noqa: E402

WARNING_TOPICS = ("warning_signs", "is_it_serious", "when_to_see_professional", "neck_facet_pain")
LIMIT = 8.0


def old_answers(rev: str) -> dict:
    text = subprocess.run(["git", "show", f"{rev}:domain/faq.yml"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    responses = yaml.safe_load(text)["responses"]
    return {k.split("/", 1)[1]: (v[0]["text"], v[0]["metadata"]["more"]) for k, v in responses.items()}


def quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def report(rev: str) -> str:
    before = old_answers(rev)
    out = [
        "# Clinical content report (issue 14)",
        "",
        f"Before: `domain/faq.yml` at `{rev}`. After: the current answers as a patient reads them, placeholders filled",
        "from the clinic profile (UK locale unless stated). Regenerate: `python scripts/content_report.py --before " f"{rev}`.",
        "",
        "## Warning-sign answers",
        "",
        "Now generated from the one red-flag table (`config/safety.yml`: each category's patient wording, grouped by",
        "the category's urgency; `clinic_bot/warning_signs.py` -> `domain/locale.yml` slots). Emergency signs (bladder or",
        "bowel change, numbness around the bottom or genitals, sexual problems, both legs, new or worsening weakness,",
        "spreading numbness, stroke-like neck signs, serious injury, chest pain) say call the emergency number or go to",
        "the emergency department; the table's urgent signs (hand clumsiness, trouble walking or balance, fever,",
        "weight loss, past cancer, severe or worsening pain) say get advice today; thoughts of self-harm give the",
        'crisis line. Note: the table keeps "trouble walking or balance" (cervical myelopathy) at *urgent*; a leg',
        "that gives way is under the emergency category (progressive neuro deficit).",
        "",
    ]
    for topic in WARNING_TOPICS:
        old_text, old_more = before[topic]
        text, more = rendered(topic, "uk")
        out += [
            f"### {topic}",
            "",
            "**Before** (answer):",
            "",
            quote(old_text),
            "",
            "**Before** (more):",
            "",
            quote(old_more),
            "",
            "**After** (answer):",
            "",
            quote(text),
            "",
            "**After** (more):",
            "",
            quote(more),
            "",
        ]
    us_text, us_more = rendered("warning_signs", "us")
    out += ["### warning_signs, US locale (after)", "", quote(us_text), "", quote(us_more), ""]
    out += [
        "## Reading grade per answer",
        "",
        f'Flesch-Kincaid grade; target {LIMIT:g} or below for every answer and every "more" text (checked by',
        "`tests/data/test_content.py` for both locales). Bold: above the target.",
        "",
        "| topic | answer before | answer after | more before | more after | after, US (answer / more) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda g: f"**{g:.1f}**" if g > LIMIT else f"{g:.1f}"  # noqa: E731
    worst_before = worst_after = 0.0
    over_before = 0
    for topic in faq():
        ob, mb = (reading_grade(t) for t in before[topic])
        oa, ma = (reading_grade(t) for t in rendered(topic, "uk"))
        ua, um = (reading_grade(t) for t in rendered(topic, "us"))
        worst_before, worst_after = max(worst_before, ob, mb), max(worst_after, oa, ma, ua, um)
        over_before += (ob > LIMIT) + (mb > LIMIT)
        out.append(f"| {topic} | {fmt(ob)} | {fmt(oa)} | {fmt(mb)} | {fmt(ma)} | {fmt(ua)} / {fmt(um)} |")
    out += [
        "",
        f"Before: {over_before} of {2 * len(faq())} texts above grade {LIMIT:g}, highest {worst_before:.1f}. " f"After: highest {worst_after:.1f}.",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="git revision with the old domain/faq.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "content_report.md")
    args = parser.parse_args()
    args.out.write_text(report(args.before), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
