"""``python -m gsfm synth``: write a split of the synthetic benchmark in the DAVIS layout."""

from __future__ import annotations

import argparse

HELP = "write the synthetic VOS benchmark (synth-v1) in the DAVIS layout"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``synth`` command."""
    from gsfm.data.synthetic import SPLITS, VERSIONS

    parser.add_argument("--out", required=True, help="output folder (DAVIS layout)")
    parser.add_argument("--split", default="val", choices=SPLITS, help="which split (default val)")
    parser.add_argument(
        "--version", default="v1", choices=sorted(VERSIONS), help="benchmark version"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0: the official split)")
    parser.add_argument(
        "--height", type=int, default=None, help="frame height (default: version's, 160)"
    )
    parser.add_argument(
        "--width", type=int, default=None, help="frame width (default: version's, 288)"
    )
    parser.add_argument("--limit", type=int, default=None, help="write only the first N videos")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate and write the split; print where it went."""
    from gsfm.data.synthetic import write_split

    root = write_split(
        args.out,
        split=args.split,
        version=args.version,
        seed=args.seed,
        height=args.height,
        width=args.width,
        limit=args.limit,
        progress=not args.quiet,
    )
    print(f"wrote synth-{args.version} {args.split} to {root}")
    return 0
