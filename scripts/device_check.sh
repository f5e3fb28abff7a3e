#!/usr/bin/env bash
# GPU check (issue 5): a few paper-profile training iterations of GSFM and STCN with AMP, and
# the GSFM-vs-STCN inference benchmark, in one run of under 5 minutes; prints JSON.
#   scripts/device_check.sh             # needs CUDA; exits 2 at once without it
#   scripts/device_check.sh --dry-run   # CPU, smoke profile: checks the script itself
# Extra arguments go to benchmarks/device_check.py (--iterations, --frames, --workers, --out).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec timeout "${DEVICE_CHECK_TIMEOUT:-290}" "$PY" benchmarks/device_check.py "$@"
