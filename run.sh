#!/usr/bin/env bash
# Set up and start the portal on http://127.0.0.1:${PORT:-5000} with the embedded default
# (SQLite + embedded Redis), loading demo data on first start.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
export FLASK_APP=app
.venv/bin/flask db upgrade
.venv/bin/flask demo-data
exec .venv/bin/python -m portal.serve
