"""``python -m gsfm ablate``: train, score and tabulate the ablation studies (resumable).

Examples::

    python -m gsfm ablate --study all --seeds 0 1 2 --profile cpu --jobs 2
    python -m gsfm ablate --study sigma --seeds 0 --dry-run        # what is still missing
    python -m gsfm ablate --study small_objects --reuse-from runs/reproducibility/avx512-t1
    python -m gsfm ablate --device cuda --jobs 8 --num-workers 1 --time-limit 420 \
        --results results/ablations-cuda      # a GPU lent for minutes: stop between runs
    python -m gsfm ablate --speed --device cpu --threads 1   # components' and generalization's
                                              # speed, timed together (on a quiet machine)
    python -m gsfm ablate --study components --seeds 3 4 --score-only --score-on val96-v1 \
        --results results/ablations-val96     # finished runs scored on 96 more videos

Rows go to ``results/ablations/<study>.csv`` (one per study, variant, seed, split) with the
per-video and per-object tables beside them. Running the same command again adds nothing;
after a kill it picks up where it stopped (interrupted trainings resume from their checkpoint).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from gsfm.cli import CLIError, device_arg, positive_int, seed_arg
from gsfm.config import PROFILE_NAMES
from gsfm.files import DiskFullError

HELP = "run the ablation studies (σ, placement, components, generalization, small objects)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``ablate`` command."""
    parser.add_argument(  # names checked by gsfm.ablation.studies.get_studies (keeps --help light)
        "--study",
        action="append",
        metavar="NAME",
        help="sigma, placement, components, generalization, small_objects (repeat for several) "
        "or all (default)",
    )
    parser.add_argument(
        "--seeds", type=seed_arg, nargs="+", default=[0, 1, 2], help="default 0 1 2"
    )
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="cpu", help="default cpu")
    parser.add_argument(
        "--device", type=device_arg, default="auto", help="auto (default), cpu or cuda"
    )
    parser.add_argument(
        "--jobs", type=positive_int, default=1, help="trainings at once (default 1)"
    )
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads per training job (default: "
        "the CPU cores divided by --jobs on CPU)",
    )  # fmt: skip
    parser.add_argument("--runs-dir", default="runs/ablations", help="where new runs are trained")
    parser.add_argument(
        "--reuse-from",
        action="append",
        default=[],
        metavar="DIR",
        help="also reuse finished runs of identical configuration from DIR (repeatable)",
    )
    parser.add_argument("--results", default="results/ablations", help="where rows are written")
    parser.add_argument("--data-dir", default="data/synth", help="synthetic splits (written once)")
    parser.add_argument(
        "--max-variants", type=int, default=None,
        help="only the reference and the first N-1 other variants of each study (quick looks)",
    )  # fmt: skip
    parser.add_argument(
        "--variant", action="append", default=None, metavar="LABEL",
        help="only this variant of each chosen study (repeatable), e.g. --variant GSFM",
    )  # fmt: skip
    parser.add_argument(
        "--start", choices=("own", "shared"), default="own",
        help="own (default): each variant from its own random draw; shared: every variant of "
        "a seed from one common state, frequency modules as the identity (write the rows to "
        "their own --results folder)",
    )  # fmt: skip
    parser.add_argument(
        "--num-workers", type=int, default=None,
        help="loader worker processes per training (on a GPU; part of the runs' configuration)",
    )  # fmt: skip
    parser.add_argument(
        "--time-limit", type=float, default=None, metavar="SECONDS",
        help="start no training after this many seconds; the ones under way are finished and "
        "scored (for a fixed budget, e.g. a GPU lent for minutes)",
    )  # fmt: skip
    parser.add_argument(
        "--score-on", default=None, metavar="VERSION",
        help="score on the val split of this benchmark version instead of the studies' splits "
        "(val96-v1: 96 more videos for runs already trained; write to their own --results)",
    )  # fmt: skip
    parser.add_argument(
        "--score-only", action="store_true",
        help="train nothing: score the finished runs (of --runs-dir and --reuse-from) and list "
        "the tasks that have none",
    )  # fmt: skip
    parser.add_argument(
        "--speed", action="store_true",
        help="train nothing: time the studies' variants together in this process (interleaved "
        "rounds, random weights) into <study>_speed.csv; 'all' means components and "
        "generalization",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds of --speed")
    parser.add_argument("--dry-run", action="store_true", help="list the missing tasks only")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Run the missing tasks and say what was done."""
    studies = args.study or ["all"]
    names = "all" if "all" in studies else list(dict.fromkeys(studies))
    if args.max_variants is not None and args.max_variants < 1:
        raise ValueError(f"--max-variants must be >= 1, got {args.max_variants}")
    if args.time_limit is not None and args.time_limit < 0:
        raise ValueError(f"--time-limit must be >= 0 seconds, got {args.time_limit}")
    start = time.perf_counter()
    if args.speed:
        return _speed(args, names)
    try:
        tasks = _run_ablation(args, names)
    except DiskFullError as exc:
        raise CLIError(str(exc)) from None
    verb = "to do" if args.dry_run else f"done in {time.perf_counter() - start:.0f} s"
    if not tasks:  # a sentence, not a heading over an empty list
        if args.score_only:  # the rows may be missing: their tasks have no run (said above)
            print(f"nothing to score into {args.results}.")
        elif args.dry_run:
            print(
                f"nothing to do: every {args.profile}-profile row of the chosen studies and "
                f"seeds is in {args.results}."
            )
        else:
            print(f"0 tasks {verb}.")
        return 0
    print(f"{len(tasks)} task(s) {verb} (study, variant, seed):")
    for t in tasks:
        print(f"  {t.study.name:15s} {t.variant.label:22s} seed {t.seed}")
    return 0


def _run_ablation(args: argparse.Namespace, names: str | list[str]) -> list[Any]:
    """:func:`gsfm.ablation.runner.run_ablation` with the command's options."""
    # imported here: every command module is imported to build the parser; keeps --help fast
    from gsfm.ablation.runner import run_ablation
    from gsfm.ablation.studies import EvalSplit

    splits = None if args.score_on is None else [EvalSplit("val", version=args.score_on)]
    return run_ablation(
        names,
        args.seeds,
        profile=args.profile,
        device=args.device,
        jobs=args.jobs,
        threads=args.threads,
        runs_dir=args.runs_dir,
        reuse_from=args.reuse_from,
        results_dir=args.results,
        data_dir=args.data_dir,
        max_variants=args.max_variants,
        variants=args.variant,
        start=args.start,
        num_workers=args.num_workers,
        time_limit=args.time_limit,
        splits=splits,
        train=not args.score_only,
        progress=not args.quiet,
        dry_run=args.dry_run,
    )


def _speed(args: argparse.Namespace, names: str | list[str]) -> int:
    """``--speed``: time each study's variants together and write ``<study>_speed.csv``."""
    # imported here: every command module is imported to build the parser; keeps --help fast
    import torch

    from gsfm.ablation.speed import SPEED_STUDIES, variant_speed, write_speed
    from gsfm.ablation.studies import get_studies

    if args.rounds < 1:
        raise ValueError(f"--rounds must be >= 1, got {args.rounds}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    for study in get_studies(SPEED_STUDIES if names == "all" else names):
        table = variant_speed(study, args.profile, device=args.device, rounds=args.rounds)
        path = write_speed(table, args.results)
        print(f"{study.name}: {len(table)} variants timed on {table['device'].iloc[0]} -> {path}")
        for _, r in table.iterrows():
            print(
                f"  {r['variant']:22s} {r['fps']:7.2f} FPS [{r['fps_min']:.2f}, {r['fps_max']:.2f}]"
                f"  x{r['ratio']:.2f} of {study.reference.label}"
            )
    return 0
