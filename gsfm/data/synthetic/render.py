"""Rendering a scene: :func:`render_frames` turns a :class:`VideoSpec` into frames and labels.

Geometry is a chain of 2x3 affines (canonical shape canvas -> world -> frame); drawing uses
OpenCV's fixed-point ``warpAffine`` on uint8 images and float32 compositing, back to front.
Per-frame noise is seeded by ``(frame_seed, t)``, so any frame can be rendered alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from gsfm.data.synthetic.shapes import render_shape
from gsfm.data.synthetic.spec import ObjectSpec, VideoSpec
from gsfm.data.synthetic.textures import get_texture

__all__ = ["render_frames"]


def _position(o: ObjectSpec, t: float) -> tuple[float, float]:
    """World position of object ``o``'s centre at local time ``t``."""
    out = []
    for axis in range(2):
        p = o.pos0[axis]
        for a, om, ph in zip(o.amp[axis], o.omega[axis], o.phase[axis], strict=True):
            p += a * (math.sin(om * t + ph) - math.sin(ph))
        out.append(p)
    return out[0], out[1]


def _object_matrix(o: ObjectSpec, t: float, canonical: int) -> np.ndarray:
    """World-from-canonical 2x3 affine of object ``o`` at local time ``t``."""
    s = (
        o.size
        / canonical
        * (
            1
            + o.scale_amp * (math.sin(o.scale_omega * t + o.scale_phase) - math.sin(o.scale_phase))
        )
    )
    th = o.rot0 + o.rot_speed * t
    sh = o.shear_amp * math.sin(o.shear_omega * t + o.shear_phase)
    rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    lin = rot @ np.array([[1.0, sh], [0.0, 1.0]]) * s
    px, py = _position(o, t)
    c = canonical / 2.0
    off = np.array([px, py]) - lin @ np.array([c, c])
    return np.concatenate([lin, off[:, None]], 1)


def _camera_matrix(spec: VideoSpec, t: float, height: int) -> np.ndarray:
    """Frame-from-world 2x3 affine at frame ``t`` (pan + zoom around the frame centre)."""
    a, om, ph = spec.cam_amp, spec.cam_omega, spec.cam_phase
    cx = spec.aspect / 2 + a[0] * (math.sin(om[0] * t + ph[0]) - math.sin(ph[0]))
    cy = 0.5 + a[1] * (math.sin(om[1] * t + ph[1]) - math.sin(ph[1]))
    z = 1.0 + a[2] * (math.sin(om[2] * t + ph[2]) - math.sin(ph[2]))
    z = max(z, 0.5)
    k = height * z
    return np.array(
        [[k, 0.0, height * (spec.aspect / 2) - k * cx], [0.0, k, height * 0.5 - k * cy]]
    )


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """2x3 affine of ``a`` after ``b``."""
    return np.concatenate([a[:, :2] @ b[:, :2], (a[:, :2] @ b[:, 2] + a[:, 2])[:, None]], 1)


class _ShapeCache:
    """The canonical masks of a scene's objects, rendered once (keyed by object index)."""

    def __init__(self, canonical: int) -> None:
        self.canonical = canonical
        self._masks: dict[int, np.ndarray] = {}

    def get(self, i: int, o: ObjectSpec) -> np.ndarray:
        """The ``canonical``-sided uint8 mask of object ``o`` (index ``i`` in its scene)."""
        if i not in self._masks:
            self._masks[i] = render_shape(o.shape, self.canonical)
        return self._masks[i]


def render_frames(
    spec: VideoSpec,
    frames: Sequence[int],
    height: int,
    width: int,
    canonical: int = 128,
    shape_cache: _ShapeCache | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render ``frames`` of ``spec`` at ``height x width``.

    Returns ``images (N, H, W, 3) uint8``, ``labels (N, H, W) uint8`` (visible target ids; every
    visible target pixel, before any first-annotation rule) and ``full (N, n_objects) int64``:
    each object's unoccluded in-frame area (to measure occlusion).
    """
    cache = shape_cache or _ShapeCache(canonical)
    n = len(frames)
    images = np.empty((n, height, width, 3), np.uint8)
    labels = np.zeros((n, height, width), np.uint8)
    full = np.zeros((n, len(spec.objects)), np.int64)
    bg_src = get_texture(spec.background)
    bg_world = np.array(
        [[spec.bg_scale, 0.0, spec.bg_offset[0]], [0.0, spec.bg_scale, spec.bg_offset[1]]]
    )
    px_scale = height / 160.0
    for fi, t in enumerate(frames):
        cam = _camera_matrix(spec, float(t), height)
        bg = cv2.warpAffine(
            bg_src,
            _compose(cam, bg_world),
            (width, height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        img = bg.astype(np.float32) * np.asarray(spec.bg_tint, np.float32)
        lab = labels[fi]
        for oi, o in enumerate(spec.objects):
            if t < o.start:
                continue
            m_obj = _compose(cam, _object_matrix(o, float(t - o.start), canonical))
            c = float(canonical)
            corners = m_obj[:, :2] @ np.array([[0, c, 0, c], [0, 0, c, c]]) + m_obj[:, 2:]
            x0 = max(int(math.floor(corners[0].min())) - 1, 0)
            y0 = max(int(math.floor(corners[1].min())) - 1, 0)
            x1 = min(int(math.ceil(corners[0].max())) + 2, width)
            y1 = min(int(math.ceil(corners[1].max())) + 2, height)
            if x1 <= x0 or y1 <= y0:
                continue
            shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
            m_box = _compose(shift, m_obj)
            size = (x1 - x0, y1 - y0)
            alpha = cv2.warpAffine(
                cache.get(oi, o),
                m_box,
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
            )
            tex_src = get_texture(o.texture)
            tex_from = np.array(
                [
                    [o.tex_scale, 0.0, -o.tex_scale * o.tex_offset[0]],
                    [0.0, o.tex_scale, -o.tex_scale * o.tex_offset[1]],
                ]
            )
            tex = cv2.warpAffine(
                tex_src,
                _compose(m_box, tex_from),
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            a = (alpha.astype(np.float32) / 255.0)[..., None]
            region = img[y0:y1, x0:x1]
            region *= 1.0 - a
            region += tex.astype(np.float32) * np.asarray(o.tint, np.float32) * a
            inside = alpha >= 128
            full[fi, oi] = int(np.count_nonzero(inside))
            lab[y0:y1, x0:x1][inside] = o.label
        if spec.blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), spec.blur_sigma * px_scale)
        if spec.noise_sigma > 0:
            rng = np.random.default_rng([spec.frame_seed, int(t)])
            img += rng.normal(0.0, spec.noise_sigma, img.shape).astype(np.float32)
        images[fi] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return images, labels, full
