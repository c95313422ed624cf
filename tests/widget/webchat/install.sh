#!/usr/bin/env bash
# Installs the pinned rasa-webchat (package-lock.json) into node_modules for
# tests/widget/test_rasa_webchat.py, when node_modules is missing or older than
# the lock file. Called by scripts/test.sh and by the test itself.
# --ignore-scripts: nothing from the registry runs at install time; the test
# only serves the package's prebuilt bundle (node_modules/rasa-webchat/lib/index.js).
set -euo pipefail
cd "$(dirname "$0")"
if [ node_modules/.package-lock.json -nt package-lock.json ] && [ -f node_modules/rasa-webchat/lib/index.js ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
