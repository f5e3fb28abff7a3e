"""``python -m gsfm eval``: score predictions with the DAVIS J&F rules.

Mode "folders": ``--gt DIR --pred DIR`` scores palette PNGs already on disk;
``--baseline empty|copy-first`` first writes that trivial prediction into ``--pred``.
Mode "checkpoint": ``--checkpoint FILE --data DIR`` runs inference with a trained network
(ours or the authors' STCN/GSFM weights) on a DAVIS-layout folder, then scores it.
Modes live in :data:`MODES`: each claims ``args`` when its option is set.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from gsfm.cli import CLIError

HELP = "score predicted masks against ground truth (DAVIS J, F, J&F)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``eval`` command (shared scoring options + each mode's own)."""
    parser.add_argument("--gt", help="ground truth: DAVIS root or folder of videos")
    parser.add_argument(
        "--checkpoint", help="run inference with this checkpoint first (needs --data or --gt)"
    )
    parser.add_argument(
        "--data", help="with --checkpoint: the DAVIS-layout folder to segment and score"
    )
    parser.add_argument("--device", default="auto", help="with --checkpoint: auto | cpu | cuda")
    parser.add_argument("--top-k", type=int, help="with --checkpoint: override the model's top-k")
    parser.add_argument(
        "--mem-every", type=int, help="with --checkpoint: a memory frame every N frames"
    )
    parser.add_argument("--pred", help="predictions: folder of <video>/<frame>.png")
    parser.add_argument(
        "--csv", help="write the per-object table here (default <pred>/results.csv)"
    )
    parser.add_argument("--split", help="only the videos of ImageSets/*/<split>.txt under --gt")
    parser.add_argument(
        "--objects",
        default="auto",
        choices=("auto", "davis", "appearance"),
        help="object set: davis = official rule; appearance = objects from their first annotation",
    )
    parser.add_argument("--res", help="resolution folder under Annotations/ (default: auto)")
    parser.add_argument(
        "--baseline",
        choices=("empty", "copy-first"),
        help="write this trivial prediction into --pred first, then score it",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the global scores")


def _sequences(args: argparse.Namespace) -> list[str] | None:
    if not args.split:
        return None
    from gsfm.data.davis import find_split_file
    from gsfm.data.layout import read_split_file

    f = find_split_file(Path(args.gt), args.split, None)
    if f is None:
        raise CLIError(f"--split {args.split}: {args.gt} has no ImageSets folder")
    return read_split_file(f)


def run_folders(args: argparse.Namespace) -> int:
    """Score ``--pred`` against ``--gt`` (writing a ``--baseline`` first if asked)."""
    from gsfm.metrics import format_result, score_folders, size_buckets

    if not args.gt:
        raise CLIError("--gt is required (the ground-truth folder)")
    if not args.pred:
        raise CLIError("--pred is required (the folder of predicted masks)")
    seqs = _sequences(args)
    if args.baseline:
        from gsfm.data.baselines import write_baseline

        write_baseline(args.gt, args.pred, args.baseline, sequences=seqs, res=args.res)
    result = score_folders(
        args.gt,
        args.pred,
        sequences=seqs,
        objects=args.objects,
        res=args.res,
        progress=not args.quiet,
    )
    print(format_result(result, per_object=not args.quiet))
    print(
        size_buckets(result.per_object).to_string(
            index=False, float_format=lambda x: f"{100 * x:.2f}"
        )
    )
    csv = Path(args.csv) if args.csv else Path(args.pred) / "results.csv"
    from gsfm.data.io import atomic_write

    atomic_write(csv, lambda p: result.per_object.to_csv(p, index=False))
    print(f"per-object table written to {csv}")
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    """Segment ``--data`` with ``--checkpoint`` (predictions into ``--pred`` or next to the
    checkpoint), score it and print the global table."""
    from gsfm.evaluation import evaluate_checkpoint

    data = args.data or args.gt
    if not data:
        raise CLIError("--checkpoint needs --data DIR (the DAVIS-layout folder to segment)")
    if args.baseline:
        raise CLIError("--baseline and --checkpoint exclude each other")
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
    row = evaluate_checkpoint(
        args.checkpoint,
        data,
        args.pred,
        device=args.device,
        top_k=args.top_k if args.top_k is not None else "config",
        mem_every=args.mem_every,
        videos=_sequences(argparse.Namespace(split=args.split, gt=data)),
        res=args.res,
        objects=args.objects,
    )
    print(row.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.csv:
        from gsfm.data.io import atomic_write

        atomic_write(Path(args.csv), lambda p: row.to_csv(p, index=False))
        print(f"table written to {args.csv}")
    return 0


# mode name -> (is this mode requested?, runner); the first match runs, "folders" is the default
MODES: list[
    tuple[str, Callable[[argparse.Namespace], bool], Callable[[argparse.Namespace], int]]
] = [
    ("checkpoint", lambda args: bool(args.checkpoint), run_checkpoint),
    ("folders", lambda args: True, run_folders),
]


def run(args: argparse.Namespace) -> int:
    """Dispatch to the first mode that claims ``args``."""
    for _name, wanted, runner in MODES:
        if wanted(args):
            return runner(args)
    raise CLIError("no evaluation mode matched the options")  # pragma: no cover
