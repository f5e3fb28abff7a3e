"""``python -m gsfm eval``: the former two-in-one command, kept for one release as an alias.

It takes its former options and runs the commands that replaced it, saying on stderr which to
use: ``eval --gt G --pred P`` is ``gsfm score``; ``eval --checkpoint C --data D [--pred P]``
and ``eval --baseline B --gt G --pred P`` are ``gsfm predict`` followed by ``gsfm score``
(as before, a folder whose ground truth lacks frames is refused before any inference unless
``--allow-missing-gt``; without ``--pred`` the masks go to ``<run>/eval/<data>-<checkpoint>``;
a YouTube-VOS split is only predicted, its ground truth is not public).
"""

from __future__ import annotations

import argparse
import sys

from gsfm.cli import CLIError
from gsfm.commands import predict, score
from gsfm.runtime import resolve_path

HELP = "deprecated alias of `predict` + `score` (kept for one release)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The former options: those of ``score``, and of ``predict`` with ``--pred`` as ``--out``."""
    score.add_arguments(parser)
    predict.add_source_arguments(parser)
    parser.add_argument("--data", help="with --checkpoint: the folder to segment (default --gt)")
    predict.add_inference_arguments(parser)


def _note(text: str) -> None:
    print(f"note: gsfm eval is deprecated and will be removed; {text}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run ``score``, or ``predict`` then ``score``, as the options ask."""
    if not (args.checkpoint or args.baseline):
        _note("use `python -m gsfm score --gt G --pred P`")
        return score.run(args)
    _note(
        "use `python -m gsfm predict --checkpoint C|--baseline B --data D --out P`, then "
        "`python -m gsfm score --gt D --pred P`"
    )
    data = args.data or args.gt
    if not data and args.baseline:
        raise CLIError("--gt is required (the ground-truth folder)")
    if not data:
        raise CLIError("--checkpoint needs --data DIR (the DAVIS-layout folder to segment)")
    out = args.pred
    if not out and args.checkpoint:
        # lazy: `python -m gsfm --help` imports this module; gsfm.evaluation imports torch
        from gsfm.evaluation import default_eval_dir

        out = str(default_eval_dir(resolve_path(args.checkpoint), data))
    if args.baseline and not out:
        raise CLIError("--pred is required (the folder of predicted masks)")
    predicted = argparse.Namespace(**{**vars(args), "data": data, "out": out, "weights": None})
    if not predict.predict(predicted, full_gt=not args.allow_missing_gt):
        return 0
    return score.run(argparse.Namespace(**{**vars(args), "gt": data, "pred": out}))
