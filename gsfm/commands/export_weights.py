"""``python -m gsfm export-weights``: write a finished run as shipped weights (``weights/``).

``--run RUN_DIR --name gsfm`` writes ``weights/gsfm.safetensors`` (float16 parameters),
``weights/gsfm.log.csv`` and the entry of ``weights/manifest.json`` (SHA-256, the run's
configuration and provenance, the committed result row it reproduces), each atomically.
Weights already shipped under that name are refused unless ``--force``: git keeps every
version of a binary, so they are replaced only for a reason.
"""

from __future__ import annotations

import argparse

HELP = "write a finished run's weights into weights/ (float16 safetensors + manifest)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``export-weights`` command."""
    parser.add_argument(
        "--run", required=True, help="the finished run folder (checkpoints/final.pt)"
    )
    parser.add_argument("--name", required=True, help="the shipped name: gsfm or stcn")
    parser.add_argument("--out", default="weights", help="the weights folder (default: weights)")
    parser.add_argument(
        "--reproduces",
        metavar="STUDY:VARIANT",
        help="the committed result row the run reproduces (default: small_objects:GSFM for gsfm, "
        "small_objects:STCN for stcn: the README's seed-0 rows)",
    )
    parser.add_argument(
        "--results", default="results/ablations", help="where the result tables are"
    )
    parser.add_argument("--force", action="store_true", help="replace weights already shipped")
    parser.add_argument(
        "--doc",
        default="docs/weights.md",
        help="regenerate this page's table of shipped weights ('' to skip; default: "
        "docs/weights.md)",
    )


def run(args: argparse.Namespace) -> int:
    """Export, then print the file, its size and its SHA-256."""
    # lazy: `python -m gsfm --help` imports this module; gsfm.weights imports torch
    from gsfm.weights import export_weights, read_manifest, update_doc

    reproduces = None
    if args.reproduces:
        study, sep, variant = args.reproduces.partition(":")
        if not sep or not study or not variant:
            raise ValueError(f"--reproduces {args.reproduces!r}: expected STUDY:VARIANT")
        reproduces = (study, variant)
    path = export_weights(
        args.run, args.name, args.out, reproduces=reproduces, results_dir=args.results,
        force=args.force,
    )  # fmt: skip
    entry = read_manifest(path.parent)["models"][args.name]
    if args.doc:
        print(f"table of shipped weights regenerated in {update_doc(args.doc, path.parent)}")
    print(
        f"{path}: {entry['bytes'] / 1e6:.1f} MB, sha256 {entry['sha256']}; reproduces "
        f"{entry['reproduces']['study']}/{entry['reproduces']['variant']} "
        f"(J&F {entry['reproduces']['JF']:.2f} on synth-v1 val)"
    )
    return 0
