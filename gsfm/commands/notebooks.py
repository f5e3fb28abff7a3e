"""``python -m gsfm notebooks``: execute the notebooks (what ``make figures`` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gsfm.cli import device_arg
from gsfm.config import PROFILE_NAMES
from gsfm.runtime import resolve_path

HELP = "execute the notebooks with papermill at their defaults (regenerates figures/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="only notebooks whose name starts with these")
    parser.add_argument(
        "--out",
        default="build/notebooks",
        help="folder for executed copies (default build/notebooks, relative to the project): "
        "new or empty, or holding only earlier executed copies (replaced); a folder with "
        "anything else, or notebooks/ itself, is refused",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILE_NAMES,
        help="override profile; figures of a profile other than cpu (the committed figures') "
        "go to figures/<profile>/ unless --figures-dir says otherwise",
    )
    parser.add_argument(
        "--device", type=device_arg, help="override the device parameter (auto, cpu, cuda)"
    )
    parser.add_argument("--figures-dir", help="override where figures are written")
    parser.add_argument(
        "--results",
        metavar="DIR",
        help="the results folder notebooks 03, 05 and 06 read (default results/ablations)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (one step per notebook cell)"
    )
    parser.add_argument(
        "--html",
        help="also write each executed notebook as HTML into this folder (relative to the "
        "project; make figures uses docs/notebooks); pages of the same name are replaced",
    )


def run(args: argparse.Namespace) -> int:
    # lazy: `python -m gsfm --help` imports this module; gsfm.notebooks imports papermill
    from gsfm.notebooks import NotebookFailed, execute_all

    results = None if args.results is None else str(resolve_path(args.results))
    if results is not None and not Path(results).is_dir():
        raise FileNotFoundError(f"--results {args.results}: no such folder")
    params = {
        key: value
        for key, value in (
            ("profile", args.profile),
            ("device", args.device),
            ("figures_dir", args.figures_dir),
            ("results_dir", results),
        )
        if value is not None
    }
    try:
        execute_all(args.out, args.names, params, html_dir=args.html, progress=not args.quiet)
    except NotebookFailed as err:  # not bad input: the notebook ran and a cell failed
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
