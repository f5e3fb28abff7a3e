"""The ablation studies as data, and the resumable runner that fills ``results/ablations``.

A :class:`Study` is a list of :class:`Variant` s (label, base model, :class:`~gsfm.config.
ModelConfig` overrides, inference settings) and the validation splits they are scored on. The
studies follow the paper's ablations (``docs/paper_vs_code.md`` §10 maps them to the paper's
rows and says what is approximated):

* ``sigma`` (Fig. 6a): σ ∈ {3, 5, 7, 10, 15}, twice: in bins at the profile's own map size
  (the authors' fixed-bin choice) and ``relative`` at σ/24 of the map size (the share of the
  spectrum σ covers on the paper's 24×24 training maps); scored on the validation split at
  its size and at 1.5 times it.
* ``placement`` (Table 3): the paper's six (LFM band, HFM band) pairs.
* ``components`` (Table 5): STCN plus LFM, HFM and the boundary branch as the table pairs
  them, all scored with the same inference settings (GSFM's) so that only training differs.
* ``generalization`` (Table 4, approximate): the frequency modules on an STM-style memory read
  (dot-product affinity, no top-k) and on STCN's L2 read.
* ``small_objects`` (Table 6): GSFM vs STCN, scored per object with its area.

:func:`run_ablation` trains what is missing (reusing finished runs of identical configuration),
scores it and appends one row per (study, variant, seed, split) to ``<results>/<study>.csv``
(per video: ``<study>_videos.csv``; per object: ``<study>_objects.csv``). Rows are keyed; a row
already there is never recomputed, every file is replaced atomically, so a killed run loses at
most the trainings in progress.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from gsfm.analysis.ablation_stats import read_ablation
from gsfm.analysis.paper_ablations import PAPER_MAP_SIDE
from gsfm.config import model_config, profile_sizes
from gsfm.data.synthetic import ensure_split, get_version
from gsfm.experiments import evaluated_run, finished_run, run_config, run_name, trained_run
from gsfm.files import Busy, atomic_write, exclusive, read_csv_table
from gsfm.runtime import device_label, device_type, resolve_device, resolve_path
from gsfm.training.run_folder import provenance

__all__ = [
    "KEY",
    "STUDIES",
    "TABLE_SCHEMAS",
    "EvalSplit",
    "Study",
    "Variant",
    "find_run_folder",
    "check_table",
    "get_studies",
    "load_study",
    "plan",
    "run_ablation",
    "upsert_rows",
]

#: the columns that identify a row of ``<study>.csv``
KEY: tuple[str, ...] = ("study", "variant", "seed", "split", "profile")
_GSFM_INFERENCE: dict[str, Any] = {"top_k": 50, "mem_every": 3}  # GSFM's own (docs §5)
_STCN_INFERENCE: dict[str, Any] = {"top_k": 20, "mem_every": 5}  # STCN's own
_PAPER_SIGMAS: tuple[int, ...] = (3, 5, 7, 10, 15)


@dataclass(frozen=True)
class Variant:
    """One row of an ablation: a base model, the ModelConfig fields it changes (training and
    architecture), and inference settings (``top_k``, ``mem_every``; empty: the model's own)."""

    label: str
    model: str = "gsfm"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    inference: Mapping[str, Any] = field(default_factory=dict)
    reference: bool = False  # differences in the study are taken against this variant
    # the variant this one is compared with when not the study's reference (e.g. a σ in the
    # relative mode against the paper's σ in that mode); None: the reference
    compare_to: str | None = None

    def __post_init__(self) -> None:
        model_config(self.model, "smoke", **dict(self.overrides))  # unknown fields raise here
        if self.reference and self.compare_to is not None:
            raise ValueError(f"variant {self.label!r}: the reference is compared with nothing")
        unknown = set(self.inference) - {"top_k", "mem_every"}
        if unknown:
            raise ValueError(f"variant {self.label!r}: unknown inference setting(s) {unknown}")


@dataclass(frozen=True)
class EvalSplit:
    """A validation split of the synthetic benchmark, at ``scale`` times the profile's size."""

    split: str = "val"
    scale: float = 1.0


@dataclass(frozen=True)
class Study:
    """An ablation: what it asks, where the paper reports it, its variants and splits."""

    name: str
    source: str
    question: str
    variants: tuple[Variant, ...]
    splits: tuple[EvalSplit, ...] = (EvalSplit(),)
    per_object: bool = False  # also write <study>_objects.csv
    # (variant, baseline) compared too, beyond each variant's own baseline: a second question
    # one variant answers (e.g. GSFM against STCN with the same three modules)
    extra_pairs: tuple[tuple[str, str], ...] = ()

    @property
    def reference(self) -> Variant:
        """The variant the others are compared with."""
        return next(v for v in self.variants if v.reference)

    def __post_init__(self) -> None:
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels):
            raise ValueError(f"study {self.name!r}: variant labels repeat: {labels}")
        if sum(v.reference for v in self.variants) != 1:
            raise ValueError(f"study {self.name!r} needs exactly one reference variant")
        for v in self.variants:
            if v.compare_to is not None and (v.compare_to not in labels or v.compare_to == v.label):
                raise ValueError(
                    f"study {self.name!r}: variant {v.label!r} is compared with "
                    f"{v.compare_to!r}, which is not another variant of the study"
                )
        for pair in self.extra_pairs:
            if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(labels):
                raise ValueError(
                    f"study {self.name!r}: extra pair {pair!r} must name two different "
                    f"variants of the study ({labels})"
                )

    def baselines(self) -> dict[str, str]:
        """Each variant but the reference: the label of the variant it is compared with."""
        return {
            v.label: v.compare_to or self.reference.label for v in self.variants if not v.reference
        }


def _sigma_variants() -> tuple[Variant, ...]:
    bins = [
        Variant(f"sigma={s}", overrides={} if s == 7 else {"sigma": float(s)}, reference=s == 7)
        for s in _PAPER_SIGMAS
    ]
    # each relative σ is compared with the paper's σ in the same mode (7/24), and that one
    # with the reference (7 bins): how much the mode itself moves the score at the paper's σ
    relative = [
        Variant(
            f"sigma={s}/{PAPER_MAP_SIDE} relative",
            overrides={"sigma": s / PAPER_MAP_SIDE, "sigma_mode": "relative"},
            compare_to=None if s == 7 else f"sigma=7/{PAPER_MAP_SIDE} relative",
        )
        for s in _PAPER_SIGMAS
    ]
    return (*bins, *relative)


# Table 3's (LFM, HFM) placements; freqL + freqH is GSFM itself.
_PLACEMENTS: tuple[tuple[str, str, str], ...] = (
    ("freqF+freqH", "all", "high"),
    ("freqH+freqH", "high", "high"),
    ("attention+freqH", "attention", "high"),
    ("freqL+freqF", "low", "all"),
    ("freqL+freqL", "low", "low"),
    ("freqL+freqH", "low", "high"),
)

_COMPONENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("STCN", {}),
    ("+LFM", {"lfm": "low"}),
    ("+HFM", {"hfm": "high"}),
    ("+LFM+HFM", {"lfm": "low", "hfm": "high"}),
    ("+HFM+boundary", {"hfm": "high", "boundary": True}),
    ("+LFM+HFM+boundary", {"lfm": "low", "hfm": "high", "boundary": True}),
)

STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study(
            "sigma",
            "Fig. 6a",
            "How wide should the LFM's low-pass Gaussian be, and does a width fixed in frequency "
            "bins transfer to another map size?",
            _sigma_variants(),
            splits=(EvalSplit("val", 1.0), EvalSplit("val", 1.5)),
        ),
        Study(
            "placement",
            "Table 3",
            "Which band should each module enhance: low in the encoder and high in the decoder, "
            "as GSFM does, or another pair?",
            tuple(
                Variant(label, overrides={"lfm": lfm, "hfm": hfm}, reference=label == "freqL+freqH")
                for label, lfm, hfm in _PLACEMENTS
            ),
        ),
        Study(
            "components",
            "Table 5",
            "What does each GSFM component add to STCN, alone and together (J&F and speed)?",
            (
                *(
                    Variant(label, "stcn", over, _GSFM_INFERENCE, reference=label == "STCN")
                    for label, over in _COMPONENTS
                ),
                Variant("GSFM", "gsfm", {}, _GSFM_INFERENCE),
            ),
            # GSFM and STCN+LFM+HFM+boundary differ only in the key encoder's conv biases
            # (`key_conv_bias`, the authors' mod_resnet). Under trained batch norm (the cpu
            # profile) those biases are cancelled, so this pair asks how far two runs of one
            # network can drift apart; with frozen BN (paper profile) it is the biases' effect.
            extra_pairs=(("GSFM", "+LFM+HFM+boundary"),),
        ),
        Study(
            "generalization",
            "Table 4 (approximate)",
            "Do the frequency modules help another memory read too? (An STM-style dot-product "
            "read without top-k stands in for the paper's STM / KMN / MiVOS rows.)",
            (
                Variant("STM-read", "stcn", {"affinity": "dot"}, {"top_k": None, "mem_every": 5}),
                Variant(
                    "STM-read+freq", "gsfm", {"affinity": "dot"}, {"top_k": None, "mem_every": 5}
                ),
                # each read at its own method's settings, with and without the modules: STCN's
                # (top-k 20, memory every 5 frames; the stcn model's own, hence no override)
                Variant("STCN-read", "stcn", reference=True),
                Variant("STCN-read+freq", "gsfm", {}, _STCN_INFERENCE),
            ),
        ),
        Study(
            "small_objects",
            "Table 6, Fig. 7",
            "Does the LFM's low-pass filtering in the encoder lose small objects?",
            (Variant("STCN", "stcn", reference=True), Variant("GSFM", "gsfm")),
            splits=(EvalSplit("val", 1.0), EvalSplit("small", 1.0)),
            per_object=True,
        ),
    )
}


def get_studies(names: str | Iterable[str] = "all") -> list[Study]:
    """The studies named (``"all"``: every one, in order); unknown names raise."""
    wanted = list(STUDIES) if names == "all" else [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in STUDIES]
    if unknown:
        raise ValueError(f"unknown study {unknown}; choose from {list(STUDIES)} or 'all'")
    return [STUDIES[n] for n in wanted]


def _limited(study: Study, max_variants: int | None) -> tuple[Variant, ...]:
    """The reference and then the first others, ``max_variants`` in all (None: every one)."""
    if max_variants is None:
        return study.variants
    others = [v for v in study.variants if not v.reference]
    return (study.reference, *others[: max(0, max_variants - 1)])


# --- evaluation splits -----------------------------------------------------------------------


def split_arguments(profile: str, split: EvalSplit) -> dict[str, Any]:
    """Keyword arguments of :func:`gsfm.data.synthetic.ensure_split` for ``split`` under
    ``profile``: the profile's evaluation subset and size, scaled (sides rounded to 16)."""
    sizes, v = profile_sizes(profile), get_version("v1")
    h, w = sizes.eval_height or v.height, sizes.eval_width or v.width
    if split.scale != 1.0:
        h, w = (max(16, round(x * split.scale / 16) * 16) for x in (h, w))
    out: dict[str, Any] = {"height": h, "width": w}
    if sizes.eval_videos is not None:
        out["limit"] = sizes.eval_videos
    return out


def split_label(profile: str, split: EvalSplit) -> str:
    """The ``split`` column: the split's name, plus its size when scaled (``val-240x432``)."""
    if split.scale == 1.0:
        return split.split
    s = split_arguments(profile, split)
    return f"{split.split}-{s['height']}x{s['width']}"


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
) -> list[Task]:
    """The tasks whose rows are not all in ``results_dir`` yet, seed by seed (every variant of
    seed 0 first, so that an interrupted grid leaves whole studies at fewer seeds). A row
    written under another definition of its variant (other overrides or inference settings)
    does not count: the task is done again and its rows are replaced."""
    results = resolve_path(results_dir)
    for study in studies:  # a damaged companion is refused now, not after hours of training
        for kind in ("videos", "objects"):
            if (results / f"{study.name}_{kind}.csv").is_file():
                check_table(results / f"{study.name}_{kind}.csv", kind)
    done = {s.name: _done_keys(results / f"{s.name}.csv") for s in studies}
    tasks = []
    for seed in seeds:
        for study in studies:
            for variant in _limited(study, max_variants):
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


def _done_keys(path: Path) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """{row key: (overrides, inference)} of the rows in ``path`` (checked: :func:`check_table`)."""
    if not path.is_file():
        return {}
    table = check_table(path)
    keys = table[list(KEY)].astype({"seed": int}).itertuples(index=False)
    return {
        tuple(k): (json.loads(o), json.loads(i))
        for k, o, i in zip(keys, table["overrides"], table["inference"], strict=True)
    }


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
    rewritten (:func:`upsert_rows` and :func:`plan` read through here first)."""
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


def load_study(
    results_dir: str | os.PathLike[str], study: str, profile: str, device: str | None = None
) -> Any:
    """One study's tables (:class:`gsfm.analysis.ablation_stats.AblationTables`) restricted to
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


def _device_label(prov: Mapping[str, Any]) -> str:
    """Where a run trained or a timing ran, from its provenance
    (:func:`gsfm.training.run_folder.provenance`, whose ``device`` is a
    :func:`gsfm.runtime.device_label`): that label, with the torch threads on the CPU."""
    dev = str(prov.get("device", "unknown"))
    if device_type(dev) == "cpu":
        return device_label("cpu", prov.get("torch_threads"))
    return dev


def _git_commit() -> str | None:
    return provenance(torch.device("cpu"), 0, 1)["git_commit"]


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
    trained_on = _device_label(trained)  # where the run trained, the same for every split
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
                "git_commit": trained.get("git_commit"),
                "eval_commit": ev.provenance.get("git_commit"),
                "config_hash": run_dir.name.rsplit("-", 1)[-1],
                "data_hash": ev.provenance["data_sha256"][:16],  # hashed once, by evaluated_run
                "train_s": round(float(log["time_s"].iloc[-1]), 1),
                "eval_fps": round(float(s["fps"]), 3),
                "top_k": s["top_k"],
                "mem_every": s["mem_every"],
                "JF": 100 * float(s["J&F-Mean"]),
                "J": 100 * float(s["J-Mean"]),
                "F": 100 * float(s["F-Mean"]),
                "objects": int(s["n_objects"]),
                "frames": int(s["frames"]),
                "run": run_dir.name,
            }
        )
        keys = {"study": base["study"], "variant": base["variant"], "seed": task.seed}
        per_seq = ev.per_sequence.rename(columns={"J&F-Mean": "JF", "J-Mean": "J", "F-Mean": "F"})[
            ["sequence", "JF", "J", "F"]
        ]
        per_seq[["JF", "J", "F"]] *= 100
        videos.append(per_seq.assign(**keys, split=label, profile=profile))
        if task.study.per_object:
            per_obj = ev.per_object.rename(
                columns={"J&F-Mean": "JF", "J-Mean": "J", "F-Mean": "F", "area_share": "area"}
            )[["sequence", "object", "area", "JF", "J", "F"]]
            per_obj[["JF", "J", "F"]] *= 100
            objects.append(per_obj.assign(**keys, split=label, profile=profile))
    order = ["study", "variant", "seed", "split", "profile"]

    def _front(t: pd.DataFrame) -> pd.DataFrame:
        return t[order + [c for c in t.columns if c not in order]]

    return (
        pd.DataFrame(rows),
        _front(pd.concat(videos, ignore_index=True)),
        _front(pd.concat(objects, ignore_index=True)) if objects else pd.DataFrame(),
    )


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


# --- training (in this process or in workers) ------------------------------------------------


def _check_one_device_type(
    results: Path, studies: Sequence[Study], profile: str, kind: str
) -> None:
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
            if device_type(_device_label(config.get("provenance", {}))) == kind:
                return found
    return None


_clock = time.monotonic  # the time limit's clock (a test replaces it)


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
    num_workers: int | None = None,
    time_limit: float | None = None,
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
    of the runs' configuration).

    ``time_limit`` (seconds from the call): no training starts after it; trainings under way
    are finished and scored, reused runs are always scored, and the tasks left are said on
    stderr (the next call does them). It lets a session with a fixed budget end between runs
    instead of losing the ones in progress.

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
    results = resolve_path(results_dir)
    todo = plan(chosen, seeds, profile, results, max_variants=max_variants)
    if dry_run or not todo:
        return todo
    dev = resolve_device(device)
    _check_one_device_type(results, chosen, profile, dev.type)
    train_options = {} if num_workers is None else {"num_workers": int(num_workers)}
    if threads is None and dev.type == "cpu" and jobs > 1:
        threads = max(1, (os.cpu_count() or 1) // jobs)
    runs = resolve_path(runs_dir)
    search = [runs, *(resolve_path(d) for d in reuse_from)]
    data = resolve_path(data_dir)
    by_run: dict[str, list[Task]] = {}
    for task in todo:
        by_run.setdefault(task.train_key(profile, **train_options), []).append(task)

    bar = tqdm(total=len(todo), desc="ablation rows", unit="task", disable=not progress)

    def record(task: Task, tables: tuple[pd.DataFrame, ...]) -> None:
        write_rows(results, task, tables)
        bar.update(1)

    def score(run_dir: Path, tasks: list[Task]) -> None:
        for task in tasks:
            record(task, _rows_for(task, run_dir, profile, dev, data))

    found: dict[str, tuple[Path, list[Task]]] = {}
    pending: dict[str, list[Task]] = {}
    for key, tasks in by_run.items():
        run_dir = _find_run(tasks[0], profile, search, train_options, dev.type)
        if run_dir is not None:
            found[key] = (run_dir, tasks)
        else:
            pending[key] = tasks

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
    else:
        for study in chosen:  # written once here, not by two workers at the same time
            for sp in study.splits:
                ensure_split(data, sp.split, **split_arguments(profile, sp))
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
