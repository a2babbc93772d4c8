#!/usr/bin/env bash
# Quick start 2/2: install what the tests need, start Redis/PostgreSQL if they are not running,
# lint, type-check, run the whole suite, then the eval gate. Extra arguments go to pytest.
set -euo pipefail
DESKHAND_EXTRAS=dev,llm source "$(dirname "$0")/_venv.sh"
source "$ROOT/scripts/services.sh"
cd "$ROOT"
echo "== ruff" && ruff check . && ruff format --check .
echo "== mypy" && mypy
echo "== pytest" && pytest -q -p no:cacheprovider "$@"
# The release gate: every eval suite against the real agent, compared with evals/baseline.json.
echo "== eval gate" && deskhand eval --out "${DESKHAND_EVAL_OUT:-eval-report}"
# The same suites in LLM mode against the scripted OpenAI-compatible server: fails if any personal value
# from the directory or the ledger reached the model server.
echo "== eval gate (LLM mode)" && python -m bot eval --fast --llm --out "${DESKHAND_EVAL_OUT:-eval-report}-llm"
