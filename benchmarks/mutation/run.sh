#!/usr/bin/env bash
# Mutation testing of the modules that lose or leak data when wrong: one module at a time, at low priority.
# Usage: bash benchmarks/mutation/run.sh [--list] [module ...]   (see benchmarks/mutation/run.py)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec nice -n 15 "${PY:-.venv/bin/python}" benchmarks/mutation/run.py "$@"
