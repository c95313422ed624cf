#!/usr/bin/env bash
# Every check, in order: data validation, pytest (unit, component, data, real
# servers, browser), and Rasa's own end-to-end test stories. Called by `make test`
# (after `make lint`: ruff and mypy on the project's own code).
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

# rasa-webchat from the npm registry, pinned by tests/widget/webchat/package-lock.json,
# for the browser test that embeds it (tests/widget/test_rasa_webchat.py).
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing npm (Debian package)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "warning: npm missing and cannot be installed; the rasa-webchat browser test will be skipped" >&2
  fi
fi
if command -v npm >/dev/null 2>&1; then
  echo "==> rasa-webchat for its browser test (npm ci when node_modules is missing or stale)"
  tests/widget/webchat/install.sh
fi

# nginx for the cluster tests (tests/cluster/), which also need PostgreSQL, Redis and
# RabbitMQ on this machine and skip, saying why, where they are absent.
bash scripts/ensure_nginx.sh || echo "warning: no nginx: the cluster tests will be skipped" >&2

echo "==> rasa data validate"
.venv/bin/rasa data validate --domain domain --data data --config config.yml 2>&1 | grep -v "is ignored: it is neither" | tail -5

echo "==> rasa test (end-to-end test stories)"
rm -rf results/e2e
.venv/bin/rasa test core --model models/facet-assistant.tar.gz --stories tests/stories --out results/e2e --fail-on-prediction-errors 2>&1 | tail -5

echo "==> pytest"
.venv/bin/python -m pytest tests
