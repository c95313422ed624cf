"""What the report says about each model served: its size, when it was trained, and
whether it is older than the files it is trained from (run directly, without `make
bench` retraining first, the benchmark may measure a stale model; the report flags it)."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench.workspace import ROOT


def model_info(path: Path) -> Dict[str, Any]:
    """Size and training date of a model archive (from its metadata.json)."""
    info: Dict[str, Any] = {
        "path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "mb": round(path.stat().st_size / 1e6, 1),
    }
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = next(m for m in tar.getmembers() if m.name.lstrip("/") == "metadata.json")
            handle = tar.extractfile(member)
            if handle is None:
                return info
            meta = json.load(handle)
        info.update(trained_at=meta.get("trained_at"), rasa=meta.get("rasa_open_source_version"))
    except Exception:
        pass
    return info


def newer_inputs(model: Path) -> Optional[List[str]]:
    """Training inputs (the Makefile's MODEL_INPUTS) changed after `model` was written;
    None when make cannot say."""
    try:
        listed = subprocess.run(
            ["make", "-s", "--no-print-directory", "model-inputs"], cwd=ROOT, check=True, capture_output=True, text=True, timeout=60
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    t = model.stat().st_mtime
    return sorted(f for f in listed if (ROOT / f).is_file() and (ROOT / f).stat().st_mtime > t)
