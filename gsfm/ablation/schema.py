"""The results tables' row schema, shared by the writer and the readers.

:data:`TABLE_SCHEMAS` types every column a table must hold ("text", "int", "float", "json");
:func:`check_table` checks a file against it as written (text cells, before any parsing), and
:func:`check_rows`, :func:`check_videos`, :func:`check_objects` check the parsed tables the
statistics read (:data:`RUN_COLUMNS`, :data:`VIDEO_COLUMNS`, :data:`OBJECT_COLUMNS`). The
runner writes rows with the columns named here (:mod:`gsfm.ablation.store`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gsfm.files import read_csv_table

__all__ = [
    "KEY",
    "METRICS",
    "METRIC_LABELS",
    "OBJECT_COLUMNS",
    "RUN_COLUMNS",
    "SCORE_NAMES",
    "TABLE_SCHEMAS",
    "TEXT_COLUMNS",
    "VIDEO_COLUMNS",
    "check_objects",
    "check_rows",
    "check_table",
    "check_videos",
    "key_first",
    "part_rows",
    "run_scores",
    "source_of",
]


#: the columns that identify a row of ``<study>.csv``
KEY: tuple[str, ...] = ("study", "variant", "seed", "split", "profile")

METRICS: tuple[str, ...] = ("JF", "J", "F")
METRIC_LABELS = {"JF": "J&F", "J": "J", "F": "F"}
RUN_COLUMNS: tuple[str, ...] = (
    "study", "variant", "reference", "model", "overrides", "inference", "seed", "split",
    "profile", "device", "torch", "amp", "git_commit", "config_hash", "data_hash",
    "train_s", "eval_fps", "JF", "J", "F", "objects", "frames",
)  # fmt: skip
VIDEO_COLUMNS: tuple[str, ...] = ("study", "variant", "seed", "split", "sequence", *METRICS)
#: columns read as text: a video "0001" or a variant "7" must not turn into a number
TEXT_COLUMNS: tuple[str, ...] = (
    "study", "variant", "split", "sequence", "object", "profile", "device", "torch",
)  # fmt: skip
OBJECT_COLUMNS: tuple[str, ...] = (
    "study", "variant", "seed", "split", "sequence", "object", "area", *METRICS,
)  # fmt: skip
#: the scorer's column names (:mod:`gsfm.evaluation`) -> the tables' names
SCORE_NAMES: dict[str, str] = {"J&F-Mean": "JF", "J-Mean": "J", "F-Mean": "F", "area_share": "area"}

#: What each results table must hold: column -> type ("text": not empty; "int"; "float": a
#: finite number; "json": a JSON object). ``""``: ``<study>.csv``; ``videos``, ``objects``:
#: its companions. Other columns (provenance) may be empty.
TABLE_SCHEMAS: dict[str, dict[str, str]] = {
    "": {
        **dict.fromkeys(("study", "variant"), "text"), "seed": "int",
        **dict.fromkeys(("split", "profile", "model", "reference"), "text"),
        "overrides": "json", "inference": "json",
        **dict.fromkeys(("train_s", "eval_fps", "JF", "J", "F"), "float"),
    },
    "videos": {
        **dict.fromkeys(("study", "variant"), "text"), "seed": "int",
        **dict.fromkeys(("split", "profile", "sequence"), "text"),
        **dict.fromkeys(("JF", "J", "F"), "float"),
    },
    "objects": {
        **dict.fromkeys(("study", "variant"), "text"), "seed": "int",
        **dict.fromkeys(("split", "profile", "sequence", "object"), "text"),
        **dict.fromkeys(("area", "JF", "J", "F"), "float"),
    },
}  # fmt: skip


def key_first(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the row key (:data:`KEY`) as its first columns, as every table is written."""
    return table[[*KEY] + [c for c in table.columns if c not in KEY]]


def run_scores(summary: pd.Series) -> dict[str, Any]:
    """The score columns of a ``<study>.csv`` row from the scorer's one-line summary of a run on
    a split (:mod:`gsfm.evaluation`): speed, inference settings, J&F, J and F ×100, counts."""
    return {
        "eval_fps": round(float(summary["fps"]), 3),
        "top_k": summary["top_k"],
        "mem_every": summary["mem_every"],
        **{
            SCORE_NAMES[name]: 100 * float(summary[name])
            for name in ("J&F-Mean", "J-Mean", "F-Mean")
        },
        "objects": int(summary["n_objects"]),
        "frames": int(summary["frames"]),
    }


def part_rows(scores: pd.DataFrame, kind: str, **key: Any) -> pd.DataFrame:
    """Per-video (``kind="videos"``) or per-object (``"objects"``) scores of one run on one split
    (the scorer's columns) as rows of that companion table: its columns
    (:data:`VIDEO_COLUMNS`, :data:`OBJECT_COLUMNS`), J&F, J and F ×100, the row ``key``
    (:data:`KEY`'s values) first."""
    columns = {"videos": VIDEO_COLUMNS, "objects": OBJECT_COLUMNS}[kind]
    table = scores.rename(columns=SCORE_NAMES)[[c for c in columns if c not in KEY]].copy()
    table[list(METRICS)] *= 100
    return key_first(table.assign(**key))


def _bad_cells(values: pd.Series, kind: str) -> pd.Series:
    """True where a text cell is not of ``kind`` (see :data:`TABLE_SCHEMAS`)."""
    if kind == "text":
        return values.str.strip() == ""
    if kind == "json":

        def not_object(text: str) -> bool:
            try:
                return not isinstance(json.loads(text), dict)
            except ValueError:
                return True

        return values.map(not_object).astype(bool)
    number = pd.to_numeric(values.str.strip().replace("", "x"), errors="coerce")
    bad = number.isna() | ~number.abs().lt(float("inf"))
    if kind == "int":
        bad |= number.mod(1).ne(0)
    return bad


def check_table(path: str | os.PathLike[str], kind: str = "") -> pd.DataFrame:
    """Read the results table ``path`` as text (cells as written) and check it: a readable CSV
    of complete rows (:func:`gsfm.files.read_csv_table`: a truncated file is refused) with
    every column of :data:`TABLE_SCHEMAS` ``[kind]`` holding values of its type. A damaged
    table is one ``ValueError`` naming the file, the column and the line; it is never
    rewritten (:func:`~gsfm.ablation.store.upsert_rows` and :func:`~gsfm.ablation.runner.plan`
    read through here first)."""
    path = Path(path)
    schema = TABLE_SCHEMAS[kind]
    what = f"results table ({kind or 'rows'})"
    table = read_csv_table(path, tuple(schema), what=what, dtype=str, keep_default_na=False)
    if table.empty:
        raise ValueError(f"{path}: a {what} with a header and no rows")
    for column, typ in schema.items():
        bad = _bad_cells(table[column], typ)
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2  # the header is line 1
            wanted = {"text": "a value", "json": "a JSON object"}.get(typ, f"{typ} numbers")
            raise ValueError(
                f"{path}: column {column!r} must hold {wanted}; line {line} has "
                f"{table[column].iloc[line - 2]!r} ({int(bad.sum())} bad row(s) in all): the "
                "table is damaged; restore it (e.g. from git) or move it away"
            )
    return table


# --- reading and checking ------------------------------------------------------------------


def source_of(table: pd.DataFrame, default: str) -> str:
    """Where ``table`` was read from (its ``attrs["source"]``, set by the reader), for errors."""
    return str(table.attrs.get("source", default))


def _require(table: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(table).__name__}")
    src = source_of(table, what)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{src} lacks the column(s) {missing}")
    if table.empty:
        raise ValueError(f"{src} has no rows")
    studies = table["study"].astype(str).unique()
    if len(studies) > 1:
        raise ValueError(f"{src} mixes studies {sorted(studies)}; one study per table")
    out = table.copy()
    out.attrs["source"] = src
    for col in ("variant", "split", "study"):
        out[col] = out[col].astype(str)
    seeds = pd.to_numeric(out["seed"], errors="coerce")
    if seeds.isna().any() or not np.all(np.mod(seeds, 1) == 0):
        raise ValueError(f"{src}: column 'seed' must hold integers")
    out["seed"] = seeds.astype(int)
    for col in METRICS:
        values = pd.to_numeric(out[col], errors="coerce")
        if values.isna().any():
            bad = out.loc[values.isna(), "variant"].unique().tolist()
            raise ValueError(f"{src}: column {col!r} has missing or non-numeric values ({bad})")
        out[col] = values.astype(float)
    return out


def _no_duplicates(table: pd.DataFrame, keys: list[str]) -> None:
    dup = table.duplicated(keys, keep=False)
    if dup.any():
        first = table.loc[dup, keys].iloc[0].to_dict()
        raise ValueError(f"{source_of(table, 'table')}: duplicate rows for {first}")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def check_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>.csv`` table (one error naming the file and the problem):
    its columns, integer seeds, numeric scores, a boolean ``reference`` that is constant per
    variant, one row per (variant, seed, split), and one ``data_hash`` per split (rows scored
    on different renderings of a split are never compared)."""
    out = _require(rows, RUN_COLUMNS, "rows table")
    src = source_of(out, "rows table")
    hashes = out.groupby("split", sort=False)["data_hash"].unique()
    for split, found in hashes.items():
        if len(found) > 1:
            raise ValueError(
                f"{src}: split {split!r} was scored on different data ({sorted(map(str, found))}): "
                "compare rows of one rendering of a split only"
            )
    try:
        out["reference"] = [_as_bool(v) for v in out["reference"]]
    except ValueError as err:
        raise ValueError(f"{src}: column 'reference': {err}") from None
    mixed = out.groupby("variant", sort=False)["reference"].nunique()
    if (mixed > 1).any():
        raise ValueError(
            f"{src}: variant(s) {list(mixed[mixed > 1].index)} are both reference and not"
        )
    _no_duplicates(out, ["variant", "seed", "split"])
    return out


def check_videos(videos: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>_videos.csv`` table: one row per (variant, seed, split,
    video)."""
    out = _require(videos, VIDEO_COLUMNS, "videos table")
    out["sequence"] = out["sequence"].astype(str)
    _no_duplicates(out, ["variant", "seed", "split", "sequence"])
    return out


def check_objects(objects: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of a ``<study>_objects.csv`` table: areas in [0, 1], and one area per
    object (it is measured on the ground truth, so every variant and seed must agree)."""
    out = _require(objects, OBJECT_COLUMNS, "objects table")
    src = source_of(out, "objects table")
    out["sequence"] = out["sequence"].astype(str)
    out["object"] = out["object"].astype(str)
    area = pd.to_numeric(out["area"], errors="coerce")
    if area.isna().any() or (area < 0).any() or (area > 1).any():
        raise ValueError(f"{src}: column 'area' must be a fraction of the frame in [0, 1]")
    out["area"] = area.astype(float)
    spread = out.groupby(["split", "sequence", "object"])["area"].agg(lambda a: a.max() - a.min())
    if (spread > 1e-6).any():
        split, seq, obj = spread[spread > 1e-6].index[0]
        raise ValueError(
            f"{src}: object {obj} of {seq} ({split}) has different areas across "
            "variants or seeds; the area must come from the ground truth"
        )
    _no_duplicates(out, ["variant", "seed", "split", "sequence", "object"])
    return out
