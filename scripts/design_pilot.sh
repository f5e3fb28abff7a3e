#!/usr/bin/env bash
# The design pilot: the twin pair (GSFM, STCN+LFM+HFM+boundary) and GSFM vs STCN, seeds 0-4,
# under design (a) (each variant from its own draw) and design (b) (one shared start per seed),
# the two grids interleaved seed by seed so that a budget cut short leaves both designs at
# the same seeds. Rows go to <results>/ablations<suffix> and <results>/ablations<suffix>-shared.
#   scripts/design_pilot.sh --device cuda --jobs 3 --num-workers 2   # on a GPU (suffix -cuda)
#   scripts/design_pilot.sh --device cpu --jobs 2                    # on a CPU: hours per seed
#   PILOT_SEEDS="0 1" PILOT_RESULTS=/tmp/r scripts/design_pilot.sh --profile smoke --dry-run
#   PILOT_SEEDS="4 5" PILOT_OWN=results/ablations-render-1ab04f1f scripts/design_pilot.sh --jobs 2
# PILOT_OWN / PILOT_SHARED name the two designs' folders outright (a folder holds one rendering
# of the val split: where it renders as 1ab04f1f, design (a)'s rows go to the folder above).
# Arguments go to every `python -m gsfm ablate` call (--profile, --device, --jobs, --time-limit
# per call, --dry-run, ...). Then: gsfm.ablation.designs.design_pilot (notebook 05 §6).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=${PYTHON:-python3}; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
results=${PILOT_RESULTS:-results}
suffix=""
if [[ " $* " == *" --device cuda"* ]]; then suffix="-cuda"; fi
variants=(--study components --variant GSFM --variant +LFM+HFM+boundary --variant STCN)
for seed in ${PILOT_SEEDS:-0 1 2 3 4}; do
  "$PY" -m gsfm ablate "${variants[@]}" --seeds "$seed" --start own \
    --results "${PILOT_OWN:-$results/ablations$suffix}" "$@"
  "$PY" -m gsfm ablate "${variants[@]}" --seeds "$seed" --start shared \
    --results "${PILOT_SHARED:-$results/ablations$suffix-shared}" "$@"
done
