"""Reading and writing frames and annotations in the DAVIS / YouTube-VOS formats.

* Frames are RGB JPEGs; :func:`read_image` returns ``(H, W, 3) uint8``.
* Annotations are palette ("P") PNGs whose pixel values are object ids (0 = background);
  :func:`read_mask` returns ``(H, W) uint8`` ids. Grayscale ("L") id maps are accepted too
  (DAVIS 2016 stores binary 0/255 masks that way). An RGB(A) annotation is an error: its
  colours are not ids, and guessing them back from a palette hides mistakes.
* Writers are atomic (:func:`gsfm.files.atomic_write`: a temporary file in the target folder,
  then a rename), so an interrupted run never leaves a half-written PNG or JPEG behind.

Every error names the file and the problem: :class:`gsfm.errors.MissingFileError` (a
``FileNotFoundError``) or :class:`gsfm.errors.DataError` (a ``ValueError``), both
:class:`gsfm.errors.GsfmError` carrying the ``path``; no Pillow or NumPy exception escapes,
including ``DecompressionBombError`` for a header that claims a gigantic image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gsfm.errors import DataError, MissingFileError
from gsfm.files import atomic_write

__all__ = [
    "DAVIS_PALETTE",
    "IMAGE_EXTENSIONS",
    "check_same_size",
    "describe_folder",
    "image_size",
    "list_frames",
    "read_image",
    "read_mask",
    "write_image",
    "write_mask",
]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png")
JPEG_QUALITY = 90  # fixed so that written trees are reproducible


def _make_palette(n: int = 256) -> np.ndarray:
    """The DAVIS / PASCAL VOC colour map: the bits of the index are spread over R, G, B.

    Bit ``3k`` of the index goes to bit ``7-k`` of red, bit ``3k+1`` to green and bit
    ``3k+2`` to blue (k = 0..2), so 1 -> (128, 0, 0), 2 -> (0, 128, 0), 3 -> (128, 128, 0).
    """
    idx = np.arange(n, dtype=np.int64)
    pal = np.zeros((n, 3), dtype=np.int64)
    for k in range(8):
        for ch in range(3):
            bit = (idx >> (3 * k + ch)) & 1
            pal[:, ch] |= bit << (7 - k)
    return pal.astype(np.uint8)


DAVIS_PALETTE: np.ndarray = _make_palette()
DAVIS_PALETTE.setflags(write=False)


# what Pillow raises on a damaged file: truncated data, bad checksums, unknown formats, and
# (rarely, on a damaged header) a value or struct error from its parsers
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


def _open(path: str | os.PathLike[str], what: str) -> Image.Image:
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"{what} not found: {p}", p)
    try:
        img = Image.open(p)
        img.load()
    except Image.DecompressionBombError as exc:  # a damaged header or a huge image
        raise DataError(f"cannot read {what} {p}: {exc}", p) from exc
    except _DECODE_ERRORS as exc:
        raise DataError(f"cannot read {what} {p}: corrupt or not an image ({exc})", p) from exc
    return img


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a frame as ``(H, W, 3) uint8`` RGB (grayscale and RGBA are converted)."""
    img = _open(path, "image")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img, dtype=np.uint8).copy()


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """``(H, W)`` of an image file, read from its header only."""
    p = Path(path)
    if not p.is_file():
        raise MissingFileError(f"image not found: {p}", p)
    try:
        with Image.open(p) as img:
            w, h = img.size
    except Image.DecompressionBombError as exc:
        raise DataError(f"cannot read image {p}: {exc}", p) from exc
    except _DECODE_ERRORS as exc:
        raise DataError(f"cannot read image {p}: corrupt or not an image ({exc})", p) from exc
    return h, w


def read_mask(path: str | os.PathLike[str], what: str = "annotation") -> np.ndarray:
    """Read an annotation as ``(H, W) uint8`` object ids.

    Accepts palette ("P") PNGs (the values are the ids, the palette is ignored) and
    grayscale ("L", "1", "I;16", "I") id maps. RGB/RGBA annotations raise ``ValueError``.
    ``what`` names the file in errors ("annotation", "prediction").
    """
    img = _open(path, what)
    if img.mode in ("P", "L"):
        arr = np.asarray(img)
    elif img.mode == "1":
        arr = np.asarray(img).astype(np.uint8)
    elif img.mode in ("I;16", "I", "I;16B", "I;16L"):
        arr = np.asarray(img)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise DataError(f"{what} {path} has ids outside 0..255 (mode {img.mode})", path)
    else:
        raise DataError(
            f"{what} {path} is a {img.mode} image; expected a palette ('P') PNG of object "
            "ids (or a grayscale id map)",
            path,
        )
    return np.asarray(arr, dtype=np.uint8).copy()


def check_same_size(
    array: np.ndarray,
    path: str | os.PathLike[str],
    size: tuple[int, int],
    reference: str | os.PathLike[str],
    what: str = "annotation",
    relation: str = "its frame",
) -> None:
    """Raise one clear error when ``array`` (read from ``path``) is not ``size`` = (H, W).

    The message names both files, e.g. "annotation A.png is 64x48 but its frame A.jpg is 80x60".
    """
    if tuple(array.shape[:2]) != tuple(size):
        raise DataError(
            f"{what} {path} is {array.shape[1]}x{array.shape[0]} but {relation} {reference} is "
            f"{size[1]}x{size[0]}",
            path,
        )


def describe_folder(path: str | os.PathLike[str], limit: int = 3) -> str | None:
    """``None`` for a missing path or an empty folder, else what it holds in a few words:
    ``"2 entries: a.txt, b/"`` (folders end in ``/``; at most ``limit`` names, then ``...``).
    A path that is a file is described as ``"a file"``. For refusing to write into a folder
    that already holds something."""
    p = Path(path)
    if not p.exists():
        return None
    if not p.is_dir():
        return "a file"
    names = sorted(c.name + ("/" if c.is_dir() else "") for c in p.iterdir())
    if not names:
        return None
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    return f"{len(names)} entr{'y' if len(names) == 1 else 'ies'}: {shown}"


def write_mask(
    path: str | os.PathLike[str], mask: np.ndarray, palette: np.ndarray | None = DAVIS_PALETTE
) -> None:
    """Write ``(H, W)`` integer object ids as a palette PNG (atomically, parents created).

    ``palette=None`` writes a grayscale ("L") PNG instead (DAVIS 2016 style).
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask for {path} must be 2-D (H, W), got shape {arr.shape}")
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError(f"mask for {path} has ids outside 0..255")
        arr = arr.astype(np.uint8)
    if palette is None:
        img = Image.fromarray(arr, mode="L")
    else:
        pal = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
        img = Image.fromarray(arr, mode="P")
        img.putpalette(pal.ravel().tolist())
    atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def write_image(
    path: str | os.PathLike[str], image: np.ndarray, quality: int = JPEG_QUALITY
) -> None:
    """Write ``(H, W, 3) uint8`` RGB atomically: JPEG (fixed quality, 4:2:0) or PNG by suffix."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"image for {path} must be (H, W, 3) uint8, got {arr.shape} {arr.dtype}")
    img = Image.fromarray(arr, mode="RGB")
    suffix = Path(path).suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        atomic_write(
            path,
            lambda tmp: img.save(
                tmp, format="JPEG", quality=quality, subsampling=2, optimize=False
            ),
        )
    elif suffix == ".png":
        atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    else:
        raise ValueError(f"unsupported image suffix for {path} (use .jpg or .png)")


def list_frames(
    folder: str | os.PathLike[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS
) -> list[str]:
    """Sorted file names in ``folder`` with one of ``extensions`` (hidden files skipped).

    Raises ``FileNotFoundError`` for a missing folder, ``ValueError`` for an empty one and for
    two files with one stem (``00000.jpg`` and ``00000.jpeg``: which one is the frame?).
    """
    p = Path(folder)
    if not p.is_dir():
        raise MissingFileError(f"folder not found: {p}", p)
    names = sorted(
        f.name
        for f in p.iterdir()
        if f.is_file() and not f.name.startswith(".") and f.suffix.lower() in extensions
    )
    if not names:
        raise DataError(f"folder {p} holds no frames ({', '.join(extensions)})", p)
    stems: dict[str, str] = {}
    for n in names:
        other = stems.setdefault(Path(n).stem, n)
        if other != n:
            raise DataError(f"folder {p} holds two frames named {Path(n).stem}: {other}, {n}", p)
    return names
