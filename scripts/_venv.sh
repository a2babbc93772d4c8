# Sourced by scripts/run.sh and scripts/test.sh: create .venv if needed and install the project.
# Idempotent: it reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Deskhand needs Python 3.11 or newer ($PY is $("$PY" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PY" -m venv "$VENV" 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv "$VENV"
    else
      echo "python3 -m venv failed: install your distribution's python3-venv package." >&2
      exit 1
    fi
  fi
fi
EXTRAS="${DESKHAND_EXTRAS:-}"
STAMP="$VENV/.deskhand-installed${EXTRAS:+-$EXTRAS}"
WANT="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "Installing Deskhand into $VENV (first run takes a few minutes; log: $VENV/install.log)..." >&2
  {
    "$VENV/bin/python" -m pip install -q --upgrade pip &&
    # torch pinned first, so no dependency asks for another release. Which build pip takes depends on its
    # sources: a local CPU wheel where there is one, PyTorch's CPU index when PIP_EXTRA_INDEX_URL names it
    # (README, quick start), otherwise PyPI's CUDA build on Linux.
    "$VENV/bin/python" -m pip install -q "torch==2.13.0" &&
    "$VENV/bin/python" -m pip install -q -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  } >"$VENV/install.log" 2>&1 || { tail -n 40 "$VENV/install.log" >&2; echo "Installation failed." >&2; exit 1; }
  echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
