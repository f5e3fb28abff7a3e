"""Textures for the synthetic benchmark: real photographs that scikit-image ships, and
procedural patterns (stripes, checks, smooth noise, dots, gradients).

Both kinds are cached per process: photographs are loaded once and shrunk to at most
:data:`PHOTO_MAX_SIDE` pixels; procedural textures are a bank of :data:`N_PROCEDURAL` images
generated once from fixed seeds. Everything is deterministic (numpy generators, integer
OpenCV resizes), so the same texture id gives the same pixels on every machine with the same
scikit-image data files.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = [
    "N_PROCEDURAL",
    "PHOTO_NAMES",
    "PROCEDURAL_KINDS",
    "get_texture",
    "n_textures",
    "procedural_texture",
]

# scikit-image sample images that ship inside the wheel (no download needed)
PHOTO_NAMES: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "camera",
    "coins",
    "moon",
    "brick",
    "grass",
    "gravel",
    "immunohistochemistry",
    "hubble_deep_field",
    "colorwheel",
    "clock",
    "cell",
    "page",
    "text",
)
PROCEDURAL_KINDS: tuple[str, ...] = ("stripes", "checks", "noise", "dots", "gradient")
N_PROCEDURAL = 40
PHOTO_MAX_SIDE = 384
PROC_SIZE = 256


@functools.cache
def _photo(name: str) -> np.ndarray:
    # imported here: python -m gsfm --help reads this package; skimage is not needed there
    from skimage import data

    img = np.asarray(getattr(data, name)())
    if img.dtype != np.uint8:
        img = (255 * (img.astype(np.float64) / max(float(img.max()), 1e-9))).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3])
    scale = PHOTO_MAX_SIDE / max(img.shape[:2])
    if scale < 1:
        size = (round(img.shape[1] * scale), round(img.shape[0] * scale))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    img.setflags(write=False)
    return img


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(20, 235, 3)


@functools.cache
def procedural_texture(index: int) -> np.ndarray:
    """Procedural texture number ``index`` (``PROC_SIZE`` square, uint8 RGB), cached."""
    rng = np.random.default_rng([7919, int(index)])
    kind = PROCEDURAL_KINDS[index % len(PROCEDURAL_KINDS)]
    s = PROC_SIZE
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64) / s
    c1, c2 = _colour(rng), _colour(rng)
    if kind == "stripes":
        f = rng.uniform(4, 16)
        a = rng.uniform(0, np.pi)
        w = 0.5 + 0.5 * np.sin(2 * np.pi * f * (np.cos(a) * xx + np.sin(a) * yy))
    elif kind == "checks":
        f = int(rng.integers(3, 10))
        w = (((xx * f).astype(int) + (yy * f).astype(int)) % 2).astype(np.float64)
    elif kind == "noise":
        g = int(rng.integers(4, 12))
        low = rng.random((g, g))
        w = cv2.resize(low, (s, s), interpolation=cv2.INTER_CUBIC)
        w = (w - w.min()) / max(w.max() - w.min(), 1e-9)
    elif kind == "dots":
        w = np.zeros((s, s))
        for _ in range(int(rng.integers(15, 40))):
            cx, cy, r = rng.uniform(0, s), rng.uniform(0, s), rng.uniform(4, 18)
            w[(xx * s - cx) ** 2 + (yy * s - cy) ** 2 <= r * r] = 1.0
    else:  # gradient
        a = rng.uniform(0, 2 * np.pi)
        w = np.cos(a) * xx + np.sin(a) * yy
        w = (w - w.min()) / max(w.max() - w.min(), 1e-9)
    img = c1[None, None] * (1 - w[..., None]) + c2[None, None] * w[..., None]
    img += rng.normal(0, 6, img.shape)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def n_textures() -> int:
    """Number of texture ids: photographs first, then procedural textures."""
    return len(PHOTO_NAMES) + N_PROCEDURAL


def get_texture(texture_id: int) -> np.ndarray:
    """Texture ``texture_id``: ``< len(PHOTO_NAMES)`` a photograph, else a procedural one."""
    if not 0 <= texture_id < n_textures():
        raise ValueError(f"texture id {texture_id} out of range 0..{n_textures() - 1}")
    if texture_id < len(PHOTO_NAMES):
        return _photo(PHOTO_NAMES[texture_id])
    return procedural_texture(texture_id - len(PHOTO_NAMES))
