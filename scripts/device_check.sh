#!/usr/bin/env bash
# GPU check: loader vs training-step rate, peak memory after warm-up, fp32 vs fast inference
# with mask agreement, and the gpu-profile training of GSFM and STCN (two processes on the one
# GPU) scored on synth-v1 val, within --budget seconds (default 480). One progress line per
# phase; the JSON report is rewritten after every phase into --out (default $OUT when set,
# else results/device_check/) as <device>-<date>.json, so a run cut short keeps what it did.
#   scripts/device_check.sh                 # needs CUDA; exits 2 at once without it
#   scripts/device_check.sh --budget 480    # the whole check's deadline in seconds
#   scripts/device_check.sh --dry-run       # CPU, smoke profile: checks the script itself
# Extra arguments go to benchmarks/device_check.py (--steps, --frames, --workers,
# --gpu-iterations, --skip-training, --budget, --out). The outer timeout (default 570 s,
# DEVICE_CHECK_TIMEOUT) sends SIGTERM, which the check records before it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec timeout --kill-after=20 "${DEVICE_CHECK_TIMEOUT:-570}" "$PY" benchmarks/device_check.py "$@"
