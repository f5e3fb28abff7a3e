"""Reusable experiment steps for the notebooks: train once, evaluate once, reuse with provenance.

Training a model on the ``cpu`` profile takes minutes and evaluating it another minute, so the
notebooks never redo work whose inputs did not change:

* :func:`trained_run` returns a FINISHED run folder whose saved configuration (model, profile,
  data, training configuration with the seed, model options) equals the requested one; it
  trains (or resumes an interrupted run of the same configuration) only when there is none.
  The folder name carries a hash of that configuration, so a changed profile never overwrites
  an older run; ``retrain=True`` deletes the matching run and trains it again.
* :func:`evaluated_run` segments a validation split with a run's checkpoint and scores it; the
  predictions and tables are cached inside the run folder next to a ``provenance.json``
  (checkpoint SHA-256 and mtime, data fingerprint, inference settings, git commit, library
  versions, device) and are recomputed when any of those differ.
* :func:`trivial_baselines` scores the ``empty`` and ``copy-first`` predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import numpy
import pandas as pd
import torch

from gsfm import __version__
from gsfm.config import (
    ModelConfig,
    TrainConfig,
    default_data,
    json_roundtrip,
    legacy_model_name,
    model_config,
    profile_sizes,
    train_config,
)
from gsfm.data.layout import data_fingerprint, list_videos, resolve_layout
from gsfm.evaluation import evaluate_baseline, evaluate_checkpoint
from gsfm.files import Busy, atomic_folder, atomic_write_json, exclusive
from gsfm.inference import InferenceSettings
from gsfm.runtime import resolve_device, resolve_path
from gsfm.training.api import parse_data_spec, train
from gsfm.training.run_folder import provenance

__all__ = [
    "EvalRun",
    "device_overrides",
    "eval_split_settings",
    "finished_run",
    "evaluated_run",
    "run_config",
    "run_name",
    "trained_run",
    "trivial_baselines",
]

_MODEL_FIELDS = frozenset(f.name for f in fields(ModelConfig))
_TRAIN_FIELDS = frozenset(f.name for f in fields(TrainConfig)) - {"stage", "seed"}
# the entries of config.json that define a run (the rest is provenance / resume history)
_RUN_KEYS: tuple[str, ...] = ("model_name", "profile", "data", "init", "train", "model")
PROVENANCE_FILE = "provenance.json"
_TABLES: tuple[str, ...] = ("scores.csv", "per_sequence.csv", "per_object.csv")


# --- training --------------------------------------------------------------------------------


def _split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split keyword overrides into (model options, training options); unknown names raise."""
    model_opts = {k: v for k, v in overrides.items() if k in _MODEL_FIELDS}
    train_opts = {k: v for k, v in overrides.items() if k in _TRAIN_FIELDS}
    unknown = sorted(set(overrides) - set(model_opts) - set(train_opts))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown}: expected ModelConfig or TrainConfig fields "
            "(the seed is its own argument)"
        )
    return model_opts, train_opts


def run_config(
    model: str,
    profile: str,
    *,
    seed: int,
    data: Sequence[str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The configuration a run of these arguments saves in ``config.json`` (the compared part).

    It is what :func:`gsfm.training.api.train` writes: the model name, the profile, the data
    specifications (default: the profile's, :func:`gsfm.config.default_data`), the resolved :class:`~gsfm.config.TrainConfig` (with ``seed``) and
    :class:`~gsfm.config.ModelConfig`, as they read back from JSON.
    """
    model_opts, train_opts = _split_overrides(overrides)
    data = default_data(profile) if data is None else data
    cfg = {
        "model_name": model,
        "profile": profile,
        "data": [str(parse_data_spec(s)) for s in data],
        "init": None,
        "train": asdict(train_config(profile, "main", seed=int(seed), **train_opts)),
        "model": asdict(model_config(model, profile, **model_opts)),
    }
    return json_roundtrip(cfg)


def _digest(obj: Any, n: int = 8) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:n]


def run_name(config: Mapping[str, Any]) -> str:
    """``<model>-<profile>-seed<seed>-<hash of the configuration>`` for a :func:`run_config`."""
    seed = config["train"]["seed"]
    return f"{config['model_name']}-{config['profile']}-seed{seed}-{_digest(dict(config))}"


def _saved_run_config(run_dir: Path) -> dict[str, Any] | None:
    try:
        saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return {k: saved.get(k) for k in _RUN_KEYS}


def _upgraded(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run configuration as the current code writes it: fields added to
    :class:`~gsfm.config.ModelConfig` / :class:`~gsfm.config.TrainConfig` since the run was
    saved get their defaults (``name`` from the switches, as :func:`gsfm.checkpoint.load_model`
    does), so a finished run keeps being reused when nothing it was trained with changed."""
    out = dict(saved)
    if isinstance(out.get("model"), dict):
        model = {**json_roundtrip(asdict(ModelConfig())), **out["model"]}
        if "name" not in out["model"]:
            model["name"] = legacy_model_name(out["model"])
        out["model"] = model
    if isinstance(out.get("train"), dict):
        out["train"] = {**json_roundtrip(asdict(TrainConfig())), **out["train"]}
    return out


def _earlier_run(runs_dir: Path, expected: dict[str, Any]) -> Path | None:
    """A finished run of ``expected`` saved under an earlier name (before fields were added)."""
    prefix = run_name(expected).rsplit("-", 1)[0]
    for folder in sorted(runs_dir.glob(f"{prefix}-*")):
        saved = _saved_run_config(folder)
        finished = (folder / "checkpoints" / "final.pt").is_file()
        if saved is not None and finished and _upgraded(saved) == expected:
            return folder
    return None


def finished_run(runs_dir: str | os.PathLike[str], expected: Mapping[str, Any]) -> Path | None:
    """The finished run of configuration ``expected`` (a :func:`run_config`) in ``runs_dir``:
    the folder ``run_name(expected)`` holding ``checkpoints/final.pt`` with that saved
    configuration, or one saved under an earlier name before fields were added; else None."""
    folder = resolve_path(runs_dir)
    run_dir = folder / run_name(expected)
    if (run_dir / "checkpoints" / "final.pt").is_file():
        return run_dir if _saved_run_config(run_dir) == dict(expected) else None
    return None if run_dir.exists() else _earlier_run(folder, dict(expected))


def device_overrides(device: str | torch.device = "auto") -> dict[str, Any]:
    """Training options that depend on the device: mixed precision (AMP) on CUDA.

    The notebooks pass these to :func:`trained_run`, so that 03 and 04 ask for the same run.
    """
    return {"amp": True} if resolve_device(device).type == "cuda" else {}


def trained_run(
    model: str,
    profile: str,
    *,
    seed: int,
    runs_dir: str | os.PathLike[str],
    data: Sequence[str] | None = None,
    retrain: bool = False,
    device: str | torch.device = "auto",
    progress: bool = True,
    **overrides: Any,
) -> Path:
    """A finished training run of ``model`` under ``profile`` with ``seed``; trains if needed.

    ``overrides`` are :class:`~gsfm.config.ModelConfig` or :class:`~gsfm.config.TrainConfig`
    fields. The run lives in ``runs_dir/<run_name>``. A folder there whose saved configuration
    equals :func:`run_config` and that holds ``checkpoints/final.pt`` is returned as it is; an
    interrupted one is resumed exactly; ``retrain=True`` deletes it and trains from scratch.
    Returns the run folder (its checkpoint is ``checkpoints/final.pt``).

    One process of the machine at a time trains a run folder: while another holds it (e.g. a
    second ``python -m gsfm ablate``), this raises :class:`gsfm.files.Busy` at once instead of
    resuming or deleting the run under the other's feet.
    """
    data = default_data(profile) if data is None else data
    expected = run_config(model, profile, seed=seed, data=data, **overrides)
    model_opts, train_opts = _split_overrides(overrides)
    run_dir = resolve_path(runs_dir) / run_name(expected)
    final = run_dir / "checkpoints" / "final.pt"
    lock = run_dir.parent / f".{run_dir.name}.lock"
    try:
        with exclusive(lock, wait=False):
            if retrain and run_dir.exists():
                print(f"retrain=True: removing {run_dir}")
                shutil.rmtree(run_dir)
            resume = False
            done = None if retrain else finished_run(run_dir.parent, expected)
            if done is not None:
                print(f"reusing the finished run {done}")
                return done
            if run_dir.exists():
                saved = _saved_run_config(run_dir)
                if saved == expected and (run_dir / "checkpoints" / "latest.pt").is_file():
                    print(f"resuming the interrupted run {run_dir}")
                    resume = True
                else:  # a broken start (no checkpoint) or a foreign folder under our name
                    print(f"{run_dir} holds no usable run of this configuration; training it again")
                    shutil.rmtree(run_dir)
            if not resume:
                print(f"training {model} ({profile} profile, seed {seed}) into {run_dir}")
            result = train(
                model,
                profile,
                list(data),
                run_dir,
                resume=resume,
                device=device,
                progress=progress,
                model_options=model_opts,
                seed=int(seed),
                **train_opts,
            )
            if not result.finished or not final.is_file():
                raise RuntimeError(f"training into {run_dir} stopped before the end (no {final})")
            return run_dir
    except Busy:
        raise Busy(
            f"{run_dir} is being trained by another process on this machine: wait for it to "
            "finish (its run is then reused), or use another runs folder"
        ) from None


# --- data ------------------------------------------------------------------------------------


def eval_split_settings(profile: str) -> dict[str, Any]:
    """The validation subset a notebook evaluates on under ``profile``, as keyword arguments of
    :func:`gsfm.data.synthetic.ensure_split`, from :func:`gsfm.config.profile_sizes` (smoke: the
    first 3 synth-v1 val videos at 64x112; otherwise the full split, 24 videos at 160x288)."""
    sizes = profile_sizes(profile)
    given = {"limit": sizes.eval_videos, "height": sizes.eval_height, "width": sizes.eval_width}
    return {k: v for k, v in given.items() if v is not None}


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalRun:
    """A cached evaluation of one checkpoint on one validation folder.

    ``scores``: one row (J&F, J, F with Mean/Recall/Decay, objects, frames, seconds, fps,
    top_k, mem_every); ``per_sequence`` / ``per_object``: the DAVIS tables; ``pred_dir``: the
    palette PNGs; ``provenance``: what produced them; ``reused``: loaded from the cache.
    """

    run_dir: Path
    pred_dir: Path
    scores: pd.DataFrame
    per_sequence: pd.DataFrame
    per_object: pd.DataFrame
    provenance: dict[str, Any]
    reused: bool

    @property
    def jf(self) -> float:
        """Global J&F-Mean in [0, 1]."""
        return float(self.scores["J&F-Mean"].iloc[0])

    @property
    def fps(self) -> float:
        """Frames per second of the propagation (no I/O), as the inference engine timed it."""
        return float(self.scores["fps"].iloc[0])


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    return {"gsfm": __version__, "torch": torch.__version__, "numpy": numpy.__version__}


# Package source that never runs when a checkpoint segments a folder and is scored: changing
# it keeps cached evaluations. Everything else counts (when in doubt, recompute).
_NOT_INFERENCE: tuple[str, ...] = (
    "viz/", "analysis/", "commands/", "training/", "ablation/",
    "notebooks.py", "cli.py", "__main__.py",
)  # fmt: skip


def inference_code_digest() -> str:
    """SHA-256 of the package source that segmenting and scoring can run (every ``gsfm`` module
    except plotting, analysis, training and the command line): a cached evaluation stays valid
    across commits that do not touch it, and is recomputed when any of it changes, committed or
    not."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if not rel.startswith(_NOT_INFERENCE):
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# provenance entries that must match for a cached evaluation to be reused (the git commit is
# recorded, not matched: the code that can change the result is ``code_sha256``)
_MATCH_KEYS: tuple[str, ...] = (
    "checkpoint_sha256",
    "data_root",
    "videos",
    "data_sha256",
    "top_k",
    "mem_every",
    "code_sha256",
    "libraries",
    "device_type",
)


def evaluated_run(
    run_dir: str | os.PathLike[str],
    val_root: str | os.PathLike[str],
    *,
    checkpoint: str = "final",
    videos: Sequence[str] | None = None,
    res: str | None = None,
    device: str | torch.device = "auto",
    top_k: int | None | Literal["config"] = "config",
    mem_every: int | None = None,
    recompute: bool = False,
) -> EvalRun:
    """Segment ``val_root`` with ``run_dir/checkpoints/<checkpoint>.pt`` and score it (cached).

    The predictions (palette PNGs, ``timing.json``) and tables (``scores.csv``,
    ``per_sequence.csv``, ``per_object.csv``) go to ``run_dir/eval/<val name>-<hash>/`` with a
    ``provenance.json``. They are reused when the checkpoint's SHA-256, the data fingerprint,
    the inference settings, the inference code (:func:`inference_code_digest`; the git commit
    is recorded but not compared), the library versions and the device type all match
    (and ``recompute`` is False); otherwise they are recomputed into a temporary folder that
    replaces the old one only when complete.
    """
    run = resolve_path(run_dir)
    ckpt = run / "checkpoints" / f"{checkpoint}.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint not found: {ckpt} (is {run} a finished run?)")
    root = resolve_path(val_root)
    ann_root = resolve_layout(root, res)[1]
    names = list(videos) if videos is not None else list_videos(ann_root)
    dev = resolve_device(device)
    prov_now = provenance(dev, 0, 1)
    settings = {"top_k": top_k, "mem_every": mem_every}
    stat = ckpt.stat()
    expected = {
        "checkpoint": str(ckpt),
        "checkpoint_sha256": _file_sha256(ckpt),
        "checkpoint_mtime": stat.st_mtime,
        "data_root": str(root),
        "videos": names,
        "data_sha256": data_fingerprint(root, names, res),
        **settings,
        "code_sha256": inference_code_digest(),
        "git_commit": prov_now["git_commit"],
        "git_dirty": prov_now["git_dirty"],
        "libraries": _library_versions(),
        "device_type": dev.type,
        "device": prov_now["device"],
    }
    key = _digest({k: expected[k] for k in ("checkpoint", "data_root", "videos", *settings)})
    out = run / "eval" / f"{root.name}-{checkpoint}-{key}"
    if not recompute and out.is_dir():
        try:
            saved = json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            saved = {}
        if all(saved.get(k) == expected[k] for k in _MATCH_KEYS):
            return EvalRun(
                run, out, *(pd.read_csv(out / f) for f in _TABLES), provenance=saved, reused=True
            )
        changed = [k for k in _MATCH_KEYS if saved.get(k) != expected[k]]
        print(f"re-evaluating {run.name}: {', '.join(changed) or 'no provenance'} changed")

    with atomic_folder(out) as tmp:
        inference = InferenceSettings(top_k=top_k, mem_every=mem_every)
        row = evaluate_checkpoint(
            ckpt, root, tmp, device=dev, settings=inference, videos=names, res=res
        )
        row = row.drop(columns=["predictions"])
        row["checkpoint"] = str(ckpt)
        row.to_csv(tmp / "scores.csv", index=False)
        atomic_write_json(tmp / PROVENANCE_FILE, expected)
    return EvalRun(
        run, out, *(pd.read_csv(out / f) for f in _TABLES), provenance=expected, reused=False
    )


def trivial_baselines(
    val_root: str | os.PathLike[str],
    *,
    videos: Sequence[str] | None = None,
    res: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """J&F of the ``empty`` and ``copy-first`` predictions on ``val_root`` (one row each).

    The predictions are written to ``out_dir/<kind>`` (or a temporary folder, then deleted).
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="gsfm-baselines-") as tmp:
        base = resolve_path(out_dir) if out_dir is not None else Path(tmp)
        for kind in ("empty", "copy-first"):
            row = evaluate_baseline(val_root, base / kind, kind, videos=videos, res=res)
            rows.append(row.drop(columns=["predictions"]))
    return pd.concat(rows, ignore_index=True)
