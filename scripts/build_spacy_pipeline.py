#!/usr/bin/env python
"""Build the small spaCy pipeline the assistant uses (no model download needed).

spaCy's trained English models cannot be downloaded in this project's
environment, so the pipeline is assembled from parts that ship with the
installed packages:

    spacy.blank("en")  +  sentencizer  +  lemmatizer (lookup mode)

The lemmatizer's lookup table comes from the installed `spacy-lookups-data`
package. The result is written with `nlp.to_disk(out_dir)` so that Rasa's
`SpacyNLP` can load it with `model: <out_dir>` (see config.yml).

The build is idempotent: if `out_dir` already holds a pipeline whose meta
matches what this script would write (pipeline, spaCy version, lookups
version, build recipe version), nothing is rebuilt. Use `--force` to rebuild.

Usage:
    python scripts/build_spacy_pipeline.py [OUT_DIR] [--force]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Optional

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = PROJECT_ROOT / ".cache" / "spacy" / "en_facet"

PIPELINE_NAME = "en_facet"
# Bump when the recipe below changes, so existing builds are replaced.
RECIPE_VERSION = "1"
PIPES = ["sentencizer", "lemmatizer"]


def _versions() -> Dict[str, str]:
    import spacy

    try:
        from importlib.metadata import version

        lookups_version = version("spacy-lookups-data")
    except Exception:  # pragma: no cover - metadata missing
        lookups_version = "unknown"
    return {"spacy": spacy.__version__, "spacy_lookups_data": lookups_version}


def expected_build_info() -> Dict[str, Any]:
    """What `meta.json["facet_build"]` must contain for a build to be reused."""
    return {"recipe_version": RECIPE_VERSION, "pipeline": list(PIPES), **_versions()}


def _read_meta(out_dir: Path) -> Optional[Dict[str, Any]]:
    meta_file = out_dir / "meta.json"
    if not meta_file.is_file():
        return None
    try:
        return json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_up_to_date(out_dir: Path) -> bool:
    """True if `out_dir` holds a loadable build made by this exact recipe."""
    meta = _read_meta(out_dir)
    if not meta or meta.get("facet_build") != expected_build_info():
        return False
    if meta.get("pipeline") != PIPES:
        return False
    # the lemmatizer's lookup table must be there, otherwise lemmas are empty
    return (out_dir / "lemmatizer").is_dir() and (out_dir / "config.cfg").is_file()


def make_nlp():
    """Assemble the (unsaved) pipeline."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # Loads the `lemma_lookup` table from spacy-lookups-data.
    nlp.initialize()
    lemmatizer = nlp.get_pipe("lemmatizer")
    if not lemmatizer.lookups.has_table("lemma_lookup"):
        raise RuntimeError(
            "spacy-lookups-data did not provide the English `lemma_lookup` table; " "is spacy-lookups-data installed in this environment?"
        )
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank English + sentencizer + lookup lemmatizer (spacy-lookups-data), " "built by scripts/build_spacy_pipeline.py"
    nlp.meta["facet_build"] = expected_build_info()
    return nlp


def build(out_dir: Path = DEFAULT_OUT_DIR, force: bool = False) -> Path:
    """Build the pipeline into `out_dir` unless an identical build is there.

    Writes to a temporary sibling directory first and then swaps it in, so a
    concurrent reader never sees a half-written pipeline.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    if not force and is_up_to_date(out_dir):
        logger.info("spaCy pipeline at %s is up to date", out_dir)
        return out_dir

    nlp = make_nlp()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        nlp.to_disk(tmp_dir)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out_dir.rename(old)
            tmp_dir.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp_dir.rename(out_dir)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    logger.info("built spaCy pipeline %s at %s", PIPES, out_dir)
    return out_dir


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "out_dir",
        nargs="?",
        default=str(DEFAULT_OUT_DIR),
        help=f"where to write the pipeline (default: {DEFAULT_OUT_DIR})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out_dir)
    was_current = not args.force and is_up_to_date(out.expanduser().resolve())
    path = build(out, force=args.force)
    print(f"{'up to date' if was_current else 'built'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
