"""``python -m gsfm synth``: write a split of the synthetic benchmark in the DAVIS layout.

``--out`` must be a new or empty folder. If it already holds the same split written with the
same settings (version, split, seed, size, limit), the command checks that it is complete and
intact (every file there, readable, of its size and of the SHA-256 its manifest records) and
writes nothing; a split whose manifest records no digests (written by an older gsfm) is called
complete but unverified. Anything else is refused, unless ``--force``: then the split is
written into the folder, files of the same names are replaced, an earlier copy of this split
recorded in ``synth_<split>.json`` (say, at another size) is removed, nothing else is touched,
and the command lists what it replaced and removed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gsfm.cli import CLIError
from gsfm.data.io import describe_folder
from gsfm.data.synthetic import (
    SPLITS,
    VERSIONS,
    describe_split,
    read_split_record,
    remove_split,
    split_paths,
    split_problems,
    split_settings,
    split_unverified,
    write_split,
)

HELP = "write the synthetic VOS benchmark (synth-v1) in the DAVIS layout"


MIN_SIZE = 16  # the generator's smallest frame side (gsfm.data.synthetic.generate_video)


def _int_at_least(low: int, what: str) -> Any:
    """An argparse type: an integer >= ``low`` (checked when the command line is parsed)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``synth`` command."""
    parser.add_argument(
        "--out",
        required=True,
        help="output folder (DAVIS layout): new or empty; a folder that already holds this "
        "split with the same settings is verified and left as it is; anything else is "
        "refused (see --force)",
    )
    parser.add_argument("--split", default="val", choices=SPLITS, help="which split (default val)")
    parser.add_argument(
        "--version", default="v1", choices=sorted(VERSIONS), help="benchmark version"
    )
    parser.add_argument(
        "--seed",
        type=_int_at_least(0, "a non-negative integer"),
        default=0,
        help="seed (default 0: the official split)",
    )
    parser.add_argument(
        "--height",
        type=_int_at_least(MIN_SIZE, f"a frame height of at least {MIN_SIZE} pixels"),
        default=None,
        help="frame height (default: version's, 160)",
    )
    parser.add_argument(
        "--width",
        type=_int_at_least(MIN_SIZE, f"a frame width of at least {MIN_SIZE} pixels"),
        default=None,
        help="frame width (default: version's, 288)",
    )
    parser.add_argument(
        "--limit",
        type=_int_at_least(1, "a positive number of videos"),
        default=None,
        help="write only the first N videos",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out anyway: files of the same names are replaced, an "
        "earlier copy of this split recorded in its synth_<split>.json is removed, nothing "
        "else in the folder is touched; what was replaced and removed is printed",
    )
    parser.add_argument(
        "--workers",
        type=_int_at_least(1, "a positive number of processes"),
        default=None,
        help="processes that render videos side by side (default: one per CPU; 1: one video "
        "after the other); the files are the same bytes for any number",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _holdings(root: Path) -> str:
    """What a non-empty folder holds: synth splits, a DAVIS layout, other entries."""
    parts = []
    for meta in sorted(root.glob("synth_*.json")):
        record = read_split_record(root, meta.stem.removeprefix("synth_"))
        parts.append(describe_split(record) if record else f"an unreadable {meta.name}")
    layout = [d for d in ("Annotations", "JPEGImages", "ImageSets") if (root / d).is_dir()]
    if not parts and layout:
        subs = sorted(f"{d}/{c.name}" for d in layout for c in (root / d).iterdir())
        shown = ", ".join(subs[:4]) + (", ..." if len(subs) > 4 else "")
        parts.append(f"a DAVIS-layout data set ({shown or 'empty folders'})")
    return "; ".join(parts) or describe_folder(root) or "nothing"


def _relative(paths: list[Path], root: Path) -> str:
    """``ImageSets/synth-v1/val.txt, synth_val.json and 2 videos at 32p`` for split paths."""
    rels = [p.relative_to(root) for p in paths]
    frames = [r for r in rels if r.parts[0] in ("JPEGImages", "Annotations")]
    words = [str(r) for r in rels if r not in frames]
    videos = {r.parts[-1] for r in frames}
    if videos:
        res = "/".join(sorted({r.parts[1] for r in frames}))
        words.append(f"{len(videos)} video{'s' if len(videos) != 1 else ''} at {res}")
    return ", ".join(words) if words else "nothing"


def run(args: argparse.Namespace) -> int:
    """Generate and write the split (or verify an existing one); print what happened."""
    root = Path(args.out)
    if root.exists() and not root.is_dir():
        raise CLIError(f"output path {root} exists and is not a folder")
    identity = split_settings(
        args.split, args.version, args.seed, args.height, args.width, args.limit
    )
    label = describe_split(identity)
    kwargs: dict[str, Any] = {
        "split": args.split,
        "version": args.version,
        "seed": args.seed,
        "height": identity["height"],
        "width": identity["width"],
        "limit": args.limit,
        "progress": not args.quiet,
        "workers": args.workers,
    }
    if describe_folder(root) is None:  # new or empty
        write_split(root, **kwargs)
        print(f"wrote {label} to {root}")
        return 0
    problems = split_problems(root, identity)
    if not problems and split_unverified(root, args.split):
        print(
            f"{root} already holds {label}, complete, but its content is unverified: its "
            f"synth_{args.split}.json records no file digests (written by an older gsfm); "
            "nothing written (--force rewrites it and records them)"
        )
        return 0
    if not problems:
        print(f"{root} already holds {label}, complete and intact: nothing written")
        return 0
    record = read_split_record(root, args.split)
    same = record is not None and all(record.get(k) == v for k, v in identity.items())
    if not args.force:
        if same:
            more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
            raise CLIError(
                f"{root} holds {label} but it is incomplete or damaged: "
                f"{'; '.join(problems[:3])}{more}; run again with --force to rewrite it"
            )
        raise CLIError(
            f"output folder {root} is not empty: it holds {_holdings(root)}; choose a new or "
            f"empty --out, or pass --force to write {label} into it anyway"
        )
    new_paths = split_paths(root, identity)
    replaced = [p for p in new_paths if p.exists()]
    write_split(root, **kwargs)
    removed = remove_split(root, record, keep=new_paths) if record is not None else []
    report = f"wrote {label} to {root} (--force): replaced {_relative(replaced, root)}"
    if removed:
        report += f"; removed the earlier {describe_split(record)}: {_relative(removed, root)}"
    print(f"{report}; nothing else in the folder was changed")
    return 0
