"""The ablation rows on disk: reading a study (one profile, one device), writing rows under a
lock, and the atomic upsert the speed tables share.

:func:`write_rows` appends one row per (study, variant, seed, split) to ``<results>/<study>.csv``
(per video: ``<study>_videos.csv``; per object: ``<study>_objects.csv``). Rows are keyed; a row
already there is never recomputed, every file is replaced atomically, so a killed run loses at
most the trainings in progress. :func:`load_study` reads them back without mixing devices.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from gsfm.ablation.schema import (
    KEY,
    TEXT_COLUMNS,
    check_objects,
    check_rows,
    check_table,
    check_videos,
)
from gsfm.ablation.studies import Study, get_studies
from gsfm.config import START_MODES
from gsfm.files import atomic_write, exclusive, read_csv_table
from gsfm.runtime import device_label, device_type, resolve_path
from gsfm.training.run_folder import provenance

if TYPE_CHECKING:  # the runner imports this module
    from gsfm.ablation.runner import Task

__all__ = [
    "AblationTables",
    "check_one_device_type",
    "check_one_render",
    "check_one_start",
    "done_keys",
    "find_run_folder",
    "load_study",
    "provenance_device",
    "read_ablation",
    "upsert_rows",
    "write_rows",
]


@dataclass(frozen=True)
class AblationTables:
    """One study's tables: ``rows`` (``<study>.csv``), ``videos`` and ``objects`` (None when
    the file does not exist)."""

    study: str
    rows: pd.DataFrame
    videos: pd.DataFrame | None
    objects: pd.DataFrame | None
    device_note: str = ""  # which rows of other devices were left out, in words


def _read(path: Path, check: Any, keep: Any = None) -> pd.DataFrame:
    table = read_csv_table(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    if keep is not None:
        table = table[keep(table)].reset_index(drop=True)
    table.attrs["source"] = str(path)
    return check(table)


def read_ablation(
    folder: str | os.PathLike[str],
    study: str,
    profile: str | None = None,
    device: str | None = None,
    cpu_capabilities: Sequence[str] | None = None,
) -> AblationTables:
    """Read and check ``folder/<study>.csv`` and, where they exist, its ``_videos`` and
    ``_objects`` companions. ``profile`` / ``device`` / ``cpu_capabilities`` keep only the
    rows of that profile, training device and CPU kernel sets ("" for a row that records none)
    (and the companions' rows of the kept variants, seeds and splits), so that one table never
    mixes what must not be compared."""
    root = Path(folder)
    path = root / f"{study}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"ablation table not found: {path}")

    def keep_rows(t: pd.DataFrame) -> pd.Series:
        mask = pd.Series(True, index=t.index)
        for col, values in (
            ("profile", None if profile is None else [profile]),
            ("device", None if device is None else [device]),
            ("cpu_capability", cpu_capabilities),
        ):
            if values is not None and col in t:
                text = t[col].map(lambda v: "" if pd.isna(v) else str(v))
                mask &= text.isin([str(v) for v in values])
        return mask

    rows = _read(path, check_rows, keep_rows)
    keys = set(rows[["variant", "seed", "split"]].astype(str).itertuples(index=False))

    def keep_parts(t: pd.DataFrame) -> pd.Series:
        ids = t[["variant", "seed", "split"]].astype(str).itertuples(index=False)
        mask = pd.Series([k in keys for k in ids], index=t.index, dtype=bool)
        if profile is not None and "profile" in t:
            mask &= t["profile"].astype(str) == str(profile)
        return mask

    extra: dict[str, pd.DataFrame | None] = {}
    for kind, check in (("videos", check_videos), ("objects", check_objects)):
        p = root / f"{study}_{kind}.csv"
        extra[kind] = _read(p, check, keep_parts) if p.is_file() else None
    return AblationTables(study, rows, extra["videos"], extra["objects"])


def done_keys(path: Path) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """{row key: (overrides, inference)} of the rows in ``path`` (checked: :func:`check_table`)."""
    if not path.is_file():
        return {}
    table = check_table(path)
    keys = table[list(KEY)].astype({"seed": int}).itertuples(index=False)
    return {
        tuple(k): (json.loads(o), json.loads(i))
        for k, o, i in zip(keys, table["overrides"], table["inference"], strict=True)
    }


def load_study(
    results_dir: str | os.PathLike[str], study: str, profile: str, device: str | None = None
) -> Any:
    """One study's tables (:class:`gsfm.ablation.store.AblationTables`) restricted to
    ``profile`` and one training device and CPU kernel set (``cpu_capability``: AVX-512 and
    AVX2 runs differ), so that a comparison never mixes devices: ``device`` if given, else the
    device with the most rows; then its most common recorded kernel set. ``device_note`` says
    what was left out. None when there are no such rows yet."""
    get_studies(study)
    path = resolve_path(results_dir) / f"{study}.csv"
    if not path.is_file():
        return None
    ids = check_table(path)
    ids = ids.reindex(columns=["profile", "device", "cpu_capability"]).astype(object).fillna("")
    ids = ids[ids["profile"] == profile]
    if device is None and not ids.empty:
        device = str(ids["device"].value_counts().index[0])
    if ids.empty or not (ids["device"] == device).any():
        return None
    on_device = ids[ids["device"] == device]
    known = on_device.loc[on_device["cpu_capability"] != "", "cpu_capability"]
    capability = str(known.value_counts().index[0]) if len(known) else None
    # a row whose run did not record its kernel set (runs from before it was recorded) is kept
    # with the others of its device, and counted in the note
    kept = (ids["device"] == device) & (
        ids["cpu_capability"].isin(["", capability]) if capability else True
    )
    others = ids[~kept].value_counts(["device", "cpu_capability"])
    notes = []
    if len(others):
        notes.append(
            "Left out, so that no comparison mixes devices: "
            + "; ".join(
                f"{n} row{'s' if n != 1 else ''} trained on {d}{f' ({c})' if c else ''}"
                for (d, c), n in others.items()
            )
            + "."
        )
    unrecorded = int((on_device["cpu_capability"] == "").sum())
    if capability and unrecorded:
        notes.append(
            f"{unrecorded} of the rows kept come from runs that did not record their CPU kernel "
            f"set; the others are {capability}."
        )
    tables = read_ablation(
        path.parent, study, profile, device, ["", capability] if capability else None
    )
    return replace(tables, device_note=" ".join(notes))


def find_run_folder(name: str, dirs: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The finished run folder ``name`` (a row's ``run`` column) in the first of ``dirs`` that
    holds it, or None (run folders are not committed; a fresh clone has none)."""
    for folder in dirs:
        run = resolve_path(folder) / name
        if (run / "checkpoints" / "final.pt").is_file():
            return run
    return None


# --- writing rows ----------------------------------------------------------------------------


def upsert_rows(path: Path, rows: pd.DataFrame, key: Sequence[str]) -> None:
    """Replace the rows of the CSV file ``path`` with the same ``key`` values by ``rows``
    (added when none has them), atomically. The ablation rows and the speed tables use it.

    Everything is handled as the file's text (``dtype=str``), so the rows that stay are
    written back byte for byte: typed, a new row with an empty cell in an integer column
    would turn the old rows' ``20`` into ``20.0``."""
    if rows.empty:
        return
    as_text = {"dtype": str, "keep_default_na": False}
    new = pd.read_csv(io.StringIO(rows.to_csv(index=False)), **as_text)
    table = new
    if path.is_file():
        old = read_csv_table(path, key, **as_text)
        ids = set(new[list(key)].itertuples(index=False))
        old = old[[t not in ids for t in old[list(key)].itertuples(index=False)]]
        if not old.empty:  # columns only one side has are left empty on the other
            table = pd.concat([old, new], ignore_index=True).fillna("")
    atomic_write(path, lambda p: table.to_csv(p, index=False))


def provenance_device(prov: Mapping[str, Any]) -> str:
    """Where a run trained or a timing ran, from its provenance
    (:func:`gsfm.training.run_folder.provenance`, whose ``device`` is a
    :func:`gsfm.runtime.device_label`): that label, with the torch threads on the CPU."""
    dev = str(prov.get("device", "unknown"))
    if device_type(dev) == "cpu":
        return device_label("cpu", prov.get("torch_threads"))
    return dev


def _git_commit() -> str | None:
    return provenance(torch.device("cpu"), 0, 1)["git_commit"]


def write_rows(results_dir: Path, task: Task, tables: tuple[pd.DataFrame, ...]) -> None:
    """Write a task's rows: per-object and per-video first, the main row last, so a task is
    done (and skipped on the next run) only when all three files hold it. The three updates
    hold the study's lock file, so two processes filling one results folder (the CLI and a
    notebook with ``retrain=True``) never lose each other's rows."""
    rows, videos, objects = tables
    name = task.study.name
    with exclusive(results_dir / f".{name}.lock"):  # another `ablate` may update this study
        upsert_rows(results_dir / f"{name}_objects.csv", objects, (*KEY, "sequence", "object"))
        upsert_rows(results_dir / f"{name}_videos.csv", videos, (*KEY, "sequence"))
        upsert_rows(results_dir / f"{name}.csv", rows, KEY)


def check_one_device_type(results: Path, studies: Sequence[Study], profile: str, kind: str) -> None:
    """Refuse (``ValueError`` naming the file) to add ``kind``-device rows of ``profile`` to a
    study file that holds that profile's rows of another device type."""
    for study in studies:
        path = results / f"{study.name}.csv"
        if not path.is_file():
            continue
        rows = pd.read_csv(path, usecols=["profile", "device"], dtype=str)
        other = {device_type(d) for d in rows.loc[rows["profile"] == profile, "device"]}
        other.discard(kind)
        if other:
            raise ValueError(
                f"{path} holds {profile}-profile rows trained on {sorted(other)[0]}, and this "
                f"run would add {kind} rows: comparisons must not mix devices; write them "
                f"to another folder (--results results/ablations-{kind})"
            )


def check_one_render(results: Path, profile: str, digests: Mapping[tuple[str, str], str]) -> None:
    """Refuse (``ValueError`` naming the file) to add rows to a study file whose rows of the
    same profile and split were scored on another rendering of that split: ``digests`` maps
    (study, split label) to the first 16 hex digits of the split's data digest as rendered now
    (:func:`gsfm.data.layout.data_fingerprint`). The readers refuse such a mixed table, so the
    runner checks before it trains anything."""
    for (study, split), digest in digests.items():
        path = results / f"{study}.csv"
        if not path.is_file():
            continue
        table = check_table(path)
        part = table[(table["profile"] == profile) & (table["split"] == split)]
        other = sorted({str(h) for h in part["data_hash"]} - {digest})
        if other:
            raise ValueError(
                f"{path} holds {profile}-profile rows of split {split!r} scored on data "
                f"{other[0]}, and the split as rendered here has data {digest} (its image "
                f"files differ: another machine's encoders): rows of two renderings are never "
                f"compared; write these rows to another folder (--results)"
            )


def check_one_start(results: Path, studies: Sequence[Study], start: str) -> None:
    """Refuse (``ValueError`` naming the file) to add rows of the ``start`` design
    (:mod:`gsfm.training.start`) to a study file holding rows of another design (a row without
    a ``start`` column is ``"own"``): one design per results folder."""
    if start not in START_MODES:
        raise ValueError(f"start must be one of {START_MODES}, got {start!r}")
    for study in studies:
        path = results / f"{study.name}.csv"
        if not path.is_file():
            continue
        table = check_table(path)  # a damaged table is one error naming the file
        starts = {s or "own" for s in table["start"]} if "start" in table else {"own"}
        starts.discard(start)
        if starts:
            raise ValueError(
                f"{path} holds rows of the start={sorted(starts)[0]!r} design, and this run "
                f"would add start={start!r} rows: write them to another folder "
                f"(--results results/ablations-{start})"
            )
