#!/usr/bin/env bash
# Every check, in order: data validation, pytest (unit, component, data, real
# servers, browser), and Rasa's own end-to-end test stories. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD"

# Headless Chromium for the browser tests (Debian packages; no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium + chromium-driver (Debian packages)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "warning: chromium/chromedriver missing and cannot be installed; browser tests will fail" >&2
  fi
fi

echo "==> rasa data validate"
.venv/bin/rasa data validate --domain domain --data data --config config.yml 2>&1 | grep -v "is ignored: it is neither" | tail -5

echo "==> rasa test (end-to-end test stories)"
rm -rf results/e2e
.venv/bin/rasa test core --model models/facet-assistant.tar.gz --stories tests/stories --out results/e2e --fail-on-prediction-errors 2>&1 | tail -5

echo "==> pytest"
.venv/bin/python -m pytest tests
