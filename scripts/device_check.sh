#!/usr/bin/env bash
# GPU check (issue 9): loader vs training-step rate, peak memory after warm-up, fp32 vs fast
# inference with mask agreement, and the gpu-profile training of GSFM and STCN (two processes
# on the one GPU) scored on synth-v1 val, in one run of under 8 minutes on an H200; prints JSON
# and writes it to results/device_check/<device>-<date>.json.
#   scripts/device_check.sh             # needs CUDA; exits 2 at once without it
#   scripts/device_check.sh --dry-run   # CPU, smoke profile: checks the script itself
# Extra arguments go to benchmarks/device_check.py (--steps, --frames, --workers,
# --gpu-iterations, --skip-training, --out).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec timeout "${DEVICE_CHECK_TIMEOUT:-540}" "$PY" benchmarks/device_check.py "$@"
