"""Time to score the synth-v1 validation split with gsfm.metrics and with vos-benchmark.

Usage: ``python benchmarks/bench_metrics.py [--data DIR] [--threads N]``. Writes the val split
(if DIR lacks it) and a noisy prediction (the GT shifted by 2 px, with holes), then scores it
with both tools in the same run, checks that the global J and F agree, and prints the times
and their ratio. vos-benchmark runs with 1 and with 2 worker processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="synth val folder (written if missing)")
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenCV/BLAS threads")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tool (best is kept)")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import cv2
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    from gsfm.data.io import write_mask
    from gsfm.data.layout import resolve_layout
    from gsfm.data.synthetic import write_split
    from gsfm.metrics import load_sequence_masks, score_folders

    work = Path(tempfile.mkdtemp(prefix="bench_metrics_"))
    data = Path(args.data) if args.data else work / "synth"
    if not (data / "ImageSets" / "synth-v1" / "val.txt").is_file():
        write_split(data, "val", progress=False)
    gt_dir = resolve_layout(data)[1]
    pred_dir = work / "pred"
    rng = np.random.default_rng(0)
    for seq in sorted(p.name for p in gt_dir.iterdir() if p.is_dir()):
        names = sorted(p.name for p in (gt_dir / seq).glob("*.png"))
        gt = load_sequence_masks(gt_dir / seq, names)
        pred = np.roll(gt, 2, axis=2)
        pred[rng.random(pred.shape) < 0.02] = 0
        for n, m in zip(names, pred, strict=True):
            write_mask(pred_dir / seq / n, m)

    def best(fn):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    from vos_benchmark.benchmark import benchmark

    t_ours, res = best(lambda: score_folders(gt_dir, pred_dir))
    ref = {}
    for procs in (1, 2):
        ref[procs] = best(
            lambda procs=procs: benchmark(
                [str(gt_dir)], [str(pred_dir)], num_processes=procs, verbose=False
            )
        )
    j, f = 100 * res.global_scores["J-Mean"].iloc[0], 100 * res.global_scores["F-Mean"].iloc[0]
    _, (jf_ref, j_ref, f_ref, _) = ref[1]
    n_frames = int(res.per_frame.groupby("sequence")["frame"].nunique().sum())
    print(
        f"synth-v1 val: {res.global_scores['n_sequences'].iloc[0]} videos, {len(res.per_object)} objects, "
        f"{n_frames} evaluated frames; threads={args.threads}"
    )
    print(
        f"J&F: gsfm {100 * res.jf:.4f}  vos-benchmark {jf_ref[0]:.4f}  (J {j:.4f} / {j_ref[0]:.4f}, F {f:.4f} / {f_ref[0]:.4f})"
    )
    print(f"gsfm.metrics.score_folders          {t_ours:7.3f} s  (1 process)")
    for procs, (t, _) in ref.items():
        print(
            f"vos_benchmark.benchmark ({procs} process{'es' if procs > 1 else ''}) {t:7.3f} s  ratio vos/gsfm {t / t_ours:5.2f}x"
        )
    # Per object, on the objects annotated from frame 0. Objects first annotated later are
    # scored from the frame AFTER their first annotation here (YouTube-VOS rule) but from the
    # annotated frame itself by vos-benchmark (docs/evaluation.md §2, item 3): they differ.
    objs = ref[1][1][3][0]
    diffs = []
    for _, row in res.per_object[res.per_object["first_frame"] == 0].iterrows():
        iou, bf = objs[row["sequence"]]
        diffs.append(abs(100 * row["J-Mean"] - iou[row["object"]]))
        diffs.append(abs(100 * row["F-Mean"] - bf[row["object"]]))
    ok = max(diffs) < 1e-6
    n_late = int((res.per_object["first_frame"] > 0).sum())
    print(
        f"objects annotated from frame 0: {len(diffs) // 2}, max |J or F difference| "
        f"{max(diffs):.2e} ({'agree' if ok else 'DIFFER'}); {n_late} late objects use another rule"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
