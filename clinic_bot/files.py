"""Owner-only files and folders for what the project writes.

Why: databases, logs and secrets hold patients' data or keys, and with the usual
umask (022) they were created readable by every account on the machine. The
project's files are 0600 and its folders 0700; a file left looser by an earlier
version is tightened the next time it is opened.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Optional

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
# For child processes (subprocess.Popen(umask=...)): whatever they create is owner-only.
PRIVATE_UMASK = 0o077


def make_private(path: Path) -> None:
    """Owner-only permissions (0600 / 0700) on a path the project owns; missing paths are skipped."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    want = PRIVATE_DIR if stat.S_ISDIR(mode) else PRIVATE_FILE
    if stat.S_IMODE(mode) & ~want:
        os.chmod(path, want)


def private_dir(path: Path) -> Path:
    """Create the project's folder (and parents) owner-only, or tighten it if it exists."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    make_private(path)
    return path


def create_private(path: Path) -> None:
    """Create an empty owner-only file if it does not exist yet (before anyone writes to it)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE))


def write_private(path: Path, text: str) -> None:
    """Write a small file (a secret) that is never readable by others, not even for a moment."""
    path = Path(path)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    make_private(path)


def kept_secret(var_dir: Path, name: str, *, create: bool = True, nbytes: int = 32) -> Optional[str]:
    """The secret kept in var/secrets/<name> (owner-only); generated once if missing and
    `create`, else None. The one writer of generated secrets (launcher, console --dev-secret)."""
    path = Path(var_dir) / "secrets" / name
    if path.exists():
        make_private(path)
        return path.read_text().strip()
    if not create:
        return None
    private_dir(path.parent)
    value = secrets.token_urlsafe(nbytes)
    write_private(path, value)
    return value
