"""Checking a folder of videos before long work reads it: file lists and image headers only.

Training and evaluation read their data lazily (a triplet at a time, a video at a time), so a
missing or corrupt file used to surface only when it was drawn: a training run failed at
iteration 8, or skipped a frame without a word. :func:`check_videos` looks at every video once,
up front, and fast (no pixel is decoded; a header is a few hundred bytes):

* every frame (``.jpg`` / ``.jpeg``) and annotation (``.png``) folder exists and holds files;
* every annotation has its frame (an annotation without one means a frame went missing);
* with ``dense=True`` (training), every frame has its annotation;
* every header can be read, the frames of a video share one size and each annotation has its
  frame's size.

Errors are :class:`gsfm.errors.MissingFileError` / :class:`gsfm.errors.DataError` naming the
file. What the check cannot see without decoding (a JPEG truncated after an intact header)
still fails when the file is read, naming it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gsfm.data.io import image_size, list_frames
from gsfm.errors import DataError, MissingFileError

__all__ = ["check_video", "check_videos"]

FRAME_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg")


def _annotations(ann_dir: Path) -> dict[str, Path]:
    """Stem -> path of the (non-hidden) PNG files of ``ann_dir``."""
    if not ann_dir.is_dir():
        raise MissingFileError(f"annotation folder not found: {ann_dir}", ann_dir)
    return {
        f.stem: f
        for f in sorted(ann_dir.iterdir())
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() == ".png"
    }


def _more(items: Sequence[object]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def check_video(
    image_dir: str | os.PathLike[str],
    ann_dir: str | os.PathLike[str],
    *,
    dense: bool = True,
    headers: bool = True,
) -> tuple[list[str], dict[str, Path]]:
    """Check one video's files (see the module doc); returns its frame stems (sorted) and its
    annotations (stem -> path). ``dense``: every frame needs an annotation; ``headers``: read
    every header (sizes), else only the file lists."""
    image_dir, ann_dir = Path(image_dir), Path(ann_dir)
    frames = list_frames(image_dir, FRAME_EXTENSIONS)
    stems = [Path(f).stem for f in frames]
    anns = _annotations(ann_dir)
    orphans = [s for s in anns if s not in set(stems)]
    if orphans:
        jpg = image_dir / f"{orphans[0]}.jpg"
        raise MissingFileError(
            f"frame missing: {jpg} does not exist but its annotation {anns[orphans[0]]} "
            f"does{_more(orphans)}",
            jpg,
        )
    if dense:
        lacking = [i for i, s in enumerate(stems) if s not in anns]
        if lacking:
            png = ann_dir / f"{stems[lacking[0]]}.png"
            raise MissingFileError(
                f"annotation missing: {png} does not exist but its frame "
                f"{image_dir / frames[lacking[0]]} does{_more(lacking)}",
                png,
            )
    if headers:
        first = image_dir / frames[0]
        size = image_size(first)
        for name, stem in zip(frames, stems, strict=True):
            path = image_dir / name
            h, w = image_size(path)
            if (h, w) != size:
                raise DataError(
                    f"frame {path} is {w}x{h} but frame {first} is {size[1]}x{size[0]}: the "
                    "frames of a video must have one size",
                    path,
                )
            if stem in anns:
                ah, aw = image_size(anns[stem])
                if (ah, aw) != (h, w):
                    raise DataError(
                        f"annotation {anns[stem]} is {aw}x{ah} but its frame {path} is {w}x{h}",
                        anns[stem],
                    )
    return stems, anns


def check_videos(
    image_root: str | os.PathLike[str],
    ann_root: str | os.PathLike[str],
    videos: Sequence[str],
    *,
    dense: bool = True,
    headers: bool = True,
) -> dict[str, list[str]]:
    """:func:`check_video` for each of ``videos`` under the two roots; video -> frame stems."""
    image_root, ann_root = Path(image_root), Path(ann_root)
    return {
        v: check_video(image_root / v, ann_root / v, dense=dense, headers=headers)[0]
        for v in videos
    }
