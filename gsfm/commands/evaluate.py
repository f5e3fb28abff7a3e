"""``python -m gsfm eval``: score predictions with the DAVIS J&F rules.

Mode "folders": ``--gt DIR --pred DIR`` scores palette PNGs already on disk;
``--baseline empty|copy-first`` first writes that trivial prediction into ``--pred``.
Mode "checkpoint": ``--checkpoint FILE --data DIR`` runs inference with a trained network
(ours or the authors' STCN/GSFM weights) on a DAVIS-layout folder, then scores it;
``--protocol youtube`` switches to the authors' YouTube-VOS inference loop (frames resized to a
``--short-side`` of 480 px, memory cadence counted from the last memory frame, annotations
edited into the aggregated probabilities), ``davis`` (default) keeps their DAVIS one.
Modes live in :data:`MODES`: each claims ``args`` when its option is set.

Where predictions are written (``--baseline``, ``--checkpoint``): ``--pred`` must be new or
empty, or hold an earlier output of this command (it carries a ``gsfm_eval.json`` listing the
files it wrote) and nothing else; anything else is refused, naming what gsfm did not write, so
that no file of the user's is ever deleted. The predictions go to a hidden temporary folder
next to it and replace it only when complete, so a failed run leaves nothing half-written. ``--checkpoint`` without ``--pred``
uses ``<run>/eval/<data>-<checkpoint>`` and replaces an earlier evaluation there. Scoring a
folder writes ``<pred>/results.csv`` unless a ``results.csv`` there is not a table of this
command (then pass ``--csv``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gsfm.cli import CLIError, device_arg

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
    parser.add_argument(
        "--device", type=device_arg, default="auto", help="with --checkpoint: auto | cpu | cuda"
    )
    parser.add_argument("--top-k", type=int, help="with --checkpoint: override the model's top-k")
    parser.add_argument(
        "--mem-every", type=int, help="with --checkpoint: a memory frame every N frames"
    )
    parser.add_argument(
        "--amp",
        choices=("bf16", "fp16"),
        help="with --checkpoint: run the network under autocast (fp16 needs CUDA); the memory "
        "read and the aggregation stay float32",
    )
    parser.add_argument(
        "--compile",
        choices=("cuda-graphs", "torch"),
        help="with --checkpoint: replay CUDA graphs of the network's fixed-shape parts "
        "(cuda-graphs, CUDA only) or torch.compile them (torch); default eager",
    )
    parser.add_argument(
        "--protocol",
        default="davis",
        choices=("davis", "youtube"),
        help="with --checkpoint: inference loop; davis (default) = frames at their own size, "
        "memory every N-th frame index; youtube = the authors' YouTube-VOS loop (frames resized "
        "to --short-side, memory counted from the last memory frame), for YouTube-VOS folders",
    )
    parser.add_argument(
        "--short-side",
        type=int,
        default=480,
        help="with --protocol youtube: resize frames to this shorter side in pixels (480)",
    )
    parser.add_argument(
        "--pred",
        help="predictions: folder of <video>/<frame>.png; with --baseline/--checkpoint they "
        "are written here: a new or empty folder, or one an earlier gsfm eval wrote (it is "
        "replaced once the new predictions are complete); anything else is refused",
    )
    parser.add_argument(
        "--csv",
        help="write the per-object table here, replacing this file (default "
        "<pred>/results.csv, which is only replaced if an earlier gsfm eval wrote it)",
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
        "--binary",
        action="store_true",
        help="DAVIS 2016: one object per video; every non-zero pixel of the GT (0/255 masks) and "
        "of the prediction is that object",
    )
    parser.add_argument(
        "--baseline",
        choices=("empty", "copy-first"),
        help="write this trivial prediction into --pred first, then score it",
    )
    parser.add_argument(
        "--allow-missing-gt",
        action="store_true",
        help="score a video whose ground truth lacks frames (a frame or prediction without its "
        "PNG) on its annotated frames only, saying how many were skipped; without it that is "
        "an error",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print only the global scores (no progress bar, no per-object table)",
    )


def _sequences(args: argparse.Namespace) -> list[str] | None:
    if not args.split:
        return None
    from gsfm.data.davis import find_split_file
    from gsfm.data.layout import read_split_file

    f = find_split_file(Path(args.gt), args.split, None)
    if f is None:
        raise CLIError(f"--split {args.split}: {args.gt} has no ImageSets folder")
    return read_split_file(f)


PRED_MARKER = "gsfm_eval.json"  # written into every predictions folder this command fills
_TABLE_HEADER = "sequence,object,J&F-Mean,"  # how the per-object table (results.csv) starts


_OWN_TOP_FILES = (PRED_MARKER, "timing.json", "global.csv", "per_sequence.csv", "per_object.csv")


def _written_files(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted relative POSIX paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _foreign_entries(pred: Path) -> list[str]:
    """What in ``pred`` (an earlier output of this command) gsfm eval did not write: the files
    its :data:`PRED_MARKER` does not list (a marker from before the list: anything but the
    known top-level files and the PNGs of video folders), plus a ``results.csv`` that is not
    our table. A foreign folder is named once (``plots/``)."""
    import json

    try:
        listed = json.loads((pred / PRED_MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    ours = set(listed) if isinstance(listed, list) else None
    foreign: set[str] = set()
    for rel in _written_files(pred):
        parts = rel.split("/")
        if rel == "results.csv":
            mine = _is_our_table(pred / rel)
        elif ours is not None:
            mine = rel in ours or rel == PRED_MARKER
        else:
            mine = rel in _OWN_TOP_FILES or (len(parts) == 2 and rel.endswith(".png"))
        if not mine:
            top = parts[0]
            own_inside = ours is not None and any(o.startswith(top + "/") for o in ours)
            foreign.add(rel if len(parts) == 1 or own_inside else top + "/")
    for sub in pred.rglob("*"):  # folders of the user's that hold no file
        rel = sub.relative_to(pred).as_posix()
        if sub.is_dir() and not any(sub.iterdir()):
            foreign.add(rel + "/")
    return sorted(foreign)


def _check_pred_target(pred: Path, option: str = "--pred") -> None:
    """Refuse to write predictions into a folder holding anything but an earlier output of
    this command (one clear error naming the folder and what it holds): replacing that output
    must never delete a file gsfm did not write."""
    from gsfm.data.io import describe_folder

    contents = describe_folder(pred)
    if contents is None:
        return
    if (pred / PRED_MARKER).is_file():
        foreign = _foreign_entries(pred)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise CLIError(
                f"{option} {pred} holds an earlier gsfm eval output and {len(foreign)} "
                f"entr{'y' if len(foreign) == 1 else 'ies'} gsfm did not write ({shown}); "
                "writing new predictions would replace the folder: move them elsewhere or "
                "choose another folder (nothing was changed)"
            )
        return
    if not pred.is_dir():
        raise CLIError(f"{option} {pred} exists and is not a folder")
    raise CLIError(
        f"{option} {pred} is not empty ({contents}) and was not written by gsfm eval (no "
        f"{PRED_MARKER}); predictions go into a new or empty folder, or one gsfm eval wrote"
    )


def _write_predictions(pred: Path, source: str, data: str, write: Callable[[Path], Any]) -> Any:
    """Run ``write(tmp)`` into a hidden temporary folder next to ``pred``, mark it with
    :data:`PRED_MARKER` (which lists the files written), then put it in the place of ``pred``
    (whose old content, an earlier output of this command and nothing else:
    :func:`_check_pred_target`, is deleted only then). On any error the temporary folder goes."""
    import json

    from gsfm.files import atomic_folder

    with atomic_folder(pred) as tmp:
        result = write(tmp)
        marker = {
            "written_by": "python -m gsfm eval",
            "source": source,
            "data": data,
            "files": _written_files(tmp),
        }
        (tmp / PRED_MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    return result


def _is_our_table(csv: Path) -> bool:
    """Whether ``csv`` starts like the per-object table this command writes."""
    try:
        with csv.open(encoding="utf-8") as f:
            return f.readline().startswith(_TABLE_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def _check_table_target(csv: Path) -> None:
    """Refuse to replace a default ``results.csv`` that is not a per-object table of ours."""
    if not csv.exists():
        return
    if not _is_our_table(csv):
        raise CLIError(
            f"{csv} exists and is not a per-object table written by gsfm eval; it is left as "
            "it is: pass --csv FILE to write the table elsewhere"
        )


def run_folders(args: argparse.Namespace) -> int:
    """Score ``--pred`` against ``--gt`` (writing a ``--baseline`` first if asked)."""
    from gsfm.metrics import format_result, score_folders, size_buckets

    if not args.gt:
        raise CLIError("--gt is required (the ground-truth folder)")
    if not args.pred:
        raise CLIError("--pred is required (the folder of predicted masks)")
    seqs = _sequences(args)
    if args.baseline:
        from gsfm.baselines import write_baseline

        _check_pred_target(Path(args.pred))
        _write_predictions(
            Path(args.pred),
            f"baseline {args.baseline}",
            str(Path(args.gt).resolve()),
            lambda tmp: write_baseline(args.gt, tmp, args.baseline, sequences=seqs, res=args.res),
        )
    elif not args.csv:
        _check_table_target(Path(args.pred) / "results.csv")
    result = score_folders(
        args.gt,
        args.pred,
        sequences=seqs,
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
    from gsfm.files import atomic_write

    atomic_write(csv, lambda p: result.per_object.to_csv(p, index=False))
    print(f"per-object table written to {csv}")
    return 0


def _say_skipped(missing: list[str]) -> None:
    """One line on the frames scored without ground truth (``--allow-missing-gt``)."""
    if missing:
        n = len(missing)
        print(
            f"--allow-missing-gt: skipped {n} frame{'s' if n != 1 else ''} without ground "
            f"truth (first: {missing[0]})"
        )


def run_checkpoint(args: argparse.Namespace) -> int:
    """Segment ``--data`` with ``--checkpoint`` (predictions into ``--pred`` or next to the
    checkpoint), score it and print the global table."""
    from gsfm.evaluation import default_eval_dir, evaluate_checkpoint
    from gsfm.prediction import is_youtube_split
    from gsfm.runtime import resolve_path

    data = args.data or args.gt
    if not data:
        raise CLIError("--checkpoint needs --data DIR (the DAVIS-layout folder to segment)")
    if args.baseline:
        raise CLIError("--baseline and --checkpoint exclude each other")
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
    # the folder evaluate_checkpoint would use: new, empty or an earlier output of ours holding
    # nothing else (the default <run>/eval/... too), which is then replaced
    if args.pred:
        pred = resolve_path(args.pred)
        _check_pred_target(pred)
    else:
        pred = default_eval_dir(resolve_path(args.checkpoint), data)
        _check_pred_target(pred, "evaluation folder")  # replaced only if all gsfm's own

    source = f"checkpoint {resolve_path(args.checkpoint)}"
    if args.protocol == "youtube" and is_youtube_split(data):
        return _youtube_submission(args, data, pred, source)

    def evaluate_into(tmp: Path) -> Any:
        return evaluate_checkpoint(
            args.checkpoint,
            data,
            tmp,
            device=args.device,
            top_k=args.top_k if args.top_k is not None else "config",
            mem_every=args.mem_every,
            protocol=args.protocol,
            short_side=args.short_side,
            videos=_sequences(argparse.Namespace(split=args.split, gt=data)),
            res=args.res,
            objects=args.objects,
            binary=args.binary,
            amp=args.amp,
            allow_missing_gt=args.allow_missing_gt,
            progress=not args.quiet,
            compile=args.compile,
        )

    row = _write_predictions(pred, source, str(resolve_path(data)), evaluate_into)
    row["predictions"] = str(pred)
    print(_format_row(row))
    if args.csv:
        from gsfm.files import atomic_write

        atomic_write(Path(args.csv), lambda p: row.to_csv(p, index=False))
        print(f"table written to {args.csv}")
    return 0


def _format_row(row: Any) -> str:
    """The checkpoint's scores as people read them: J&F, J and F x100 (like folder scoring and
    the README), then the run's other columns."""
    from gsfm.metrics import METRIC_COLUMNS

    r = row.iloc[0]
    scores = "  ".join(f"{c} {100 * float(r[c]):.2f}" for c in METRIC_COLUMNS if c in row)
    rest = row.drop(columns=[c for c in METRIC_COLUMNS if c in row])
    return f"Global (object-weighted, x100): {scores}\n" + rest.to_string(
        index=False, float_format=lambda x: f"{x:.4g}"
    )


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


def _youtube_submission(args: argparse.Namespace, data: str, pred: Path, source: str) -> int:
    """A YouTube-VOS split (it has a meta.json): segment it as the authors do and write the
    submission folder. Its ground truth is not public, so nothing is scored here."""
    from gsfm.checkpoint import load_model
    from gsfm.prediction import predict_youtube
    from gsfm.runtime import resolve_device, resolve_path

    if args.split:
        raise CLIError("--split selects DAVIS ImageSets; a YouTube-VOS split uses its meta.json")
    given = (("top_k", args.top_k), ("mem_every", args.mem_every))
    overrides = {k: v for k, v in given if v is not None}
    model = load_model(args.checkpoint, map_location=resolve_device(args.device), **overrides)
    summary = _write_predictions(
        pred,
        source,
        str(resolve_path(data)),
        lambda tmp: predict_youtube(
            model,
            data,
            tmp,
            short_side=args.short_side,
            progress=not args.quiet,
            amp=args.amp,
            compile=args.compile,
        ),
    )
    frames = sum(v["frames"] for v in summary.values())
    seconds = sum(v["seconds"] for v in summary.values())
    print(
        f"YouTube-VOS ({args.protocol} protocol): {len(summary)} videos, {frames} frames "
        f"propagated at {frames / max(seconds, 1e-9):.1f} FPS; predictions in {pred}. "
        "The split's ground truth is not public, so nothing is scored here: zip the video "
        "folders and submit them to the YouTube-VOS evaluation server."
    )
    return 0
