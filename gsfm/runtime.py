"""Small runtime helpers shared by the CLI, the notebooks and the benchmarks.

Where the project lives (so that relative paths in notebook parameters mean the same thing
whether a notebook is run from the repository root, from ``notebooks/`` or by papermill),
which device to use, and deterministic seeding.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where used: light callers (the CLI's parser) need paths only
    import torch

__all__ = [
    "device_label",
    "device_name",
    "device_type",
    "figures_dir",
    "project_root",
    "resolve_device",
    "resolve_path",
    "seed_everything",
]


def project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding gsfm's pyproject.toml.

    Falls back to ``start`` itself when gsfm is used outside its repository.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and 'name = "gsfm"' in pyproject.read_text(encoding="utf-8"):
            return folder
    return here


def resolve_path(path: str | Path, root: str | Path | None = None) -> Path:
    """``path`` if absolute, else relative to :func:`project_root`."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root(root) / p


def figures_dir(path: str | Path = "figures", subdir: str = "") -> Path:
    """The folder figures are written to (created if missing), resolved like :func:`resolve_path`.

    ``subdir`` (a profile's own folder, e.g. ``gpu``) is added below ``path`` unless ``path``
    already ends with it (``python -m gsfm notebooks --profile gpu`` passes ``figures/gpu``)."""
    out = resolve_path(path)
    if subdir and out.name != subdir:
        out = out / subdir
    out.mkdir(parents=True, exist_ok=True)
    return out


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; anything else is checked and returned."""
    import torch  # here: `python -m gsfm --help` imports this module, not torch

    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def device_label(device: str | torch.device, threads: int | None = None) -> str:
    """The one device label of run provenance, results tables and figures:
    ``cuda:0 (<GPU name>)`` on CUDA; on the CPU ``cpu, N thread(s)`` with ``threads``, else
    ``cpu`` (a run's provenance records its threads apart). :func:`device_type` reads it back."""
    import torch  # here: `python -m gsfm --help` imports this module, not torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    if threads:
        return f"{dev.type}, {threads} thread{'s' if threads != 1 else ''}"
    return dev.type


def device_type(label: str) -> str:
    """``"cpu"`` or ``"cuda"`` from a :func:`device_label` (as results tables hold it)."""
    return "cpu" if str(label).startswith("cpu") else "cuda"


def device_name(device: str | torch.device = "auto") -> str:
    """The :func:`device_label` of ``device`` as this process uses it (with its torch threads
    on the CPU), for figure captions."""
    import torch  # here: `python -m gsfm --help` imports this module, not torch

    return device_label(resolve_device(device), torch.get_num_threads())


def fast_cuda_kernels(device: str | torch.device) -> None:
    """On CUDA, let cuDNN pick the fastest convolution algorithms for the shapes it sees
    (``cudnn.benchmark``) and run float32 matmuls and convolutions on TF32 tensor cores; no-op
    elsewhere. Training and inference on a GPU call it; CPU results are untouched."""
    import torch  # here: `python -m gsfm --help` imports this module, not torch

    if torch.device(device).type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for a reproducible run."""
    import torch  # here: `python -m gsfm --help` imports this module, not torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
