#!/usr/bin/env bash
# nginx (Debian's nginx-light) for `make cluster`, the cluster tests and the cluster benchmark.
# Installed as root with apt; RUNLEVEL=1 keeps the package from starting the system's own
# nginx on port 80 (the project runs its own, with a generated config).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing nginx (Debian package nginx-light)"
  apt-get update -qq >/dev/null
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
else
  echo "warning: nginx is missing and cannot be installed here (needs root and apt); install nginx-light" >&2
  exit 1
fi
