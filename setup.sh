#!/usr/bin/env bash
# Sets up everything the portal and its tests need: a virtualenv with the pinned packages.
# Needs only Python 3.11. Safe to run again (it does nothing that is already done).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
# Translations: compile each .po whose .mo is missing or older (the portal only loads .mo files).
.venv/bin/python -m portal.i18n_tools
