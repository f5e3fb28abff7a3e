"""What an analysis needs to know of a trained run folder: model, seed, profile, weights digest.

The analyses of trained models (:mod:`gsfm.analysis.lookalike_shares`,
:func:`gsfm.analysis.feature_spectra.residual_spectra`) take any list of run folders (one per
model and seed) and label their rows from the run's ``config.json``, so that adding seeds is
adding folders.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gsfm.runtime import resolve_path
from gsfm.training.run_folder import provenance

__all__ = ["RunInfo", "code_version", "read_run"]


@dataclass(frozen=True)
class RunInfo:
    """A finished run: its folder, ``label`` ("GSFM", "STCN"), seed, profile, the SHA-256 of
    its weights (the shipped file's for runs written from ``weights/``) and its config."""

    path: Path
    label: str
    seed: int
    profile: str
    weights: str
    config: dict[str, Any]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_run(run: str | os.PathLike[str]) -> RunInfo:
    """The :class:`RunInfo` of a finished run folder (one clear error when it is not one)."""
    path = resolve_path(run)
    ckpt = path / "checkpoints" / "final.pt"
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        label = str(config["model_name"]).upper()
        seed, profile = int(config["train"]["seed"]), str(config["profile"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a finished run folder with a config.json ({e})") from None
    if not ckpt.is_file():
        raise FileNotFoundError(f"checkpoint not found: {ckpt} (is {path} a finished run?)")
    digest = str(config.get("shipped") or _file_sha256(ckpt))
    return RunInfo(path, label, seed, profile, digest, config)


def code_version() -> str:
    """The git commit of the code now running (12 digits, ``+dirty`` with uncommitted changes
    to tracked files), for the provenance column ``code`` of measured rows."""
    prov = provenance(torch.device("cpu"), 0, 1)
    commit = str(prov.get("git_commit") or "unknown")[:12]
    return commit + ("+dirty" if prov.get("git_dirty") else "")
