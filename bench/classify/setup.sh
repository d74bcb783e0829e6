#!/usr/bin/env bash
# Creates the Python virtualenv used by the classification baseline, outside git.
# Usage: bench/classify/setup.sh [VENV_DIR]   (default: <repo>/target/bench-venv)
# Idempotent: does nothing when the venv already has the pinned packages.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-$repo/target/bench-venv}"
stamp="$venv/.urbis-requirements"
if [[ -x "$venv/bin/python" && -f "$stamp" ]] && cmp -s "$stamp" "$here/requirements.txt"; then
  exit 0
fi
python="${PYTHON:-python3}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
cp "$here/requirements.txt" "$stamp"
echo "baseline venv ready: $venv" >&2
