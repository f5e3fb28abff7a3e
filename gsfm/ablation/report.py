"""One call per ablation study for notebooks 05–06: its comparable rows, the statistics, the
sentences and the figure (with the tables beside it as CSV).

:func:`study_report` reads ``results/ablations/<study>*.csv``
(:func:`gsfm.ablation.store.load_study`: one profile, one training device), computes what
:mod:`gsfm.ablation.stats` offers for that kind of study, words it with
:mod:`gsfm.ablation.text` and draws the figure with :mod:`gsfm.viz.ablation`. With no rows yet it says
how to produce them instead of drawing an empty figure.

Table 6 and Fig. 7 of notebook 06 read ``synth-small-v1`` too: :func:`score_small_split`
scores the shipped weights on it into ``results/small_split/``, :func:`small_objects_report`
puts those rows beside the study's synth-v1 rows (each split labelled), and
:func:`small_split_figure` draws Fig. 7 from them (:mod:`gsfm.ablation.small_split`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from matplotlib.figure import Figure

from gsfm.ablation import small_split, stats
from gsfm.ablation import text as sentences
from gsfm.ablation.runner import Task
from gsfm.ablation.schema import check_table, part_rows, run_scores
from gsfm.ablation.speed import SPEED_STUDIES, read_speed
from gsfm.ablation.store import find_run_folder, load_study, provenance_device, write_rows
from gsfm.ablation.studies import STUDIES, split_arguments, split_label
from gsfm.analysis.feature_spectra import (
    RESIDUAL_FILE,
    feature_spectra,
    low_share,
    residual_spectra,
    residual_summary,
    residual_text,
)
from gsfm.analysis.small_objects import object_crops, smallest_objects
from gsfm.analysis.wording import signed
from gsfm.checkpoint import load_model
from gsfm.config import profile_sizes
from gsfm.data.layout import row_data_hash
from gsfm.data.synthetic import ensure_split
from gsfm.docblocks import rewrite_block
from gsfm.experiments import evaluated_run
from gsfm.files import atomic_write
from gsfm.runtime import resolve_device, resolve_path
from gsfm.weights import read_manifest, shipped_run

__all__ = [
    "DOC_BEGIN",
    "DOC_END",
    "FIGURE_NAMES",
    "README_BULLET",
    "StudyReport",
    "feature_spectra_report",
    "read_split_tables",
    "score_small_split",
    "small_objects_report",
    "small_split_figure",
    "residual_spectra_report",
    "smallest_objects_figure",
    "split_notes",
    "study_report",
    "readme_bullet",
    "update_small_object_docs",
]

#: the figure each study writes (under figures/), as the issue and the paper name them
FIGURE_NAMES: dict[str, str] = {
    "sigma": "fig6a_sigma_sweep.png",
    "placement": "table3_placement.png",
    "generalization": "table4_generalization.png",
    "components": "table5_components.png",
    "small_objects": "table6_small_objects.png",
}


@dataclass(frozen=True)
class StudyReport:
    """What a notebook shows for one study. ``figure`` is None when there are no rows."""

    study: str
    tables: Any  # AblationTables or None
    summary: pd.DataFrame
    differences: pd.DataFrame
    text: str
    figure: Figure | None
    path: Path | None


def _fps(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean evaluation FPS per (split, variant), as the rows recorded it (under the load of
    the moment each was scored: not for ranking variants; :func:`_speed` is)."""
    return rows.groupby(["split", "variant"], as_index=False, sort=False)["eval_fps"].mean()


def _speed(
    results_dir: str | os.PathLike[str], study: str, profile: str, device: str | None
) -> pd.DataFrame | None:
    """``<study>_speed.csv``'s rows of ``profile`` timed on ``device`` (the rows' training
    device) if it has any, else on its most common device; None when there are none."""
    speed = read_speed(results_dir, study)
    if speed is None:
        return None
    speed = speed[speed["profile"] == profile]
    if speed.empty:
        return None
    if device is None or not (speed["device"] == device).any():
        device = str(speed["device"].value_counts().index[0])
    return speed[speed["device"] == device].reset_index(drop=True)


def _write_tables(path: Path, summary: pd.DataFrame, differences: pd.DataFrame) -> None:
    for table, suffix in ((summary, ""), (differences, "_differences")):
        if not table.empty:
            out = path.with_name(f"{path.stem}{suffix}.csv")
            atomic_write(out, lambda p, t=table: t.to_csv(p, index=False))


def split_notes(study: str, profile: str) -> dict[str, str]:
    """What each split label of ``study`` means at ``profile``, for a figure's caption:
    ``{"val": "the val videos at 160×288", "val-240x432": "the same videos at 240×432 (1.5×)"}``."""
    out, first = {}, {}
    for sp in STUDIES[study].splits:
        s = split_arguments(profile, sp)
        size = f"{s['height']}×{s['width']}"
        if sp.split in first:
            out[split_label(profile, sp)] = f"the same videos at {size} ({sp.scale:g}×)"
        else:
            first[sp.split] = size
            out[split_label(profile, sp)] = f"the {sp.split} videos at {size}" + (
                " (the profile's size)" if sp.scale == 1.0 else f" ({sp.scale:g}× its size)"
            )
    return out


def study_report(
    study: str,
    profile: str,
    *,
    results_dir: str | os.PathLike[str] = "results/ablations",
    figures_dir: str | os.PathLike[str] | None = "figures",
    device: str | None = None,
) -> StudyReport:
    """Statistics, sentences and the figure of ``study`` from the rows of ``profile`` (and
    ``device``, default: the device with the most rows). The figure and its tables (summary
    and paired differences as CSV, same stem) go to ``figures_dir`` unless it is None."""
    # imported here: gsfm.viz modules load matplotlib (and select its Agg backend)
    from gsfm.viz import ablation as viz

    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from {list(STUDIES)}")
    tables = load_study(results_dir, study, profile, device)
    empty = pd.DataFrame()
    if tables is None:
        text = (
            f"No {profile}-profile rows for the {study!r} study in {resolve_path(results_dir)} "
            f"yet. Produce them with `python -m gsfm ablate --study {study} --profile {profile}` "
            "(or run this notebook with retrain=True)."
        )
        return StudyReport(study, None, empty, empty, text, None, None)
    rows, videos = tables.rows, tables.videos
    path = None if figures_dir is None else resolve_path(figures_dir) / FIGURE_NAMES[study]
    where = f"Rows: {sentences.provenance_note(rows)}."
    if tables.device_note:
        where += f" {tables.device_note}"
    spec = STUDIES[study]
    reference = spec.reference.label
    if not (rows["variant"] == reference).any():  # e.g. an interrupted grid
        where += f" The reference variant {reference!r} has no rows yet: nothing is compared to it."
    pairs = stats.comparison_pairs(rows, spec.baselines(), spec.extra_pairs)
    diffs = (  # per video, for every study but small_objects (per object, below)
        stats.paired_differences(rows, videos, pairs)
        if study != "small_objects" and videos is not None and pairs
        else empty
    )
    if study == "small_objects":
        objects = tables.objects
        summary = stats.bucket_scores(objects)
        has_reference = (objects["variant"] == reference).any()
        diffs = stats.bucket_differences(objects, reference) if has_reference else empty
        text = sentences.small_objects_text(summary, diffs)
        figure = viz.plot_small_objects(objects, path, rows=rows, reference=reference)
    elif study == "sigma":
        summary = stats.sigma_table(rows)
        text = "\n".join(
            [sentences.sigma_text(summary, diffs if not diffs.empty else None, rows=rows)]
            + ([sentences.differences_text(diffs)] if not diffs.empty else [])
            + [sentences.paper_ordering_text(diffs, study)]
        )
        figure = viz.plot_sigma_sweep(
            rows, path, differences=diffs, split_notes=split_notes(study, profile)
        )
    else:
        summary = stats.seed_summary(rows).merge(_fps(rows), on=["split", "variant"])
        speed = _speed(results_dir, study, profile, str(rows["device"].iloc[0]))
        timed = (
            speed[["variant", "fps", "ratio"]].rename(columns={"ratio": "fps_ratio"})
            if speed is not None
            else pd.DataFrame(columns=["variant", "fps", "fps_ratio"])
        )
        summary = summary.merge(timed, on="variant", how="left")
        text = "\n".join(
            [sentences.summary_text(summary)]
            + ([sentences.differences_text(diffs)] if not diffs.empty else [])
            + [sentences.paper_ordering_text(diffs, study)]
            + ([sentences.speed_text(speed, study, rows)] if study in SPEED_STUDIES else [])
        )
        title = f"{spec.source}: {spec.question}"
        figure = viz.plot_study(rows, videos, path, title, differences=diffs, speed=speed)
    if path is not None:
        _write_tables(path, summary, diffs)
    return StudyReport(study, tables, summary, diffs, f"{where}\n{text}", figure, path)


# --- notebook 06: the trained runs behind the small-objects rows -----------------------------


def _seed_runs(tables: Any, seed: int, dirs: Sequence[str | os.PathLike[str]]) -> dict[str, Path]:
    """{variant: run folder} of the rows of ``seed`` (a run folder missing here raises)."""
    rows = tables.rows[tables.rows["seed"].astype(int) == int(seed)]
    if rows.empty:
        raise ValueError(f"no {tables.study} rows for seed {seed}")
    out = {}
    for variant, name in rows.drop_duplicates("variant")[["variant", "run"]].itertuples(
        index=False
    ):
        run = find_run_folder(str(name), dirs)
        if run is None:
            raise FileNotFoundError(
                f"run folder {name} (variant {variant}, seed {seed}) is in none of "
                f"{[str(resolve_path(d)) for d in dirs]}; train it with `python -m gsfm ablate "
                f"--study {tables.study}` or plot from the committed tables instead"
            )
        out[str(variant)] = run
    return out


def _split_roots(study: str, profile: str, data_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """{split label: validation folder} of a study's splits (written once if missing)."""
    return {
        split_label(profile, sp): ensure_split(data_dir, sp.split, **split_arguments(profile, sp))
        for sp in STUDIES[study].splits
    }


def object_scores(
    objects: pd.DataFrame, picks: pd.DataFrame, variants: Sequence[str]
) -> dict[tuple[str, int], dict[str, float]]:
    """Each picked object's J&F per variant, {(sequence, object): {variant: J&F}}, from the
    per-object rows ``objects`` (mean over its rows of that split; NaN where a variant has
    none). ``picks``: rows with ``split``, ``sequence`` and ``object``."""
    keys = ["split", "sequence", "object", "variant"]
    mean_jf = objects.assign(object=objects["object"].astype(str)).groupby(keys)["JF"].mean()
    return {
        (str(r.sequence), int(r.object)): {
            str(v): float(mean_jf.get((r.split, r.sequence, str(r.object), v), float("nan")))
            for v in variants
        }
        for r in picks.itertuples(index=False)
    }


def smallest_objects_figure(
    profile: str,
    *,
    results_dir: str | os.PathLike[str] = "results/ablations",
    runs_dirs: Sequence[str | os.PathLike[str]] = ("runs/ablations",),
    data_dir: str | os.PathLike[str] = "data/synth",
    figures_dir: str | os.PathLike[str] = "figures",
    seed: int = 0,
    n: int = 4,
    device: str = "auto",
) -> Figure:
    """Fig. 7 on our data from the small-objects rows of ``seed``: the ``n`` smallest objects
    (:func:`gsfm.analysis.small_objects.smallest_objects`) cropped from every split with each
    variant's prediction (the run's cached evaluation, recomputed if stale)."""
    # imported here: gsfm.viz modules load matplotlib (and select its Agg backend)
    from gsfm.viz.small_objects import plot_small_object_crops

    tables = load_study(results_dir, "small_objects", profile)
    if tables is None or tables.objects is None:
        raise FileNotFoundError(f"no {profile}-profile small_objects rows in {results_dir}")
    runs = _seed_runs(tables, seed, runs_dirs)
    roots = _split_roots("small_objects", profile, data_dir)
    objects = tables.objects[tables.objects["seed"].astype(int) == int(seed)]
    picks = smallest_objects(objects, n)
    inference = {str(v.label): dict(v.inference) for v in STUDIES["small_objects"].variants}
    crops = []
    for split, group in picks.groupby("split", sort=False):
        preds = {
            variant: evaluated_run(  # only the picked videos: seconds, not the whole split
                run, roots[str(split)], device=device, videos=sorted(set(group["sequence"])),
                top_k=inference[variant].get("top_k", "config"),
                mem_every=inference[variant].get("mem_every"),
            ).pred_dir
            for variant, run in runs.items()
        }  # fmt: skip
        crops += object_crops(roots[str(split)], preds, group)
    scores = object_scores(objects, picks, list(runs))

    note = f"{profile} profile, seed {seed}; {sentences.provenance_note(tables.rows, seeds=False)}."
    return plot_small_object_crops(
        crops, resolve_path(figures_dir) / "fig7_small_objects.png", scores=scores, note=note
    )


SPECTRA_FILE = "feature_spectra.csv"


def feature_spectra_report(
    profile: str,
    *,
    from_runs: bool,
    results_dir: str | os.PathLike[str] = "results/ablations",
    runs_dirs: Sequence[str | os.PathLike[str]] = ("runs/ablations",),
    data_dir: str | os.PathLike[str] = "data/synth",
    figures_dir: str | os.PathLike[str] = "figures",
    seed: int = 0,
    videos: int = 6,
    frames: int = 12,
    device: str = "auto",
) -> tuple[pd.DataFrame, Figure | None, str]:
    """The radial power spectra of trained GSFM and STCN features before and after the LFM and
    the HFM (:mod:`gsfm.analysis.feature_spectra`): computed from the small-objects runs of
    ``seed`` and saved to ``results_dir/feature_spectra.csv`` when ``from_runs``, else read
    from there. Returns (table, figure or None, sentences)."""
    # imported here: gsfm.viz modules load matplotlib (and select its Agg backend)
    from gsfm.viz.feature_spectra import plot_feature_spectra

    out = resolve_path(results_dir) / SPECTRA_FILE
    if from_runs:
        tables = load_study(results_dir, "small_objects", profile)
        if tables is None:
            raise FileNotFoundError(f"no {profile}-profile small_objects rows in {results_dir}")
        runs = _seed_runs(tables, seed, runs_dirs)
        dev = resolve_device(device)
        models = {v: load_model(run / "checkpoints" / "final.pt", dev) for v, run in runs.items()}
        root = _split_roots("small_objects", profile, data_dir)["val"]
        table = feature_spectra(models, root, videos=videos, frames=frames, device=dev)
        train_dev = tables.rows.drop_duplicates("variant").set_index("variant")["device"]
        table = table.assign(
            profile=profile, seed=seed, device=table["model"].map(train_dev),
            run=table["model"].map({v: r.name for v, r in runs.items()}),
        )  # fmt: skip
        old = pd.read_csv(out) if out.is_file() else pd.DataFrame(columns=table.columns)
        old = old[old["profile"] != profile] if not old.empty else old
        full = pd.concat([old, table], ignore_index=True) if not old.empty else table
        atomic_write(out, lambda p: full.to_csv(p, index=False))
    else:
        if not out.is_file():
            return pd.DataFrame(), None, f"No {out} yet: run with from_runs=True once."
        table = pd.read_csv(out)
        table = table[table["profile"] == profile].reset_index(drop=True)
        if table.empty:
            return table, None, f"No {profile}-profile spectra in {out} yet."
    lines = []
    for model, t in table.groupby("model", sort=False):
        share = {p: low_share(g["power"].to_numpy()) for p, g in t.groupby("place", sort=False)}
        for before, after, module in (
            ("encoder f16", "after LFM", "LFM"),
            ("HFM input", "after HFM", "HFM"),
        ):
            if before in share and after in share:
                lines.append(
                    f"{model} {module}: power below 0.125 cycles/pixel {100 * share[before]:.1f} % "
                    f"before, {100 * share[after]:.1f} % after "
                    f"({signed(100 * (share[after] - share[before]), 2)} points; before and after "
                    "are x and x + z, close by construction: the residual z is measured below)."
                )  # fmt: skip
    note = (
        f"{profile} profile, seed {int(table['seed'].iloc[0])}, trained on "
        f"{table['device'].iloc[0]}; synth-v1 val."
    )
    figure = plot_feature_spectra(
        table, resolve_path(figures_dir) / "feature_spectra.png", note=note
    )
    return table, figure, "\n".join(lines)


# --- Table 6 and Fig. 7 on synth-small-v1 (notebook 06) -------------------------------------


def _rows(
    name: str, run_dir: Any, ev: Any, label: str, weights: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One model's rows in the ablation schema (:data:`gsfm.ablation.schema.TABLE_SCHEMAS`)."""

    variant = next(v for v in STUDIES[small_split.STUDY].variants if v.model == name)
    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    log = pd.read_csv(run_dir / "log.csv")
    trained = config.get("provenance", {})
    s = ev.scores.iloc[0]
    keys = {
        "study": small_split.STUDY, "variant": variant.label, "seed": small_split.SEED,
        "split": label,
    }  # fmt: skip
    profile = str(config["profile"])
    row = {
        **keys,
        "reference": variant.reference,
        "model": variant.model,
        "overrides": json.dumps(dict(variant.overrides), sort_keys=True),
        "inference": json.dumps(dict(variant.inference), sort_keys=True),
        "profile": profile,
        "device": provenance_device(trained),
        "eval_device": ev.provenance.get("device"),
        "torch": torch.__version__,
        "amp": False,
        "cpu_capability": trained.get("cpu_capability"),
        "git_commit": trained.get("git_commit"),
        "eval_commit": ev.provenance.get("git_commit"),
        "eval_dirty": ev.provenance.get("git_dirty"),
        "config_hash": str(weights["run"]).rsplit("-", 1)[-1],
        "data_hash": row_data_hash(ev.provenance["data_sha256"]),
        "weights_sha256": weights["sha256"],
        "train_s": round(float(log["time_s"].iloc[-1]), 1),
        **run_scores(s),
        "run": f"shipped:{name}",
    }
    key = {**keys, "profile": profile}
    videos = part_rows(ev.per_sequence, "videos", **key)
    return pd.DataFrame([row]), videos, part_rows(ev.per_object, "objects", **key)


def score_small_split(
    results_dir: str | os.PathLike[str] = "results/small_split",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs/shipped",
    limit: int | None = None,
    height: int | None = None,
    width: int | None = None,
    device: str = "cpu",
    weights_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Score the shipped STCN and GSFM on synth-small-v1 (written once under ``data_dir``,
    default :func:`gsfm.data.synthetic.synth_data_dir`) and write their rows into
    ``results_dir`` (``small_objects.csv``, ``_videos.csv``, ``_objects.csv``; rows of the
    same key are replaced). ``limit``, ``height``, ``width``: a smaller version (tests); its
    rows carry their own ``split`` label (:func:`split_label`). Predictions are cached in the
    run folders under ``runs_dir`` (:func:`gsfm.experiments.evaluated_run`). Returns the
    per-object rows written, with ``model_independent``."""

    manifest = read_manifest(weights_dir)
    root = ensure_split(
        data_dir, small_split.SPLIT, limit=limit, height=height, width=width,
        version=small_split.VERSION,
    )  # fmt: skip
    label = small_split.split_label(limit, height, width)
    tables = {}
    for name in ("stcn", "gsfm"):
        run_dir = shipped_run(name, runs_dir, weights_dir=weights_dir)
        ev = evaluated_run(run_dir, root, device=device)
        tables[name] = _rows(name, run_dir, ev, label, manifest["models"][name])
    objects = pd.concat([t[2] for t in tables.values()], ignore_index=True)
    objects["model_independent"] = small_split.model_independent(objects)
    out = resolve_path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    study = STUDIES[small_split.STUDY]
    for name, (rows, videos, _) in tables.items():
        variant = next(v for v in study.variants if v.model == name)
        mine = objects[objects["variant"] == variant.label]
        write_rows(out, Task(study, variant, small_split.SEED), (rows, videos, mine))
    return objects


def read_split_tables(
    results_dir: str | os.PathLike[str] = "results/small_split", profile: str | None = None
) -> Any:
    """The rows of the split in ``results_dir`` (:func:`gsfm.ablation.store.load_study`): ``rows``,
    ``videos``, ``objects`` (with ``model_independent``) of ``profile``, by default the
    profile of the shipped weights that the rows score; None when there are none."""

    path = resolve_path(results_dir) / f"{small_split.STUDY}.csv"
    if not path.is_file():
        return None
    if profile is None:
        profile = str(check_table(path)["profile"].value_counts().index[0])
    return load_study(results_dir, small_split.STUDY, profile)


def _split_titles(objects: pd.DataFrame, rows: pd.DataFrame, new_splits: Sequence[str]) -> dict:
    """{split: what its rows are} for Table 6's panel titles: the videos behind each split and
    whether its rows are the shipped weights (one seed) or the study's runs (their seeds)."""
    titles = {}
    for split, o in objects.groupby("split", sort=False):
        n = o["sequence"].nunique()
        seeds = rows.loc[rows["split"] == split, "seed"].nunique()
        if split in new_splits:
            titles[split] = f"{split}, {n} videos; shipped weights, seed 0"
        else:
            runs = f"{seeds} seed{'s' if seeds != 1 else ''}"
            titles[split] = f"synth-v1 {split}, {n} videos; ablation runs, {runs}"
    return titles


def small_objects_report(
    profile: str,
    *,
    results_dir: str | os.PathLike[str] = "results/ablations",
    split_dir: str | os.PathLike[str] = "results/small_split",
    figures_dir: str | os.PathLike[str] | None = "figures",
    rescore: bool = False,
    data_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs/shipped",
    device: str = "cpu",
    weights_dir: str | os.PathLike[str] | None = None,
) -> StudyReport:
    """Table 6 on synth-small-v1 (:mod:`gsfm.ablation.small_split`: the shipped GSFM and STCN,
    one seed) beside the ``small_objects`` study's rows of ``profile`` on synth-v1 val and
    ``small`` (labelled as such): per split and size bucket the scores, the comparison
    (:func:`~gsfm.ablation.small_split.split_differences`), the sentences and the figure
    (``table6_small_objects.png`` with its CSV tables). ``rescore``: score the split first
    (minutes; at ``profile``'s evaluation size and video count,
    :func:`gsfm.config.profile_sizes`), else read the committed rows of ``split_dir``."""
    from gsfm.viz import ablation as viz

    if rescore:
        sizes = profile_sizes(profile)
        score_small_split(
            split_dir, data_dir=data_dir, runs_dir=runs_dir, limit=sizes.eval_videos,
            height=sizes.eval_height, width=sizes.eval_width, device=device,
            weights_dir=weights_dir,
        )  # fmt: skip
    new = read_split_tables(split_dir)
    old = load_study(results_dir, "small_objects", profile)
    parts = [t for t in (new, old) if t is not None and t.objects is not None]
    empty = pd.DataFrame()
    if not parts:
        text = (
            f"No small-object rows in {resolve_path(split_dir)} nor {profile}-profile rows in "
            f"{resolve_path(results_dir)}: run with rescore=True (minutes)."
        )
        return StudyReport("small_objects", None, empty, empty, text, None, None)
    objects = pd.concat([t.objects for t in parts], ignore_index=True)
    objects["model_independent"] = small_split.model_independent(objects)
    rows = pd.concat([t.rows for t in parts], ignore_index=True)
    new_splits = list(dict.fromkeys(new.rows["split"])) if new is not None else []
    summary = stats.bucket_scores(objects)
    diffs = small_split.split_differences(objects)
    text = sentences.small_split_text(summary, diffs, stats.bucket_counts(objects))
    where = [f"{s}: {sentences.provenance_note(rows[rows['split'] == s])}" for s in dict.fromkeys(rows["split"])]  # fmt: skip
    if old is not None and old.device_note:
        where.append(old.device_note)
    path = (
        None if figures_dir is None else resolve_path(figures_dir) / FIGURE_NAMES["small_objects"]
    )
    figure = viz.plot_small_objects(
        objects, path, rows=rows, differences=diffs,
        split_titles=_split_titles(objects, rows, new_splits),
    )  # fmt: skip
    if path is not None:
        _write_tables(path, summary, diffs)
    tables = new if new is not None else old
    return StudyReport(
        "small_objects", tables, summary, diffs, "\n".join([*where, text]), figure, path
    )


def small_split_figure(
    profile: str,
    *,
    split_dir: str | os.PathLike[str] = "results/small_split",
    data_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] = "runs/shipped",
    figures_dir: str | os.PathLike[str] = "figures",
    n: int = 3,
    informative: int = 3,
    device: str = "cpu",
    weights_dir: str | os.PathLike[str] | None = None,
) -> Figure:
    """Fig. 7 on synth-small-v1 from its rows at ``profile``'s evaluation size and video count:
    the ``n`` smallest objects and the ``informative`` smallest that the models score
    differently (:func:`gsfm.analysis.small_objects.smallest_objects`), cropped with the shipped
    models' predictions (their picked videos segmented again: seconds)."""
    from gsfm.viz.small_objects import plot_small_object_crops

    sizes = profile_sizes(profile)
    settings = {"limit": sizes.eval_videos, "height": sizes.eval_height, "width": sizes.eval_width}
    label = small_split.split_label(**settings)
    tables = read_split_tables(split_dir)
    objects = None if tables is None else tables.objects[tables.objects["split"] == label]
    if objects is None or objects.empty:
        raise FileNotFoundError(
            f"no {label} rows in {resolve_path(split_dir)}: score the split first "
            "(gsfm.ablation.report.small_objects_report(..., rescore=True))"
        )
    root = ensure_split(data_dir, small_split.SPLIT, version=small_split.VERSION, **settings)
    objects = objects.assign(model_independent=small_split.model_independent(objects))
    picks = smallest_objects(objects, n, informative)
    variants = tables.rows.drop_duplicates("variant").set_index("variant")["model"]
    preds = {
        variant: evaluated_run(
            shipped_run(model, runs_dir, weights_dir=weights_dir), root, device=device,
            videos=sorted(set(picks["sequence"])),
        ).pred_dir
        for variant, model in variants.items()
    }  # fmt: skip
    crops = object_crops(root, preds, picks)
    flags = objects.groupby(["sequence", "object"])["model_independent"].all()
    independent = {(str(s), int(o)) for (s, o), f in flags.items() if f}
    k = len(picks) - int(picks["informative"].sum())
    note = (
        f"{label}: the shipped weights (training seed 0), each model at its own inference "
        f"settings. The first {k} rows: the smallest objects (one per video); the others: the "
        "smallest objects the two models score differently."
    )
    return plot_small_object_crops(
        crops, resolve_path(figures_dir) / "fig7_small_objects.png",
        scores=object_scores(objects, picks, list(variants.index)), note=note,
        independent=independent,
    )  # fmt: skip


def residual_spectra_report(
    profile: str,
    *,
    from_runs: bool,
    results_dir: str | os.PathLike[str] = "results/ablations",
    runs_dirs: Sequence[str | os.PathLike[str]] = ("runs/ablations",),
    data_dir: str | os.PathLike[str] = "data/synth",
    figures_dir: str | os.PathLike[str] = "figures",
    seed: int = 0,
    videos: int = 6,
    frames: int = 12,
    device: str = "auto",
    runs: Sequence[str | os.PathLike[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Figure | None, str]:
    """The residual z of the trained LFM and HFM against their input x
    (:func:`gsfm.analysis.feature_spectra.residual_spectra`), over every seed with rows in
    ``results_dir/residual_spectra.csv``. With ``from_runs`` the run folders ``runs`` (default:
    the small-objects runs of ``seed``) are measured and their rows replace those of the same
    weights (other seeds' rows stay). Returns (rows, summary, figure or None, sentences).
    Any number of seeds: ``runs=[...]`` with one folder per seed adds them all."""
    from gsfm.viz.feature_spectra import plot_residual_spectra

    out = resolve_path(results_dir) / RESIDUAL_FILE
    old = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    if from_runs:
        if runs is None:
            tables = load_study(results_dir, "small_objects", profile)
            if tables is None:
                raise FileNotFoundError(f"no {profile}-profile small_objects rows in {results_dir}")
            runs = list(_seed_runs(tables, seed, runs_dirs).values())
        root = _split_roots("small_objects", profile, data_dir)["val"]
        new = residual_spectra(
            runs, root, videos=videos, frames=frames, device=resolve_device(device)
        )
        if not old.empty:
            old = old[~old["weights_sha256"].isin(set(new["weights_sha256"]))]
        full = pd.concat([old, new], ignore_index=True) if not old.empty else new
        atomic_write(out, lambda p: full.to_csv(p, index=False))
    else:
        full = old
    rows = full[full["profile"] == profile].reset_index(drop=True) if not full.empty else full
    if rows.empty:
        how = "run with from_runs=True once (needs the trained runs)"
        return rows, pd.DataFrame(), None, f"No {profile}-profile residual spectra in {out}: {how}."
    summary = residual_summary(rows)
    seeds = sorted(int(x) for x in rows["seed"].unique())
    note = (
        f"{profile} profile, seed{'s' if len(seeds) > 1 else ''} "
        f"{', '.join(map(str, seeds))}; {rows['video'].nunique()} synth-v1 val videos, "
        f"up to {int(rows['maps'].max())} maps per video and module; runs "
        f"{', '.join(sorted(rows['run'].unique()))}."
    )
    figure = plot_residual_spectra(
        rows, summary, resolve_path(figures_dir) / "residual_spectra.png", note=note
    )
    return rows, summary, figure, residual_text(summary)


# --- the docs' small-object numbers, rendered from the rows ---------------------------------

DOC_BEGIN = "<!-- small-objects: generated by gsfm.ablation.report.update_small_object_docs; do not edit by hand -->"  # fmt: skip
DOC_END = "<!-- /small-objects -->"
README_BULLET = "- **Small objects (Table 6)**"


def readme_bullet(text: str) -> str:
    """The Table 6 bullet of README text: its first line and the indented lines after it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(README_BULLET)), None)
    if start is None:
        raise ValueError(f"the README has no bullet starting {README_BULLET!r}")
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return "\n".join(lines[start:end])


def update_small_object_docs(
    scores: pd.DataFrame,
    diffs: pd.DataFrame,
    results_md: str | os.PathLike[str] = "docs/results.md",
    readme: str | os.PathLike[str] = "README.md",
) -> None:
    """Write the small-object numbers (``scores``, ``diffs``: the ``summary`` and
    ``differences`` of :func:`small_objects_report`) between the markers
    of ``results_md`` and into the README's Table 6 bullet."""
    block = sentences.small_split_markdown(scores, diffs)
    rewrite_block(resolve_path(results_md), DOC_BEGIN, DOC_END, block)
    path = resolve_path(readme)
    text = path.read_text(encoding="utf-8")
    new_readme = text.replace(readme_bullet(text), sentences.small_split_readme_line(diffs), 1)
    atomic_write(path, lambda p: Path(p).write_text(new_readme, encoding="utf-8"))
