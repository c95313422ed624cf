#!/usr/bin/env bash
# `make cluster`: N Rasa servers behind nginx on PostgreSQL, Redis and RabbitMQ
# (clinic_bot/cluster.py). Installs Debian's nginx if it is missing; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_nginx.sh
[ -f .env ] && set -a && . ./.env && set +a
exec .venv/bin/python -m clinic_bot.cluster "$@"
