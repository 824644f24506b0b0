#!/usr/bin/env bash
# Set up and run the whole test suite against DATABASE_URL / REDIS_URL
# (default: SQLite + the embedded Redis). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
# Browser tests drive Debian's Chromium; install it (and CJK fonts) when we can.
if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/opentype/noto ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null
  else
    echo "note: chromium / fonts-noto-cjk missing and not root: browser tests will be skipped" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
