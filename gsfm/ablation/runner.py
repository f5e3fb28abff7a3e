"""The resumable runner that fills ``results/ablations``: plan, train, score, write.

:func:`run_ablation` trains what is missing (reusing finished runs of identical configuration),
scores it and writes its rows through :func:`gsfm.ablation.store.write_rows` (a row already
there is never recomputed; a killed run loses at most the trainings in progress).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from gsfm.ablation.schema import check_table, part_rows, run_scores
from gsfm.ablation.store import (
    check_one_device_type,
    check_one_render,
    check_one_start,
    done_keys,
    provenance_device,
    write_rows,
)
from gsfm.ablation.studies import (
    EvalSplit,
    Study,
    Variant,
    get_studies,
    split_arguments,
    split_label,
)
from gsfm.data.layout import data_fingerprint, row_data_hash
from gsfm.data.synthetic import ensure_split
from gsfm.experiments import evaluated_run, finished_run, run_config, run_name, trained_run
from gsfm.files import Busy
from gsfm.runtime import device_type, resolve_device, resolve_path

__all__ = [
    "Task",
    "plan",
    "run_ablation",
]


def _limited(
    study: Study, max_variants: int | None, labels: Sequence[str] | None = None
) -> tuple[Variant, ...]:
    """The reference and then the first others, ``max_variants`` in all (None: every one);
    with ``labels``, only the variants of those labels (unknown labels are refused)."""
    chosen = study.variants
    if labels is not None:
        known = [v.label for v in study.variants]
        unknown = [x for x in labels if x not in known]
        if unknown:
            raise ValueError(
                f"study {study.name!r} has no variant {unknown[0]!r}; its variants: {known}"
            )
        chosen = tuple(v for v in study.variants if v.label in labels)
    if max_variants is None:
        return chosen
    others = [v for v in chosen if not v.reference]
    first = [v for v in chosen if v.reference]
    return (*first, *others[: max(0, max_variants - len(first))])


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One (study, variant, seed): a training run, scored on the study's splits."""

    study: Study
    variant: Variant
    seed: int

    def run_config(self, profile: str, **train_options: Any) -> dict[str, Any]:
        """The configuration of the task's training run (``train_options``: extra
        :class:`~gsfm.config.TrainConfig` fields, e.g. ``num_workers``)."""
        overrides = {**self.variant.overrides, **train_options}
        return run_config(self.variant.model, profile, seed=self.seed, **overrides)

    def train_key(self, profile: str, **train_options: Any) -> str:
        """Identifies the training run (tasks of equal configuration share one)."""
        return run_name(self.run_config(profile, **train_options))


def plan(
    studies: Sequence[Study],
    seeds: Sequence[int],
    profile: str,
    results_dir: str | os.PathLike[str],
    *,
    max_variants: int | None = None,
    variants: Sequence[str] | None = None,
) -> list[Task]:
    """The tasks whose rows are not all in ``results_dir`` yet, seed by seed (every variant of
    seed 0 first, so that an interrupted grid leaves whole studies at fewer seeds). A row
    written under another definition of its variant (other overrides or inference settings)
    does not count: the task is done again and its rows are replaced. ``variants``: only
    those labels (of every chosen study)."""
    results = resolve_path(results_dir)
    for study in studies:  # a damaged companion is refused now, not after hours of training
        for kind in ("videos", "objects"):
            if (results / f"{study.name}_{kind}.csv").is_file():
                check_table(results / f"{study.name}_{kind}.csv", kind)
    done = {s.name: done_keys(results / f"{s.name}.csv") for s in studies}
    tasks = []
    for seed in seeds:
        for study in studies:
            for variant in _limited(study, max_variants, variants):
                now = tuple(  # as the rows store them (JSON: a tuple reads back as a list)
                    json.loads(json.dumps(dict(m), sort_keys=True))
                    for m in (variant.overrides, variant.inference)
                )
                wanted = [
                    (study.name, variant.label, int(seed), split_label(profile, sp), profile)
                    for sp in study.splits
                ]
                if any(done[study.name].get(key) != now for key in wanted):
                    tasks.append(Task(study, variant, int(seed)))
    return tasks


def _rows_for(
    task: Task,
    run_dir: Path,
    profile: str,
    device: torch.device,
    data_dir: Path,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score ``run_dir`` on the task's splits: (rows, per-video rows, per-object rows)."""
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    log = pd.read_csv(run_dir / "log.csv")
    inference = dict(task.variant.inference)
    base = {
        "study": task.study.name,
        "variant": task.variant.label,
        "reference": task.variant.reference,
        "model": task.variant.model,
        "overrides": json.dumps(dict(task.variant.overrides), sort_keys=True),
        "inference": json.dumps(inference, sort_keys=True),
        "seed": task.seed,
    }
    trained = config.get("provenance", {})
    trained_on = provenance_device(trained)  # where the run trained, the same for every split
    rows, videos, objects = [], [], []
    for sp in task.study.splits:
        root = ensure_split(data_dir, sp.split, **split_arguments(profile, sp))
        ev = evaluated_run(
            run_dir,
            root,
            device=device,
            top_k=inference.get("top_k", "config"),
            mem_every=inference.get("mem_every"),
        )
        s = ev.scores.iloc[0]
        label = split_label(profile, sp)
        rows.append(
            {
                **base,
                "split": label,
                "profile": profile,
                "device": trained_on,
                "eval_device": ev.provenance.get("device"),
                "torch": torch.__version__,
                "amp": bool(config["train"].get("amp")) and device_type(trained_on) == "cuda",
                "cpu_capability": trained.get("cpu_capability"),
                "start": config["train"].get("start", "own"),
                "git_commit": trained.get("git_commit"),
                "eval_commit": ev.provenance.get("git_commit"),
                "config_hash": run_dir.name.rsplit("-", 1)[-1],
                # the split was hashed once, by evaluated_run
                "data_hash": row_data_hash(ev.provenance["data_sha256"]),
                "train_s": round(float(log["time_s"].iloc[-1]), 1),
                **run_scores(s),
                "run": run_dir.name,
            }
        )
        key = {"study": base["study"], "variant": base["variant"], "seed": task.seed}
        key |= {"split": label, "profile": profile}
        videos.append(part_rows(ev.per_sequence, "videos", **key))
        if task.study.per_object:
            objects.append(part_rows(ev.per_object, "objects", **key))
    return (
        pd.DataFrame(rows),
        pd.concat(videos, ignore_index=True),
        pd.concat(objects, ignore_index=True) if objects else pd.DataFrame(),
    )


# --- training (in this process or in workers) ------------------------------------------------


def _train(kwargs: dict[str, Any]) -> str:
    """Train (or reuse) one run; a top-level function so that worker processes can run it."""
    threads = kwargs.pop("threads", None)
    if threads:
        torch.set_num_threads(int(threads))
    return str(trained_run(**kwargs))


def _train_and_score(
    kwargs: dict[str, Any], tasks: list[Task], profile: str, data_dir: Path
) -> tuple[str, list[tuple[pd.DataFrame, ...]] | None]:
    """Train (or reuse) one run and score it for ``tasks``, in a worker process: the scoring
    runs beside the other trainings instead of queueing in the parent. The parent writes the
    rows (one writer, so the tables are never written by two processes at once). A run that
    another process is training gives ``(why, None)``."""
    try:
        run_dir = Path(_train(kwargs))
    except Busy as err:
        return str(err), None
    dev = resolve_device(kwargs["device"])
    return str(run_dir), [_rows_for(task, run_dir, profile, dev, data_dir) for task in tasks]


def _find_run(
    task: Task,
    profile: str,
    dirs: Sequence[Path],
    train_options: Mapping[str, Any],
    kind: str,
) -> Path | None:
    """A finished run of the task's configuration trained on a ``kind`` device (a CUDA run is
    not reused for CPU rows, nor the other way round), or None."""
    expected = task.run_config(profile, **train_options)
    for folder in dirs:
        found = finished_run(folder, expected)
        if found is not None:
            config = json.loads((found / "config.json").read_text(encoding="utf-8"))
            if device_type(provenance_device(config.get("provenance", {}))) == kind:
                return found
    return None


_clock = time.monotonic  # the time limit's clock (a test replaces it)


def _render_digests(
    studies: Sequence[Study], profile: str, data: Path
) -> dict[tuple[str, str], str]:
    """(study, split label) -> the split's data digest as the rows record it. Each split is
    written here if missing, once, before any training worker starts."""
    out = {}
    for study in studies:
        for sp in study.splits:
            root = ensure_split(data, sp.split, **split_arguments(profile, sp))
            out[(study.name, split_label(profile, sp))] = row_data_hash(data_fingerprint(root))
    return out


def run_ablation(
    studies: str | Iterable[str] = "all",
    seeds: Sequence[int] = (0, 1, 2),
    *,
    profile: str = "cpu",
    device: str | torch.device = "auto",
    jobs: int = 1,
    threads: int | None = None,
    runs_dir: str | os.PathLike[str] = "runs/ablations",
    reuse_from: Sequence[str | os.PathLike[str]] = (),
    results_dir: str | os.PathLike[str] = "results/ablations",
    data_dir: str | os.PathLike[str] = "data/synth",
    max_variants: int | None = None,
    variants: Sequence[str] | None = None,
    start: str = "own",
    num_workers: int | None = None,
    time_limit: float | None = None,
    splits: Sequence[EvalSplit] | None = None,
    train: bool = True,
    progress: bool = True,
    dry_run: bool = False,
) -> list[Task]:
    """Fill ``results_dir`` with every missing row of ``studies`` × ``seeds`` under ``profile``.

    Finished runs of identical configuration are reused from ``runs_dir`` and ``reuse_from``;
    the rest are trained into ``runs_dir``, ``jobs`` at a time (worker processes with
    ``threads`` torch threads each; default: the CPU cores divided by ``jobs`` on CPU). With
    ``jobs`` > 1 each worker also scores its run; this process writes the rows as each run
    finishes. Returns the tasks that were (or, with ``dry_run``, would be) done.
    ``num_workers``: loader worker processes per training (a GPU needs them; it becomes part
    of the runs' configuration). ``variants``: only those variant labels.

    ``start`` is the design of the runs (:mod:`gsfm.training.start`): ``"own"`` (each variant
    from its own random draw: design (a)) or ``"shared"`` (every variant of a seed from one
    common state, frequency modules as the identity: design (b)). It is part of the runs'
    configuration and of each row (``start``); one results folder holds one design.

    ``time_limit`` (seconds from the call): no training starts after it; trainings under way
    are finished and scored, reused runs are always scored, and the tasks left are said on
    stderr (the next call does them). It lets a session with a fixed budget end between runs
    instead of losing the ones in progress.

    ``splits`` scores on these splits instead of the studies' own (e.g. ``EvalSplit("val",
    version="val96-v1")``: more videos for runs already trained); write such rows to their own
    ``results_dir``. With ``train=False`` nothing is trained: finished runs are scored, and the
    tasks without one are said on stderr and left out of the returned list.

    A run that another process of this machine is training (another ``ablate`` with the same
    ``runs_dir``; :func:`gsfm.experiments.trained_run` locks each run folder) is skipped, not
    trained twice, and its tasks are said on stderr and left for the next call.

    Rows of one profile come from one kind of device: if ``results_dir`` already holds rows of
    ``profile`` trained on another device type (CPU vs CUDA), nothing runs and the error says
    to write elsewhere (``results_dir``), so that no comparison mixes devices.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    chosen = get_studies(studies)
    if splits is not None:
        if not splits:
            raise ValueError("splits: name at least one split to score on (None: the studies')")
        chosen = [replace(study, splits=tuple(splits)) for study in chosen]
    results = resolve_path(results_dir)
    check_one_start(results, chosen, start)
    todo = plan(chosen, seeds, profile, results, max_variants=max_variants, variants=variants)
    if not todo or (dry_run and train):
        return todo
    dev = resolve_device(device)
    train_options: dict[str, Any] = {"start": start}
    if num_workers is not None:
        train_options["num_workers"] = int(num_workers)
    runs = resolve_path(runs_dir)
    search = [runs, *(resolve_path(d) for d in reuse_from)]
    by_run: dict[str, list[Task]] = {}
    for task in todo:
        by_run.setdefault(task.train_key(profile, **train_options), []).append(task)
    found: dict[str, tuple[Path, list[Task]]] = {}
    pending: dict[str, list[Task]] = {}
    for key, tasks in by_run.items():
        run_dir = _find_run(tasks[0], profile, search, train_options, dev.type)
        if run_dir is not None:
            found[key] = (run_dir, tasks)
        else:
            pending[key] = tasks
    if not train:  # scoring only: the tasks without a finished run are said, not done
        untrained = [t for tasks in pending.values() for t in tasks]
        if untrained:
            print(
                f"{len(untrained)} task(s) have no finished run in {runs} or the --reuse-from "
                "folders and are not trained (scoring only): "
                + ", ".join(f"{t.variant.label} seed {t.seed}" for t in untrained),
                file=sys.stderr,
            )
        pending = {}
        todo = [t for _, tasks in found.values() for t in tasks]
        if dry_run or not todo:
            return todo
    check_one_device_type(results, chosen, profile, dev.type)
    check_one_render(results, profile, _render_digests(chosen, profile, resolve_path(data_dir)))
    if threads is None and dev.type == "cpu" and jobs > 1:
        threads = max(1, (os.cpu_count() or 1) // jobs)
    data = resolve_path(data_dir)

    bar = tqdm(total=len(todo), desc="ablation rows", unit="task", disable=not progress)

    def record(task: Task, tables: tuple[pd.DataFrame, ...]) -> None:
        write_rows(results, task, tables)
        bar.update(1)

    def score(run_dir: Path, tasks: list[Task]) -> None:
        for task in tasks:
            record(task, _rows_for(task, run_dir, profile, dev, data))

    def train_kwargs(task: Task) -> dict[str, Any]:
        return {
            "model": task.variant.model,
            "profile": profile,
            "seed": task.seed,
            "runs_dir": str(runs),
            "device": str(dev),
            "progress": progress and jobs == 1,
            "threads": threads,
            **dict(task.variant.overrides),
            **train_options,
        }

    if threads and dev.type == "cpu":
        torch.set_num_threads(int(threads))  # scoring here runs beside the training workers
    deadline = None if time_limit is None else _clock() + float(time_limit)
    queue = list(pending.values())  # in plan order: seed 0's variants first

    busy: list[Task] = []

    def skip(tasks: list[Task], why: str) -> None:  # another process trains this run
        print(f"skipped: {why}", file=sys.stderr)
        busy.extend(tasks)

    def next_training() -> list[Task] | None:
        if not queue or (deadline is not None and _clock() >= deadline):
            return None
        return queue.pop(0)

    if jobs == 1 or not pending:
        for run_dir, tasks in found.values():
            score(run_dir, tasks)
        while (tasks := next_training()) is not None:
            try:
                run_dir = Path(_train(train_kwargs(tasks[0])))
            except Busy as err:
                skip(tasks, str(err))
                continue
            score(run_dir, tasks)
    else:  # the splits were written by _render_digests above, not by two workers at once
        ctx = get_context("spawn")  # no forked torch / CUDA state in the workers
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures: dict[Future[tuple[str, list[tuple[pd.DataFrame, ...]]]], list[Task]] = {}

            def submit() -> None:  # keep `jobs` runs under way, none started after the deadline
                while len(futures) < jobs and (tasks := next_training()) is not None:
                    job = (train_kwargs(tasks[0]), tasks, profile, data)
                    futures[pool.submit(_train_and_score, *job)] = tasks

            submit()
            for run_dir, tasks in found.values():  # score reused runs while the others train
                score(run_dir, tasks)
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    tasks = futures.pop(fut)
                    why, scored = fut.result()
                    if scored is None:
                        skip(tasks, why)
                        continue
                    for task, tables in zip(tasks, scored, strict=True):
                        record(task, tables)
                submit()
    left = [t for tasks in queue for t in tasks]
    if left:
        print(
            f"time limit of {time_limit:g} s reached: {len(left)} task(s) left for the next run "
            "(the same command does them)",
            file=sys.stderr,
        )
    if busy:
        print(
            f"{len(busy)} task(s) skipped because another process is training their runs: the "
            "same command does them once it has finished",
            file=sys.stderr,
        )
    bar.close()
    return [t for t in todo if t not in left and t not in busy]
