"""``python -m gsfm predict``: segment a folder of videos and write the predicted masks.

``--checkpoint FILE --data DIR --out DIR`` runs a trained network (ours, a training
checkpoint, or the authors' STCN/GSFM weights; ``--weights gsfm|stcn``: the weights shipped in
``weights/``, their SHA-256 checked) on a DAVIS-layout folder, giving it each object
at its first annotated frame, and writes palette PNGs ``<out>/<video>/<frame>.png`` and
``timing.json``; ``gsfm score`` then scores them. ``--protocol youtube`` switches to the
authors' YouTube-VOS inference loop (frames resized to a ``--short-side`` of 480 px, memory
cadence counted from the last memory frame, annotations edited into the aggregated
probabilities); on a YouTube-VOS split (a folder with ``meta.json``) it writes the submission
folder the evaluation server expects. ``--baseline empty|copy-first`` writes that trivial
prediction instead of running a network. The inference options become one
:class:`~gsfm.inference.InferenceSettings`, checked before anything is read or written.

``--out`` must be new or empty, or hold an earlier output of this command (it carries a
``gsfm_eval.json`` listing the files it wrote; ``gsfm score``'s ``results.csv`` may sit
beside them) and nothing else; anything else is refused, naming what gsfm did not write, so
that no file of the user's is ever deleted. The predictions go to a hidden temporary folder
next to it and replace it only when complete, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gsfm.cli import CLIError, device_arg
from gsfm.commands.score import add_selection_arguments, is_our_table, split_videos
from gsfm.data.io import describe_folder
from gsfm.files import atomic_folder
from gsfm.runtime import resolve_device, resolve_path

HELP = "segment videos with a checkpoint, shipped weights or a baseline; write the masks"

PRED_MARKER = "gsfm_eval.json"  # written into every predictions folder this command fills
# top-level files an output written before the marker listed its files may hold
_OWN_TOP_FILES = (PRED_MARKER, "timing.json", "global.csv", "per_sequence.csv", "per_object.csv")
# the options that are InferenceSettings fields of the same name (they need a network)
_INFERENCE_OPTIONS = ("top_k", "mem_every", "protocol", "short_side", "amp", "compile")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """What writes the masks: ``--checkpoint`` or ``--baseline`` (one of them)."""
    parser.add_argument(
        "--checkpoint", help="the trained network: a gsfm checkpoint or the authors' weights"
    )
    parser.add_argument(
        "--baseline",
        choices=("empty", "copy-first"),
        help="write this trivial prediction instead of running a network",
    )


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """How the network segments (with ``--checkpoint``): device and inference settings."""
    parser.add_argument("--device", type=device_arg, help="auto (default) | cpu | cuda | cuda:N")
    parser.add_argument("--top-k", type=int, help="override the model's top-k (GSFM 50, STCN 20)")
    parser.add_argument(
        "--mem-every", type=int, help="a memory frame every N frames (default: the model's)"
    )
    parser.add_argument(
        "--amp",
        choices=("bf16", "fp16"),
        help="run the network under autocast (fp16 needs CUDA); the memory read and the "
        "aggregation stay float32",
    )
    parser.add_argument(
        "--compile",
        choices=("cuda-graphs", "torch"),
        help="replay CUDA graphs of the network's fixed-shape parts (cuda-graphs, CUDA only) "
        "or torch.compile them (torch); default eager",
    )
    parser.add_argument(
        "--protocol",
        choices=("davis", "youtube"),
        help="inference loop; davis (default) = frames at their own size, memory every N-th "
        "frame index; youtube = the authors' YouTube-VOS loop (frames resized to --short-side, "
        "memory counted from the last memory frame), for YouTube-VOS folders",
    )
    parser.add_argument(
        "--short-side",
        type=int,
        help="with --protocol youtube: resize frames to this shorter side in pixels (480)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``predict`` command."""
    add_source_arguments(parser)
    parser.add_argument(
        "--weights",
        metavar="NAME",
        help="the trained network shipped in weights/ (gsfm or stcn; its SHA-256 is checked "
        "against weights/manifest.json), instead of --checkpoint",
    )
    parser.add_argument("--data", help="the DAVIS-layout (or YouTube-VOS) folder to segment")
    parser.add_argument(
        "--out",
        help="where the masks go: a new or empty folder, or one an earlier gsfm predict wrote "
        "(it is replaced once the new predictions are complete); anything else is refused",
    )
    add_inference_arguments(parser)
    add_selection_arguments(parser)


def inference_settings(args: argparse.Namespace) -> Any:
    """The :class:`~gsfm.inference.InferenceSettings` of the command line (checked there)."""
    # lazy: `python -m gsfm --help` imports this module; gsfm.inference imports torch
    from gsfm.inference import InferenceSettings

    given = {o: getattr(args, o) for o in _INFERENCE_OPTIONS if getattr(args, o) is not None}
    return InferenceSettings(**given)


def _written_files(folder: Path) -> list[str]:
    """Every file under ``folder``, as sorted relative POSIX paths."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _foreign_entries(pred: Path) -> list[str]:
    """What in ``pred`` (an earlier output of this command) gsfm did not write: the files its
    :data:`PRED_MARKER` does not list (a marker from before the list: anything but the known
    top-level files and the PNGs of video folders), plus a ``results.csv`` that is not a table
    of ``gsfm score``. A foreign folder is named once (``plots/``)."""
    try:
        listed = json.loads((pred / PRED_MARKER).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    ours = set(listed) if isinstance(listed, list) else None
    foreign: set[str] = set()
    for rel in _written_files(pred):
        parts = rel.split("/")
        if rel == "results.csv":
            mine = is_our_table(pred / rel)
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


def check_pred_target(pred: Path, option: str = "--out") -> None:
    """Refuse to write predictions into a folder holding anything but an earlier output of
    this command (one clear error naming the folder and what it holds): replacing that output
    must never delete a file gsfm did not write."""
    contents = describe_folder(pred)
    if contents is None:
        return
    if (pred / PRED_MARKER).is_file():
        foreign = _foreign_entries(pred)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise CLIError(
                f"{option} {pred} holds earlier gsfm predictions and {len(foreign)} "
                f"entr{'y' if len(foreign) == 1 else 'ies'} gsfm did not write ({shown}); "
                "writing new predictions would replace the folder: move them elsewhere or "
                "choose another folder (nothing was changed)"
            )
        return
    if not pred.is_dir():
        raise CLIError(f"{option} {pred} exists and is not a folder")
    raise CLIError(
        f"{option} {pred} is not empty ({contents}) and was not written by gsfm predict (no "
        f"{PRED_MARKER}); predictions go into a new or empty folder, or one gsfm predict wrote"
    )


def _write_predictions(pred: Path, provenance: dict[str, Any], write: Callable[[Path], Any]) -> Any:
    """Run ``write(tmp)`` into a hidden temporary folder next to ``pred``, mark it with
    :data:`PRED_MARKER` (``provenance`` plus the list of the files written), then put it in
    the place of ``pred`` (whose old content, an earlier output of this command and nothing
    else: :func:`check_pred_target`, is deleted only then). On any error the temporary folder
    goes."""
    with atomic_folder(pred) as tmp:
        result = write(tmp)
        marker = {"written_by": "python -m gsfm predict", **provenance}
        marker["files"] = _written_files(tmp)
        (tmp / PRED_MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    return result


def predict(args: argparse.Namespace, *, full_gt: bool = False) -> bool:
    """Write the masks of ``args`` (the ``predict`` options) into ``args.out``.

    ``full_gt``: also refuse, before any inference, a DAVIS-layout folder whose ground truth
    lacks frames (what scoring would refuse afterwards). Returns whether the masks can be
    scored against ``args.data`` (False for a YouTube-VOS split, whose ground truth is not
    public).
    """
    # lazy: `python -m gsfm --help` imports this module; each of these imports torch
    from gsfm.evaluation import check_inputs
    from gsfm.prediction import is_youtube_split

    if not args.data:
        raise CLIError("--data is required (the DAVIS-layout folder to segment)")
    if not args.out:
        raise CLIError("--out is required (the folder the masks are written to)")
    if sum(bool(a) for a in (args.checkpoint, args.weights, args.baseline)) != 1:
        raise CLIError(
            "give one of --checkpoint FILE (a network), --weights gsfm|stcn (the shipped "
            "weights) or --baseline empty|copy-first"
        )
    data, out = resolve_path(args.data), resolve_path(args.out)
    if not data.is_dir():
        raise FileNotFoundError(f"data folder not found: {data}")
    if args.baseline:
        given = [o for o in (*_INFERENCE_OPTIONS, "device") if getattr(args, o) is not None]
        if given:
            raise CLIError(
                f"--{given[0].replace('_', '-')} applies to --checkpoint and --weights; a "
                "baseline runs no network"
            )
        check_pred_target(out)
        return _predict_baseline(args, data, out)
    settings = inference_settings(args)  # bad values are refused here, before any work
    if args.weights:
        _shipped_digest(args.weights)  # an unknown name is refused here, listing the known ones
    elif not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {args.checkpoint}")
    check_pred_target(out)
    if settings.protocol == "youtube" and is_youtube_split(data):
        _predict_youtube(args, settings, data, out)
        return False
    videos = split_videos(data, args.split)
    check_inputs(data, videos, args.res, args.binary, allow_missing_gt=not full_gt)
    model, settings = _load(args, settings)

    def predict_into(tmp: Path) -> Any:
        # lazy: `python -m gsfm --help` imports this module; gsfm.prediction imports torch
        from gsfm.prediction import predict_folder

        return predict_folder(
            model,
            data,
            tmp,
            videos=videos,
            res=args.res,
            annotations="appearance",
            settings=settings,
            progress=not args.quiet,
            binary=args.binary,
        )

    summary = _write_predictions(out, _provenance(args, data, settings), predict_into)
    print(_summary_line(summary, out))
    return True


def _shipped_digest(name: str) -> str:
    """The SHA-256 that weights/manifest.json records for the shipped weights ``name``; an
    unknown name is one error line listing the shipped ones."""
    # lazy: `python -m gsfm --help` imports this module; gsfm.weights imports torch
    from gsfm.weights import shipped_digest

    return shipped_digest(name)


def _load(args: argparse.Namespace, settings: Any) -> tuple[Any, Any]:
    """The network of ``--checkpoint`` (or the shipped ``--weights``, their SHA-256 checked) on
    ``--device`` and the settings with its defaults filled in; what the device cannot run
    (fp16, CUDA graphs off CUDA) is refused before the weights are read."""
    # lazy: `python -m gsfm --help` imports this module; each of these imports torch
    from gsfm.checkpoint import load_model
    from gsfm.weights import load_shipped

    device = resolve_device(args.device or "auto")
    settings.check_device(device)
    if args.weights:
        model = load_shipped(args.weights, device)
    else:
        model = load_model(args.checkpoint, map_location=device)
    return model, settings.resolved(model.config)


def _provenance(args: argparse.Namespace, data: Path, settings: Any = None) -> dict[str, Any]:
    """What the marker records about the masks: source, data folder, inference settings."""
    if args.baseline:
        return {"source": f"baseline {args.baseline}", "data": str(data)}
    if args.weights:
        digest = _shipped_digest(args.weights)
        source: dict[str, Any] = {
            "source": f"shipped weights {args.weights}",
            "weights": {"name": args.weights, "sha256": digest},
        }
    else:
        source = {"source": f"checkpoint {resolve_path(args.checkpoint)}"}
    return {**source, "data": str(data), "settings": settings.provenance()}


def _summary_line(summary: dict[str, dict[str, Any]], out: Path) -> str:
    frames = sum(v["frames"] for v in summary.values())
    seconds = sum(v["seconds"] for v in summary.values())
    videos = f"{len(summary)} video{'s' if len(summary) != 1 else ''}"
    return (
        f"{videos}, {frames} frames propagated at "
        f"{frames / max(seconds, 1e-9):.1f} FPS; predictions in {out}"
    )


def _predict_baseline(args: argparse.Namespace, data: Path, out: Path) -> bool:
    # lazy: `python -m gsfm --help` imports this module; gsfm.baselines imports tqdm
    from gsfm.baselines import write_baseline

    videos = split_videos(data, args.split)
    _write_predictions(
        out,
        _provenance(args, data),
        lambda tmp: write_baseline(data, tmp, args.baseline, sequences=videos, res=args.res),
    )
    print(f"baseline {args.baseline} written to {out}")
    return True


def _predict_youtube(args: argparse.Namespace, settings: Any, data: Path, out: Path) -> None:
    """A YouTube-VOS split (it has a meta.json): segment it as the authors do and write the
    submission folder. Its ground truth is not public, so nothing can be scored."""
    # lazy: `python -m gsfm --help` imports this module; gsfm.prediction imports torch
    from gsfm.prediction import predict_youtube

    if args.split:
        raise CLIError("--split selects DAVIS ImageSets; a YouTube-VOS split uses its meta.json")
    model, settings = _load(args, settings)
    summary = _write_predictions(
        out,
        _provenance(args, data, settings),
        lambda tmp: predict_youtube(model, data, tmp, settings=settings, progress=not args.quiet),
    )
    print(
        f"YouTube-VOS (youtube protocol): {_summary_line(summary, out)}. The split's ground "
        "truth is not public, so it cannot be scored here: zip the video folders and submit "
        "them to the YouTube-VOS evaluation server."
    )


def run(args: argparse.Namespace) -> int:
    """Write the masks; for a DAVIS-layout folder, say how to score them."""
    if predict(args):
        print(f"score them: python -m gsfm score --gt {args.data} --pred {args.out}")
    return 0
