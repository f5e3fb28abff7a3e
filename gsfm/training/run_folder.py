"""The run folder: ``config.json``, ``log.csv`` and ``checkpoints/{latest,final}.pt``.

Layout of ``runs/NAME/``:

* ``config.json``: the resolved model and training configuration, the data, and provenance
  (git commit, library versions, device, seed, number of processes, command line, resumes);
* ``log.csv``: one row every ``log_every`` iterations (see :data:`LOG_COLUMNS`);
* ``checkpoints/latest.pt``: overwritten atomically every ``checkpoint_every`` iterations, and
  ``checkpoints/final.pt`` when the run completes.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from gsfm import __version__
from gsfm.data.io import describe_folder
from gsfm.errors import DataError, MissingFileError
from gsfm.files import atomic_write_json, atomic_write_text
from gsfm.runtime import project_root

__all__ = ["LOG_COLUMNS", "RunFolder", "provenance"]

LOG_COLUMNS: tuple[str, ...] = (
    "iteration",  # optimizer steps completed
    "epoch",
    "total",  # the loss that is minimised (CE + boundary weight x boundary, frames 1 and 2)
    "ce",
    "boundary",
    "iou",
    "p",  # bootstrapped-CE top-p fraction (mean over the interval, like the losses)
    "lr",
    "max_skip",
    "time_s",  # wall time since the run started (resumes included)
    "samples_per_s",  # over the last logging interval, all processes together
)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def provenance(device: torch.device, seed: int, world_size: int) -> dict[str, Any]:
    """Where and with what a run was made (for config.json)."""
    root = project_root(Path(__file__).parent)
    commit = _git("rev-parse", "HEAD", cwd=root)
    dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=root)
    dev = str(device)
    if device.type == "cuda":
        dev += f" ({torch.cuda.get_device_name(device)})"
    return {
        "gsfm_version": __version__,
        "git_commit": commit,
        "git_dirty": None if dirty is None else bool(dirty),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": dev,
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "seed": seed,
        "world_size": world_size,
        "command": sys.argv,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


class RunFolder:
    """Paths and file operations of one training run (only rank 0 calls the writers)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.csv"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoint_dir / "latest.pt"

    @property
    def final(self) -> Path:
        return self.checkpoint_dir / "final.pt"

    def has_run(self) -> bool:
        """Whether a run already wrote here (config, log or a checkpoint)."""
        return self.config_path.exists() or self.log_path.exists() or self.latest.exists()

    def check_new(self) -> None:
        """Raise ``FileExistsError`` (one line) unless a new run may start here: the folder
        must not exist or be empty. A folder with an earlier run is pointed to ``--resume``;
        one with anything else is refused, so that a run never mixes with unrelated files."""
        if self.path.exists() and not self.path.is_dir():
            raise FileExistsError(f"run folder {self.path} exists and is not a folder")
        if self.latest.exists():
            raise FileExistsError(
                f"run folder {self.path} already holds a run; use --resume to continue it or "
                "choose another --out"
            )
        contents = describe_folder(self.path)
        if contents is None:
            return
        try:
            ours = isinstance(self.read_config().get("train"), dict)
        except (FileNotFoundError, ValueError, AttributeError):
            ours = False
        if ours:
            raise FileExistsError(
                f"run folder {self.path} already holds a run that stopped before its first "
                "checkpoint, so it cannot be resumed; choose another --out (or delete that run)"
            )
        raise FileExistsError(
            f"run folder {self.path} is not empty and holds no gsfm run ({contents}); a new "
            "run needs a new or empty --out"
        )

    def write_config(self, config: Mapping[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """config.json as a dict; a missing, unreadable or non-object file is one
        :class:`~gsfm.errors.GsfmError` naming it."""
        path = self.config_path
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MissingFileError(f"no config.json in run folder {self.path}", path) from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise DataError(f"{path} is not valid JSON: {exc}", path) from None
        if not isinstance(config, dict):
            raise DataError(f"{path} holds a {type(config).__name__}, not a JSON object", path)
        return config

    def append_log(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append rows to log.csv (writing the header first if the file is new)."""
        if not rows:
            return
        new = not self.log_path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def truncate_log(self, iteration: int) -> None:
        """Drop log rows after ``iteration`` (written after the checkpoint a resume starts from)."""
        if not self.log_path.exists():
            return
        with self.log_path.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if int(r["iteration"]) <= iteration]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self.log_path, buf.getvalue())

    def read_log(self) -> Any:
        """log.csv as a pandas DataFrame."""
        return pd.read_csv(self.log_path)
