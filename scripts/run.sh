#!/usr/bin/env bash
# Start the stack in the foreground; Ctrl-C stops every server cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a
exec .venv/bin/python -m clinic_bot.launcher "$@"
