"""File utilities every layer uses: atomic writes and the one safe ``torch.load``.

* :func:`atomic_write` calls ``write(tmp)`` on a temporary file in the target folder, then
  renames it onto the target with :func:`os.replace`. Readers never see a half-written file,
  and a crash or an exception leaves the previous version (or nothing) in place.
  :func:`atomic_write_text` and :func:`atomic_write_json` are the two common cases, and
  :func:`atomic_save` writes a ``torch.save`` payload.
* :func:`atomic_folder` does the same for a whole folder (a prediction folder, an evaluation,
  one video of a data set): it is built in a hidden temporary sibling and swapped in at the end.
* :func:`read_torch_file` is the one place where the package calls ``torch.load`` on a file,
  always with ``weights_only=True``: checkpoints, training checkpoints, ``--init`` weights and
  backbone weight files. A corrupt, truncated, empty or foreign file becomes one
  :class:`CheckpointError` line naming the file, never PyTorch's advice to load it unsafely.
* :func:`read_csv_table` reads a results table; an unreadable file, a missing column or an
  incomplete row (a truncated file) is one ``ValueError`` naming the file.
* A write that fails because the disk is full (``ENOSPC``) raises :class:`DiskFullError`, one
  line naming the file; the previous version of the file stays in place.
* :func:`exclusive` holds a lock file (a run folder's, a results table's) for one process.

This module imports nothing else from ``gsfm`` but :mod:`gsfm.errors`: it sits at the bottom of
the layers.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import pickle
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from gsfm.errors import GsfmError, MissingFileError

if TYPE_CHECKING:  # torch is imported where it is used: light modules (the CLI) read files too
    import torch

__all__ = [
    "CHECKPOINT_KINDS",
    "Busy",
    "CheckpointError",
    "DiskFullError",
    "atomic_folder",
    "atomic_save",
    "atomic_write",
    "atomic_write_json",
    "atomic_write_text",
    "exclusive",
    "read_csv_table",
    "read_torch_file",
]

CHECKPOINT_KINDS = "a gsfm or authors' (STCN/GSFM) checkpoint"


class CheckpointError(GsfmError, ValueError):
    """A checkpoint that cannot be read or does not fit the model."""


class DiskFullError(OSError):
    """A write failed because the disk is full (``ENOSPC``); the message names the file."""


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it onto ``path``.

    Parent folders are created. The file gets mode 0644 (``mkstemp`` creates 0600; what the
    package writes is meant to be shared). Returns ``path``. A full disk raises
    :class:`DiskFullError` naming ``path``; the earlier ``path``, if any, is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC and not isinstance(exc, DiskFullError):
            kept = "the previous version is kept" if path.exists() else "nothing was written"
            raise DiskFullError(
                errno.ENOSPC,
                f"the disk is full (ENOSPC) while writing {path}: {kept}; free some space on "
                f"{path.parent} and run the command again",
            ) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _check_complete_rows(path: Path, text: str, what: str) -> None:
    """One ``ValueError`` naming ``path`` unless ``text`` is a header and complete rows: every
    row has the header's number of fields and the file ends with a newline (a truncated file
    ends inside its last row)."""
    if not text.strip():
        raise ValueError(f"{path}: not a readable {what} (the file is empty)")
    if not text.endswith("\n"):
        raise ValueError(
            f"{path}: the last row is incomplete (the file does not end with a newline: "
            f"truncated?); {what}s are written whole, so this one was cut or edited"
        )
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise ValueError(f"{path}: not a readable {what} ({err})") from None
    width = len(rows[0])
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != width:
            raise ValueError(
                f"{path}: line {number} has {len(row)} field(s) where the header has {width} "
                "(an incomplete or damaged row)"
            )


def read_csv_table(
    path: str | os.PathLike[str],
    columns: Sequence[str] = (),
    what: str = "CSV table",
    **read_csv: Any,
) -> pd.DataFrame:
    """``pandas.read_csv(path, **read_csv)``. A file that is no readable table (bad CSV, empty,
    not UTF-8, an incomplete row: :func:`_check_complete_rows`) or lacks one of ``columns`` is
    one ``ValueError`` naming it."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a readable {what} (not UTF-8 text)") from None
    _check_complete_rows(path, text, what)
    try:
        table = pd.read_csv(io.StringIO(text), **read_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path}: not a readable {what} ({reason})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}")
    return table


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


class Busy(RuntimeError):
    """Another process holds the lock that :func:`exclusive` was told not to wait for."""


@contextmanager
def exclusive(lock: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on the file ``lock`` while the block runs, so that processes of
    one machine take turns (the ranks of a ``torchrun`` writing a split; two ``ablate`` runs
    updating one results table; two ``train`` into one run folder). With ``wait=False`` a lock
    held elsewhere raises :class:`Busy` at once instead. The operating system drops the lock
    when its process dies, so a killed process leaves none behind. A process that already
    holds ``lock`` enters again (the ablation runner locks a run folder, then trains it). No
    lock where ``fcntl`` does not exist (one writer is assumed there)."""
    try:
        import fcntl  # here: the module exists on POSIX only
    except ImportError:  # not POSIX
        yield
        return
    key = str(lock.resolve())
    if key in _HELD:  # this process holds it already
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Busy(f"{lock} is held by another process") from None
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


_HELD: set[str] = set()  # the lock files this process holds (exclusive() enters them again)


def atomic_save(path: str | os.PathLike[str], payload: Any) -> Path:
    """``torch.save(payload)`` to ``path`` atomically (checkpoints). The payload goes through a
    file object of ours, so that a full disk is Python's ``OSError(ENOSPC)`` (then
    :class:`DiskFullError`) rather than PyTorch's own writer's message, which names no disk."""
    # imported here: the CLI's parser imports this module; torch is slow to load
    import torch

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, write)


@contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a hidden temporary folder next to ``path``; when the block ends, swap it into place.

    An earlier ``path`` is moved aside first and deleted only after the swap. If the block
    raises, the temporary folder is removed, the earlier ``path`` (if any) stays as it was, and
    parent folders this call created are removed again: nothing half-written is left behind.
    """
    path = Path(path)
    created = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    old: Path | None = None
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp creates 0700; what the package writes is meant to be shared
        if path.exists():
            old = tmp.with_name(tmp.name.removesuffix(".tmp") + ".old")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not path.exists():
            os.replace(old, path)  # put the earlier folder back
        for folder in created:  # innermost first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _unreadable_reason(path: Path, exc: BaseException) -> str:
    """Why ``torch.load(path, weights_only=True)`` failed, in a few words of our own."""
    if path.stat().st_size == 0:
        return "the file is empty"
    if isinstance(exc, pickle.UnpicklingError) and "Unsupported global" in str(exc):
        return (
            "it stores Python objects other than tensors, numbers, strings and containers, "
            "which the safe (weights-only) loader refuses"
        )
    if zipfile.is_zipfile(path):
        return "a damaged PyTorch archive"
    return "not a PyTorch file, or a truncated one"


def read_torch_file(
    path: str | os.PathLike[str],
    *,
    what: str = "checkpoint",
    expected: str = CHECKPOINT_KINDS,
    map_location: str | torch.device = "cpu",
) -> Any:
    """``torch.load(path, weights_only=True)`` with one clear error: the package's only loader.

    ``what`` names the file in messages ("checkpoint", "backbone weights", ...) and
    ``expected`` says what it should have been. A missing file raises ``FileNotFoundError``
    (``"<what> not found: <path>"``); an unreadable one (empty, truncated, random bytes, or a
    pickle of arbitrary Python objects) raises :class:`CheckpointError`, one line:
    ``"cannot read <what> <path>: not <expected>, or corrupt (<reason>)"``. The content is
    returned as it is; callers check that it is what they need.
    """
    # imported here: the CLI's parser imports this module; torch is slow to load
    import torch

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{what} not found: {path}", path)
    try:
        with warnings.catch_warnings():  # e.g. a pickle-protocol warning on foreign files
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types here; none of their text is kept
        reason = _unreadable_reason(path, exc)
        raise CheckpointError(
            f"cannot read {what} {path}: not {expected}, or corrupt ({reason})", path
        ) from None
