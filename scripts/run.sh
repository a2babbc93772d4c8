#!/usr/bin/env bash
# Quick start 1/2: install if needed, build the sample index if missing, start the terminal chat.
# Extra arguments go to `deskhand chat` (e.g. --user alice@example.com).
set -euo pipefail
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
deskhand index status >/dev/null 2>&1 || deskhand index build
case " $* " in *" --user "* | *" --user="*) ;; *) set -- --user bob.martin@example.com "$@" ;; esac  # a sample-world employee
exec deskhand chat "$@"
