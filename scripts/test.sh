#!/usr/bin/env bash
# Quick start 2/2: install what the tests need, start Redis/PostgreSQL if they are not running,
# lint, type-check and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
DESKHAND_EXTRAS=dev source "$(dirname "$0")/_venv.sh"
source "$ROOT/scripts/services.sh"
cd "$ROOT"
echo "== ruff" && ruff check .
echo "== mypy" && mypy
echo "== pytest" && exec pytest -q -p no:cacheprovider "$@"
