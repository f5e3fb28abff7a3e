"""Command line entry point: ``python -m gsfm <command> ...``.

Each command lives in its own module under :mod:`gsfm.commands` and exposes
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules are
imported lazily so that ``python -m gsfm --help`` stays fast and one broken command
does not take the others down.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

# command name -> module under gsfm.commands
COMMANDS: dict[str, str] = {
    "synth": "synth",
    "predict": "predict",
    "score": "score",
    "train": "train",
    "notebooks": "notebooks",
    "ablate": "ablate",
    "export-weights": "export_weights",
    "eval": "evaluate",  # deprecated alias of predict + score, kept for one release
}


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# --- argument types shared by the commands: checked at parse time, before anything is written --

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
SEED_MAX = 2**32 - 1  # NumPy's legacy seeds and PYTHONHASHSEED take 32 bits


def device_arg(text: str) -> str:
    """``--device``: auto, cpu, cuda, cuda:N or mps (whether CUDA exists is checked later)."""
    if not _DEVICE.match(text):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r}: expected auto, cpu, cuda, cuda:N or mps"
        )
    return text


def positive_int(text: str) -> int:
    """An integer >= 1 (counts: threads, jobs, iterations)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seed_arg(text: str) -> int:
    """A random seed: an integer from 0 to :data:`SEED_MAX`."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {SEED_MAX}, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gsfm", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(f"gsfm.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gsfm.commands.{module_name}":
                raise
            continue  # command not implemented yet
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; errors from bad input exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CLIError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
