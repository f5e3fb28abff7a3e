"""``python -m gsfm score``: score a folder of predicted masks with the DAVIS J&F rules.

``--gt DIR --pred DIR`` scores the palette PNGs of ``--pred`` (``<video>/<frame>.png``, from
``gsfm predict`` or any other method) against the ground truth under ``--gt``, prints the
global and per-object tables and writes the per-object table to ``<pred>/results.csv``: that
file is replaced only if it is a table this command wrote, otherwise ``--csv FILE`` is needed.
A frame without its ground truth is an error unless ``--allow-missing-gt``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gsfm.cli import CLIError
from gsfm.data.layout import read_split_file
from gsfm.files import atomic_write

HELP = "score predicted masks against ground truth (DAVIS J, F, J&F)"

TABLE_HEADER = "sequence,object,J&F-Mean,"  # how the per-object table (results.csv) starts


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Which videos and masks (shared with ``predict``): ``--split``, ``--res``, ``--binary``,
    ``--quiet``."""
    parser.add_argument("--split", help="only the videos listed in ImageSets/*/<split>.txt")
    parser.add_argument("--res", help="resolution folder under Annotations/ (default: auto)")
    parser.add_argument(
        "--binary",
        action="store_true",
        help="DAVIS 2016: one object per video; every non-zero pixel of the masks (0/255) is "
        "that object",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only the summary (no progress bar, no per-object table)",
    )


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """The options only scoring has: ``--csv``, ``--objects``, ``--allow-missing-gt``."""
    parser.add_argument(
        "--csv",
        help="write the per-object table here, replacing this file (default "
        "<pred>/results.csv, which is only replaced if an earlier gsfm score wrote it)",
    )
    parser.add_argument(
        "--objects",
        default="auto",
        choices=("auto", "davis", "appearance"),
        help="object set: davis = official rule; appearance = objects from their first annotation",
    )
    parser.add_argument(
        "--allow-missing-gt",
        action="store_true",
        help="score a video whose ground truth lacks frames (a frame or prediction without its "
        "PNG) on its annotated frames only, saying how many were skipped; without it that is "
        "an error",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``score`` command."""
    parser.add_argument("--gt", help="ground truth: DAVIS root or folder of videos (required)")
    parser.add_argument(
        "--pred", help="predictions: folder of <video>/<frame>.png palette PNGs (required)"
    )
    add_selection_arguments(parser)
    add_scoring_arguments(parser)


def split_videos(root: str | Path, split: str | None) -> list[str] | None:
    """The videos of ``ImageSets/*/<split>.txt`` under ``root`` (None: every video)."""
    if not split:
        return None
    # lazy: `python -m gsfm --help` imports this module; gsfm.data.davis imports torch
    from gsfm.data.davis import find_split_file

    f = find_split_file(Path(root), split, None)
    if f is None:
        raise CLIError(f"--split {split}: {root} has no ImageSets folder")
    return read_split_file(f)


def is_our_table(csv: Path) -> bool:
    """Whether ``csv`` starts like the per-object table this command writes."""
    try:
        with csv.open(encoding="utf-8") as f:
            return f.readline().startswith(TABLE_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def _check_table_target(csv: Path) -> None:
    """Refuse to replace a default ``results.csv`` that is not a per-object table of ours."""
    if csv.exists() and not is_our_table(csv):
        raise CLIError(
            f"{csv} exists and is not a per-object table written by gsfm score; it is left as "
            "it is: pass --csv FILE to write the table elsewhere"
        )


def _say_skipped(missing: list[str]) -> None:
    """One line on the frames scored without ground truth (``--allow-missing-gt``)."""
    if missing:
        n = len(missing)
        print(
            f"--allow-missing-gt: skipped {n} frame{'s' if n != 1 else ''} without ground "
            f"truth (first: {missing[0]})"
        )


def run(args: argparse.Namespace) -> int:
    """Score ``--pred`` against ``--gt``, print the tables and write the per-object one."""
    # lazy: `python -m gsfm --help` imports this module; gsfm.metrics imports tqdm
    from gsfm.metrics import format_result, score_folders, size_buckets

    if not args.gt:
        raise CLIError("--gt is required (the ground-truth folder)")
    if not args.pred:
        raise CLIError("--pred is required (the folder of predicted masks)")
    if not args.csv:
        _check_table_target(Path(args.pred) / "results.csv")
    result = score_folders(
        args.gt,
        args.pred,
        sequences=split_videos(args.gt, args.split),
        objects=args.objects,
        res=args.res,
        progress=not args.quiet,
        binary=args.binary,
        allow_missing_gt=args.allow_missing_gt,
    )
    _say_skipped(result.missing_gt)
    print(format_result(result, per_object=not args.quiet))
    print(
        size_buckets(result.per_object).to_string(
            index=False, float_format=lambda x: f"{100 * x:.2f}"
        )
    )
    csv = Path(args.csv) if args.csv else Path(args.pred) / "results.csv"
    atomic_write(csv, lambda p: result.per_object.to_csv(p, index=False))
    print(f"per-object table written to {csv}")
    return 0
