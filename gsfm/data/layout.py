"""Where frames and annotations live in the DAVIS and YouTube-VOS folder layouts.

* DAVIS (and folders written by ``gsfm synth``)::

      ROOT/JPEGImages/<res>/<video>/00000.jpg
      ROOT/Annotations/<res>/<video>/00000.png
      ROOT/ImageSets/<year>/<split>.txt

* YouTube-VOS (``train_480p``, ``valid``)::

      ROOT/JPEGImages/<video>/<frame>.jpg
      ROOT/Annotations/<video>/<frame>.png
      ROOT/meta.json            (valid / test only)

:func:`resolve_layout` finds the image and annotation roots for either.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from gsfm.data.io import IMAGE_EXTENSIONS
from gsfm.errors import DataError, MissingFileError

__all__ = ["data_fingerprint", "list_videos", "read_split_file", "resolve_layout", "row_data_hash"]


def _is_resolution_folder(folder: Path) -> bool:
    """True when ``folder`` is a DAVIS ``<res>`` folder, not a video: its name is a resolution
    (``480p``, ``1080p``, ``Full-Resolution``) and it holds no frames directly (stray files such
    as ``.DS_Store`` or ``list.txt`` do not count)."""
    if not (folder.name.endswith("p") or folder.name == "Full-Resolution"):
        return False
    return not any(
        c.is_file() and not c.name.startswith(".") and c.suffix.lower() in IMAGE_EXTENSIONS
        for c in folder.iterdir()
    )


def resolve_layout(root: str | os.PathLike[str], res: str | None = None) -> tuple[Path, Path]:
    """``(image_root, annotation_root)``: the folders that hold one sub-folder per video.

    ``res`` picks ``JPEGImages/<res>`` (DAVIS); ``None`` auto-detects: ``480p`` if present,
    else the only resolution folder (``Full-Resolution``, ``1080p``, ...), else the flat
    YouTube-VOS layout. ``root`` must hold an ``Annotations`` folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"data folder not found: {root}", root)
    img, ann = root / "JPEGImages", root / "Annotations"
    if not ann.is_dir():
        raise MissingFileError(f"no Annotations folder in {root} (expected {ann})", ann)
    if res is not None:
        if not (ann / res).is_dir():
            raise MissingFileError(f"resolution folder not found: {ann / res}", ann / res)
        return img / res, ann / res
    if (ann / "480p").is_dir():
        return img / "480p", ann / "480p"
    subs = sorted(c for c in ann.iterdir() if c.is_dir() and not c.name.startswith("."))
    if len(subs) == 1 and _is_resolution_folder(subs[0]):
        return img / subs[0].name, ann / subs[0].name
    return img, ann


def list_videos(folder: str | os.PathLike[str]) -> list[str]:
    """Sorted names of the video sub-folders of ``folder`` (error if missing or empty)."""
    p = Path(folder)
    if not p.is_dir():
        raise MissingFileError(f"folder not found: {p}", p)
    names = sorted(c.name for c in p.iterdir() if c.is_dir() and not c.name.startswith("."))
    if not names:
        raise DataError(f"folder {p} holds no video folders", p)
    return names


def read_split_file(path: str | os.PathLike[str]) -> list[str]:
    """Video names from an ImageSets file, one per line.

    Also reads the DAVIS 2016 form whose lines are ``/JPEGImages/480p/<video>/00000.jpg ...``
    (the video names are collected in order of first appearance).
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"split file not found: {p}", p)
    names: list[str] = []
    seen: set[str] = set()
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"split file {p} is not a text file (not UTF-8)", p) from None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        first = line.split()[0]
        name = Path(first).parent.name if "/" in first else first
        if name not in seen:
            seen.add(name)
            names.append(name)
    if not names:
        raise DataError(f"split file {p} lists no videos", p)
    return names


def data_fingerprint(
    root: Path, videos: Sequence[str] | None = None, res: str | None = None
) -> str:
    """SHA-256 over the names and bytes of every frame and annotation of ``videos`` (default:
    every video folder of the annotations, the set a split is scored on)."""
    img_root, ann_root = resolve_layout(root, res)
    if videos is None:
        videos = list_videos(ann_root)
    h = hashlib.sha256()
    for video in videos:
        for folder in (img_root / video, ann_root / video):
            if not folder.is_dir():
                raise FileNotFoundError(f"video folder not found: {folder}")
            for f in sorted(folder.iterdir()):
                if f.is_file() and not f.name.startswith("."):
                    h.update(f"{folder.parent.name}/{video}/{f.name}\0".encode())
                    h.update(f.read_bytes())
    return h.hexdigest()


def row_data_hash(fingerprint: str) -> str:
    """A :func:`data_fingerprint` as result rows record it (``data_hash``: its first 16 hex
    digits): one width for the writers and for the checks that compare rows with a split."""
    return fingerprint[:16]
