"""Canonical object shapes for the synthetic benchmark: binary masks on an ``S x S`` canvas.

Kinds (:data:`SHAPE_KINDS`): ``polygon`` (random star-shaped polygon), ``blob`` (smooth
radial Fourier outline), ``horse`` (scikit-image's horse silhouette, thin legs), ``thin``
(a blob with thin limbs: fine boundaries), ``ring`` (an annulus with a gap: a hole and a thin
band). Each is drawn from a :class:`ShapeParams`, so a lookalike distractor can reuse a
target's parameters with a small perturbation (:func:`perturb`).

Rasterisation uses integer polygon filling (cv2.fillPoly with fixed sub-pixel bits), so the
masks are the same on every machine for the same parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import cv2
import numpy as np

__all__ = ["SHAPE_KINDS", "ShapeParams", "perturb", "render_shape", "sample_shape"]

SHAPE_KINDS: tuple[str, ...] = ("polygon", "blob", "horse", "thin", "ring")
_SHIFT = 4  # sub-pixel bits for cv2 drawing


@dataclass(frozen=True)
class ShapeParams:
    """Everything that fixes one canonical shape."""

    kind: str
    radii: tuple[float, ...] = ()  # polygon vertex radii or blob Fourier amplitudes
    phases: tuple[float, ...] = ()
    limbs: tuple[tuple[float, float, float], ...] = ()  # (angle, length, width) in canvas units
    inner: float = 0.5  # ring: inner radius share
    gap: float = 0.0  # ring: angular gap (radians)
    mirror: bool = False


def sample_shape(kind: str, rng: np.random.Generator) -> ShapeParams:
    """Random parameters of a shape of ``kind``."""
    if kind == "polygon":
        n = int(rng.integers(3, 9))
        return ShapeParams(
            kind,
            radii=tuple(rng.uniform(0.55, 1.0, n).round(4).tolist()),
            phases=tuple(np.sort(rng.uniform(0, 2 * np.pi, n)).round(4).tolist()),
        )
    if kind in ("blob", "thin"):
        k = 5
        amps = rng.uniform(0, 0.22, k) / np.arange(1, k + 1) ** 0.6
        limbs: tuple[tuple[float, float, float], ...] = ()
        if kind == "thin":
            nl = int(rng.integers(2, 5))
            limbs = tuple(
                (
                    round(float(rng.uniform(0, 2 * np.pi)), 4),
                    round(float(rng.uniform(0.35, 0.5)), 4),
                    round(float(rng.uniform(0.03, 0.06)), 4),
                )
                for _ in range(nl)
            )
        return ShapeParams(
            kind,
            radii=tuple(amps.round(4).tolist()),
            phases=tuple(rng.uniform(0, 2 * np.pi, k).round(4).tolist()),
            limbs=limbs,
        )
    if kind == "horse":
        return ShapeParams(kind, mirror=bool(rng.random() < 0.5))
    if kind == "ring":
        return ShapeParams(
            kind,
            inner=round(float(rng.uniform(0.55, 0.75)), 4),
            gap=round(float(rng.uniform(0.15, 1.2)), 4),
        )
    raise ValueError(f"unknown shape kind {kind!r}; choose one of {SHAPE_KINDS}")


def perturb(p: ShapeParams, rng: np.random.Generator, amount: float = 0.08) -> ShapeParams:
    """A similar shape: the same kind with slightly changed parameters (for lookalikes)."""
    radii = tuple(
        float(np.clip(r + rng.normal(0, amount * 0.5), 0.0, 1.0)).__round__(4) for r in p.radii
    )
    phases = tuple(round(float(ph + rng.normal(0, amount)), 4) for ph in p.phases)
    limbs = tuple(
        (round(a + float(rng.normal(0, 0.3)), 4), length, w) for (a, length, w) in p.limbs
    )
    return replace(p, radii=radii, phases=phases, limbs=limbs, mirror=not p.mirror)


def _fill(canvas: np.ndarray, pts: np.ndarray) -> None:
    ipts = np.round(pts * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(canvas, [ipts], 255, lineType=cv2.LINE_8, shift=_SHIFT)


@functools.lru_cache(maxsize=4)
def _horse(size: int) -> np.ndarray:
    # imported here: python -m gsfm --help reads this package; skimage is not needed there
    from skimage import data

    h = (~data.horse()).astype(np.uint8) * 255  # True = background in skimage's horse
    ys, xs = np.nonzero(h)
    h = h[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = 0.92 * size / max(h.shape)
    nh, nw = max(1, round(h.shape[0] * scale)), max(1, round(h.shape[1] * scale))
    small = cv2.resize(h, (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size), np.uint8)
    y0, x0 = (size - nh) // 2, (size - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = np.where(small >= 128, 255, 0)
    return out


def render_shape(p: ShapeParams, size: int = 128) -> np.ndarray:
    """The canonical mask, ``(size, size)`` uint8 in {0, 255}, centred, radius ~ size/2."""
    c = size / 2.0
    r0 = 0.46 * size
    canvas = np.zeros((size, size), np.uint8)
    if p.kind == "polygon":
        ang = np.asarray(p.phases)
        rad = np.asarray(p.radii) * r0
        pts = np.stack([c + rad * np.cos(ang), c + rad * np.sin(ang)], 1)
        _fill(canvas, pts)
    elif p.kind in ("blob", "thin"):
        th = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        k = np.arange(1, len(p.radii) + 1)
        wobble = (
            np.asarray(p.radii)[None] * np.cos(k[None] * th[:, None] + np.asarray(p.phases)[None])
        ).sum(1)
        scale = 0.62 if p.kind == "thin" else 1.0
        rad = r0 * scale * np.clip(1.0 - 0.25 + wobble, 0.35, 1.0)
        _fill(canvas, np.stack([c + rad * np.cos(th), c + rad * np.sin(th)], 1))
        for ang, length, width in p.limbs:
            d = np.array([np.cos(ang), np.sin(ang)])
            n = np.array([-d[1], d[0]])
            a, b = np.array([c, c]), np.array([c, c]) + d * length * 2 * r0
            w = width * size / 2
            _fill(canvas, np.stack([a + n * w, b + n * w * 0.6, b - n * w * 0.6, a - n * w]))
    elif p.kind == "horse":
        canvas = _horse(size).copy()
        if p.mirror:
            canvas = canvas[:, ::-1].copy()
    elif p.kind == "ring":
        th = np.linspace(p.gap / 2, 2 * np.pi - p.gap / 2, 120)
        outer = np.stack([c + r0 * np.cos(th), c + r0 * np.sin(th)], 1)
        inner = np.stack([c + r0 * p.inner * np.cos(th), c + r0 * p.inner * np.sin(th)], 1)
        _fill(canvas, np.concatenate([outer, inner[::-1]]))
    else:
        raise ValueError(f"unknown shape kind {p.kind!r}; choose one of {SHAPE_KINDS}")
    return canvas
