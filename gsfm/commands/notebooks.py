"""``python -m gsfm notebooks``: execute the notebooks (what ``make figures`` runs)."""

from __future__ import annotations

import argparse

from gsfm.config import PROFILE_NAMES

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
    parser.add_argument("--profile", choices=PROFILE_NAMES, help="override profile")
    parser.add_argument("--device", help="override the device parameter (auto, cpu, cuda)")
    parser.add_argument("--figures-dir", help="override where figures are written")
    parser.add_argument(
        "--html",
        help="also write each executed notebook as HTML into this folder (relative to the "
        "project; make figures uses docs/notebooks); pages of the same name are replaced",
    )


def run(args: argparse.Namespace) -> int:
    from gsfm.notebooks import execute_all

    params = {
        key: value
        for key, value in (
            ("profile", args.profile),
            ("device", args.device),
            ("figures_dir", args.figures_dir),
        )
        if value is not None
    }
    execute_all(args.out, args.names, params, html_dir=args.html)
    return 0
