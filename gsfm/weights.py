"""The trained weights that ship with the project: export once, load by name, verify always.

The ``cpu``-profile GSFM and STCN of seed 0 are stored in ``weights/`` at the project root:

* ``<name>.safetensors``: the network's state dict; floating-point **parameters** in float16
  (half the bytes, no pickle), buffers (BatchNorm running statistics, counters) at their own
  dtype;
* ``<name>.log.csv``: the training run's ``log.csv`` (the curves of notebook 04);
* ``manifest.json``: per name, the file's SHA-256 and size, the run's configuration
  (``config.json`` of the run: model, profile, data, training options with the seed), its
  provenance (commit, torch, device, seed, ...), the number of iterations and the committed
  result row the weights reproduce (study, variant, seed, split, inference settings, J&F).

:func:`load_shipped` verifies the SHA-256 before reading a byte of the tensors and rebuilds the
network from the stored configuration. :func:`shipped_run` turns the shipped files into an
ordinary run folder (``config.json``, ``log.csv``, ``checkpoints/final.pt``), so that every
step that takes a run (``experiments.evaluated_run``, the training-curve plots, the ablation
reports) works on the shipped weights unchanged. :func:`export_weights` (``python -m gsfm
export-weights``) writes the files from a finished run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from gsfm.checkpoint import load_model, model_from_state, save_checkpoint
from gsfm.docblocks import rewrite_block
from gsfm.files import (
    CheckpointError,
    atomic_folder,
    atomic_write,
    atomic_write_json,
)
from gsfm.runtime import resolve_path

__all__ = [
    "MANIFEST",
    "WEIGHTS_DIR",
    "WeightsError",
    "export_weights",
    "load_shipped",
    "manifest_markdown",
    "read_manifest",
    "reference_row",
    "shipped_digest",
    "shipped_for",
    "shipped_names",
    "shipped_run",
    "update_doc",
]

WEIGHTS_DIR = "weights"
MANIFEST = "manifest.json"
FORMAT = "gsfm-weights"
VERSION = 1
# the committed result row each shipped model reproduces (results/ablations/<study>.csv): the
# seed-0 rows the README reports, scored with each model's own inference settings
DEFAULT_ROWS: dict[str, tuple[str, str]] = {
    "gsfm": ("small_objects", "GSFM"),
    "stcn": ("small_objects", "STCN"),
}


class WeightsError(CheckpointError):
    """Shipped weights that are missing, altered or inconsistent (one line, naming the file)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _folder(weights_dir: str | os.PathLike[str] | None) -> Path:
    return resolve_path(weights_dir if weights_dir is not None else WEIGHTS_DIR)


def read_manifest(weights_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``weights/manifest.json`` as a dict (``{"models": {}}`` when the folder has none)."""
    path = _folder(weights_dir) / MANIFEST
    if not path.is_file():
        return {"format": FORMAT, "version": VERSION, "models": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise WeightsError(f"{path} is not a gsfm weights manifest (format {FORMAT!r})")
    return manifest


def shipped_names(weights_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The names in the manifest whose weights file is present (``[]`` before any export)."""
    folder = _folder(weights_dir)
    models = read_manifest(folder).get("models", {})
    return sorted(n for n, e in models.items() if (folder / e["file"]).is_file())


def shipped_for(profile: str, seed: int, weights_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether GSFM and STCN are shipped for ``profile`` and training ``seed`` (the notebooks
    ask this instead of testing the profile's name)."""
    folder = _folder(weights_dir)
    models = read_manifest(folder).get("models", {})
    names = set(shipped_names(folder))
    return {"gsfm", "stcn"} <= names and all(
        models[n]["config"]["profile"] == profile and int(models[n]["config"]["train"]["seed"]) == int(seed)
        for n in ("gsfm", "stcn")
    )  # fmt: skip


def _entry(name: str, folder: Path) -> dict[str, Any]:
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise WeightsError(
            f"weights folder not found: {folder} (a clone of the project holds the shipped "
            "weights in weights/; or retrain the models, see docs/weights.md)"
        )
    models = read_manifest(folder).get("models", {})
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise WeightsError(
            f"no shipped weights named {name!r} in {manifest_path} (shipped: {known}; "
            "see docs/weights.md to export them from a finished run)"
        )
    return models[name]


def shipped_digest(name: str, weights_dir: str | os.PathLike[str] | None = None) -> str:
    """The SHA-256 that the manifest records for the shipped weights ``name`` (the digest
    :func:`load_shipped` checks the file against); an unknown name is one
    :class:`WeightsError` line listing the shipped names."""
    return _entry(name, _folder(weights_dir))["sha256"]


def _verified_bytes(entry: Mapping[str, Any], folder: Path, key: str = "file") -> bytes:
    """The bytes of ``entry[key]``, refused unless their SHA-256 is the manifest's."""
    path = folder / entry[key]
    if not path.is_file():
        raise WeightsError(
            f"shipped weights file not found: {path} (listed in {folder / MANIFEST})"
        )
    data = path.read_bytes()
    expected = entry["sha256" if key == "file" else f"{key}_sha256"]
    if _sha256(data) != expected:
        raise WeightsError(
            f"{path}: SHA-256 {_sha256(data)[:16]}... does not match the manifest's "
            f"{expected[:16]}...; the file was altered or replaced (restore it with git)"
        )
    return data


def _state_from_bytes(data: bytes, source: str) -> dict[str, torch.Tensor]:
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError) as exc:
        raise WeightsError(f"{source} is not a readable safetensors file ({exc})") from None
    # stored float16 parameters run in float32, as the network was trained
    return {k: v.float() if v.dtype == torch.float16 else v for k, v in state.items()}


def load_shipped(
    name: str,
    device: str | torch.device = "cpu",
    *,
    weights_dir: str | os.PathLike[str] | None = None,
) -> torch.nn.Module:
    """The shipped network ``name`` (``"gsfm"`` or ``"stcn"``), in eval mode on ``device``.

    The file's SHA-256 is checked against ``weights/manifest.json`` first: an altered file is
    refused with one line naming it. The network is rebuilt from the stored configuration
    (the run's ``ModelConfig``), so it is exactly the architecture that was trained.
    """
    folder = _folder(weights_dir)
    entry = _entry(name, folder)
    path = folder / entry["file"]
    state = _state_from_bytes(_verified_bytes(entry, folder), str(path))
    payload = {"format": "gsfm", "config": dict(entry["config"]["model"]), "model": state}
    return model_from_state(payload, path, map_location=device)


def reference_row(
    name: str,
    results_dir: str | os.PathLike[str] | None = None,
    *,
    weights_dir: str | os.PathLike[str] | None = None,
    videos: bool = False,
) -> Any:
    """The committed result row that shipped ``name`` reproduces (a pandas Series), read now
    from ``results_dir/<study>.csv`` (default: the folder the manifest names); ``videos=True``:
    its per-video rows (a DataFrame indexed by sequence) from ``<study>_videos.csv``."""
    ref = _entry(name, _folder(weights_dir))["reproduces"]
    folder = results_dir if results_dir is not None else ref.get("results", "results/ablations")
    table = resolve_path(folder) / f"{ref['study']}{'_videos' if videos else ''}.csv"
    if not table.is_file():
        raise FileNotFoundError(f"results table not found: {table}")
    rows = pd.read_csv(table)
    keep = (
        (rows["variant"] == ref["variant"])
        & (rows["seed"].astype(int) == int(ref["seed"]))
        & (rows["split"] == ref["split"])
        & (rows["profile"] == ref["profile"])
    )
    rows = rows[keep]
    if rows.empty:
        raise WeightsError(
            f"{table} has no row {ref['variant']}, seed {ref['seed']}, {ref['split']}"
        )
    return rows.set_index("sequence") if videos else rows.iloc[-1]


# --- a run folder from the shipped files -----------------------------------------------------


def shipped_run(
    name: str,
    runs_dir: str | os.PathLike[str] = "runs/shipped",
    *,
    weights_dir: str | os.PathLike[str] | None = None,
    folder_name: str | None = None,
) -> Path:
    """A run folder holding the shipped ``name`` (written once, then reused): ``config.json``
    (the run's configuration and provenance, plus ``"shipped"``: the weights' SHA-256),
    ``log.csv`` and ``checkpoints/final.pt`` (the float16 weights as float32).

    The folder is ``runs_dir/<folder_name>``, by default named like the run of the committed
    row the weights reproduce (``reproduces.run`` in the manifest), so that the ablation
    reports that look runs up by that name (notebook 06) find it. It is rewritten (atomically)
    when the shipped file changed; a folder there that is not a shipped run is never touched
    (an error says so).
    """
    folder = _folder(weights_dir)
    entry = _entry(name, folder)
    run_dir = resolve_path(runs_dir) / (folder_name or entry["reproduces"]["run"])
    config_path = run_dir / "config.json"
    if run_dir.exists():
        try:
            saved = json.loads(config_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            saved = {}
        if "shipped" not in saved:
            raise WeightsError(
                f"{run_dir} exists and is not a run written from shipped weights; choose another "
                "runs_dir (it is left as it is)"
            )
        if saved["shipped"] == entry["sha256"] and (run_dir / "checkpoints/final.pt").is_file():
            return run_dir
    model = load_shipped(name, "cpu", weights_dir=folder)
    log = _verified_bytes(entry, folder, key="log")
    config = {**entry["config"], "provenance": entry["provenance"], "shipped": entry["sha256"]}
    with atomic_folder(run_dir) as tmp:
        atomic_write_json(tmp / "config.json", config)
        (tmp / "log.csv").write_bytes(log)
        save_checkpoint(tmp / "checkpoints" / "final.pt", model)
    return run_dir


# --- export ----------------------------------------------------------------------------------


def _half_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with floating parameters in float16 and every buffer at its own dtype."""
    params = {n for n, _ in model.named_parameters()}
    out = {}
    for key, value in model.state_dict().items():
        t = value.detach().cpu()
        if key in params and t.is_floating_point():
            t = t.to(torch.float16)
        out[key] = t.contiguous()
    return out


def _reference(
    config: Mapping[str, Any], study: str, variant: str, results_dir: Path
) -> dict[str, Any]:
    """The committed row of ``study``/``variant`` with this run's profile and seed on val."""
    table = results_dir / f"{study}.csv"
    if not table.is_file():
        raise FileNotFoundError(f"results table not found: {table}")
    rows = pd.read_csv(table)
    seed, profile = int(config["train"]["seed"]), config["profile"]
    rows = rows[
        (rows["variant"] == variant)
        & (rows["seed"].astype(int) == seed)
        & (rows["profile"] == profile)
        & (rows["split"] == "val")
    ]
    if rows.empty:
        raise ValueError(f"{table} has no {variant} row of seed {seed}, {profile} profile, val")
    row = rows.iloc[-1]
    if row["model"] != config["model_name"]:
        raise ValueError(
            f"{table}: the {variant} row is a {row['model']} model, the run a {config['model_name']}"
        )
    return {
        "study": study, "variant": variant, "seed": seed, "split": "val", "profile": profile,
        "run": str(row["run"]), "inference": json.loads(row["inference"]), "JF": float(row["JF"]),
        "results": _relative(results_dir), "data_hash": str(row.get("data_hash", "")),
    }  # fmt: skip


def _relative(path: Path) -> str:
    """``path`` relative to the project root where it lies inside it (as the manifest stores
    it), else as given."""
    try:
        return str(path.resolve().relative_to(resolve_path(".").resolve()))
    except ValueError:
        return str(path)


def export_weights(
    run_dir: str | os.PathLike[str],
    name: str,
    out_dir: str | os.PathLike[str] = WEIGHTS_DIR,
    *,
    reproduces: tuple[str, str] | None = None,
    results_dir: str | os.PathLike[str] = "results/ablations",
    force: bool = False,
) -> Path:
    """Write the finished run ``run_dir`` as shipped weights ``name`` into ``out_dir``.

    Writes ``<name>.safetensors`` (float16 parameters), ``<name>.log.csv`` and the manifest
    entry (SHA-256s, the run's configuration and provenance, iterations, the committed result
    row ``reproduces`` = (study, variant), default :data:`DEFAULT_ROWS`). Every file is
    written atomically; existing shipped weights of ``name`` are refused unless ``force``.
    Returns the weights file.
    """
    run = resolve_path(run_dir)
    final = run / "checkpoints" / "final.pt"
    if not final.is_file():
        raise FileNotFoundError(f"{final} not found: {run} is not a finished run")
    try:
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        log = (run / "log.csv").read_bytes()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{run} lacks {Path(exc.filename).name}") from None
    if not name.isidentifier():
        raise ValueError(f"weights name {name!r} must be a plain word such as 'gsfm'")
    if reproduces is None:
        if name not in DEFAULT_ROWS:
            raise ValueError(f"say which result row {name!r} reproduces (study, variant)")
        reproduces = DEFAULT_ROWS[name]
    ref = _reference(config, *reproduces, resolve_path(results_dir))
    out = resolve_path(out_dir)
    manifest = read_manifest(out)
    target = out / f"{name}.safetensors"
    if not force and (name in manifest["models"] or target.exists()):
        raise ValueError(
            f"{target} is already shipped: weights are kept in git forever, replace them only "
            "for a reason (pass --force)"
        )
    model = load_model(final)
    state = _half_state(model)
    meta = {"format": FORMAT, "name": name, "model": json.dumps(asdict(model.config))}
    data = save_safetensors(state, metadata=meta)
    iterations = int(config["train"]["iterations"])
    entry = {
        "file": target.name,
        "sha256": _sha256(data),
        "bytes": len(data),
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float16 parameters, buffers at their own dtype",
        "run": run.name,
        "config": {k: config.get(k) for k in ("model_name", "profile", "data", "init", "train", "model")},
        "provenance": config.get("provenance", {}),
        "iterations": iterations,
        "log": f"{name}.log.csv",
        "log_sha256": _sha256(log),
        "reproduces": ref,
    }  # fmt: skip
    atomic_write(target, lambda p: p.write_bytes(data))
    atomic_write(out / entry["log"], lambda p: p.write_bytes(log))
    manifest = read_manifest(out)  # again: the files above took a while
    manifest["models"][name] = entry
    atomic_write_json(out / MANIFEST, manifest)
    return target


# --- documentation ---------------------------------------------------------------------------


def manifest_markdown(weights_dir: str | os.PathLike[str] | None = None) -> str:
    """A Markdown table of the shipped weights (file, SHA-256, size, run, commit, command,
    J&F expected), generated from the manifest so that ``docs/weights.md`` types nothing."""
    models = read_manifest(weights_dir).get("models", {})
    if not models:
        return "_No weights are shipped yet: `weights/manifest.json` lists none._\n"
    lines = [
        "| name | file | SHA-256 | MB | parameters | run | commit | torch | device | iterations "
        "| reproduces | J&F (synth-v1 val) |",
        "|" + "---|" * 12,
    ]
    for name, e in sorted(models.items()):
        p, r = e["provenance"], e["reproduces"]
        lines.append(
            f"| {name} | `{e['file']}` | `{e['sha256']}` | {e['bytes'] / 1e6:.1f} "
            f"| {e['parameters'] / 1e6:.1f} M | `{e['run']}` | `{str(p.get('git_commit'))[:12]}` "
            f"| {p.get('torch')} | {p.get('device')}, {p.get('torch_threads')} thread(s) "
            f"| {e['iterations']} | {r['study']} / {r['variant']} (`{r['run']}`) | {r['JF']:.2f} |"
        )
    lines += ["", "Trained by (the command recorded in each run's provenance):", ""]
    for name, e in sorted(models.items()):
        argv = [str(a) for a in e["provenance"].get("command", [])]
        if argv and argv[0].endswith("__main__.py"):
            argv = ["python", "-m", "gsfm", *argv[1:]]
        lines.append(f"    # {name}\n    {' '.join(argv) or '(not recorded)'}")
    return "\n".join(lines) + "\n"


DOC_START = "<!-- shipped-weights: generated by gsfm.weights.update_doc; do not edit by hand -->"
DOC_END = "<!-- /shipped-weights -->"


def update_doc(
    doc: str | os.PathLike[str] = "docs/weights.md",
    weights_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Replace the block between :data:`DOC_START` and :data:`DOC_END` of ``doc`` with
    :func:`manifest_markdown` (``export-weights`` calls it, so the page never goes stale)."""
    path = resolve_path(doc)
    rewrite_block(path, DOC_START, DOC_END, manifest_markdown(weights_dir))
    return path
