"""The embedded synthetic VOS benchmark (``synth-v1``): a procedural video generator, a
frozen validation split, a small-object split, a written training split, and an endless
in-memory training stream.

Why: nothing can be downloaded here, yet GSFM and its STCN baseline must be told apart by
measurement. So the videos are small enough for a CPU and hard in the paper's ways:

* lookalike distractors: unannotated objects with the target's texture and a perturbed copy of
  its shape, moving near it (the matching confusion of the paper's Fig. 1);
* small targets (below 1 % and 0.5 % of the frame, for Table 6);
* fine boundaries: thin limbs, rings with a gap, scikit-image's horse silhouette;
* occlusion by depth order (unannotated occluders and other objects pass in front);
* objects first annotated in a later frame (YouTube-VOS style) and objects that leave the
  frame and come back;
* camera pan and zoom, rotation, scale change and shear deformation, noise and blur;
* real photographic textures from scikit-image plus procedural textures (:mod:`.textures`).

Each video of the val split has a primary *case* (one of :data:`CASES`, cycled over videos)
and samples the other factors at base rates. Every factor is recorded per object in the
metadata table written next to the videos (:func:`object_table`).

Versioning: the generator parameters of a version live in one place, :data:`VERSIONS`
(``SynthVersion``). ``v1`` is frozen: its videos must never change; a test hashes the decoded
masks of a val video against a recorded value. Change the generator only by adding ``v2``.

Determinism: video ``i`` of a split is a pure function of ``(version, split, seed, i)``
(numpy ``Generator`` seeded with that tuple; per-frame noise from ``(frame_seed, t)``), so one
video or one frame can be rendered alone. Rendering uses OpenCV's fixed-point ``warpAffine``
on uint8 images, float32 compositing and integer polygon filling. Within one machine two runs
write byte-identical trees (tested). Across machines the decoded pixels are identical given the
same OpenCV / NumPy / scikit-image versions; we cannot promise more for two reasons we do not
control: libm's sin/cos may differ in the last bit between platforms (a rare pixel flip), and
the file bytes depend on the JPEG (libjpeg-turbo) and PNG (zlib) encoders bundled with Pillow.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from gsfm.data.io import atomic_write, image_size, write_image, write_mask
from gsfm.data.shapes import ShapeParams, perturb, render_shape, sample_shape
from gsfm.data.textures import PHOTO_NAMES, get_texture, n_textures
from gsfm.data.transforms import to_chw_uint8
from gsfm.data.triplets import make_sample, pick_objects, sample_triplet_indices

__all__ = [
    "CASES",
    "SPLITS",
    "VERSIONS",
    "ObjectSpec",
    "SynthVersion",
    "SyntheticTrainSet",
    "SyntheticVideo",
    "VideoSpec",
    "describe_split",
    "generate_video",
    "object_table",
    "read_split_record",
    "remove_split",
    "render_frames",
    "sample_video",
    "split_names",
    "split_paths",
    "split_problems",
    "split_settings",
    "write_split",
]

CASES: tuple[str, ...] = (
    "lookalike",
    "small",
    "thin",
    "occlusion",
    "late",
    "camera",
    "leave",
    "mixed",
)
SPLITS: tuple[str, ...] = ("val", "small", "train")
_SPLIT_CODE = {"val": 1, "small": 2, "train": 3, "stream": 4}


@dataclass(frozen=True)
class SynthVersion:
    """Every parameter of one benchmark version (sizes in world units = frame heights)."""

    name: str
    version_seed: int
    height: int = 160  # written splits: frame size (DAVIS-like aspect 16:9)
    width: int = 288
    val_videos: int = 24
    val_frames: int = 24
    small_videos: int = 12
    small_frames: int = 24
    train_videos: int = 120
    train_frames: int = 40
    stream_frames: int = 60  # virtual clip length of the in-memory training stream
    canonical: int = 128  # side of the canonical shape canvas
    n_targets: tuple[int, int] = (1, 3)
    target_size: tuple[float, float] = (0.3, 0.6)
    small_size: tuple[float, float] = (0.08, 0.16)
    thin_size: tuple[float, float] = (0.4, 0.65)
    speed_amp: tuple[float, float] = (0.15, 0.45)
    speed_omega: tuple[float, float] = (0.06, 0.16)
    rot_speed: float = 0.06
    scale_amp: float = 0.18
    shear_amp: float = 0.25
    p_lookalike: float = 0.3  # base rate of a lookalike per video (case "lookalike": 2-3)
    p_occluder: float = 0.3
    p_small: float = 0.15
    p_thin: float = 0.25
    p_late: float = 0.15
    p_leave: float = 0.1
    cam_amp: tuple[float, float] = (0.02, 0.12)  # case "camera": x3
    zoom_amp: tuple[float, float] = (0.0, 0.12)
    noise_sigma: tuple[float, float] = (0.0, 6.0)
    p_blur: float = 0.25
    blur_sigma: tuple[float, float] = (0.4, 1.1)  # pixels at height 160
    first_min_px: int = 12  # pixels at 160 height: a first annotation must be at least this
    first_min_share: float = 0.3  # ... and this share of the object's median visible area
    max_attempts: int = 40


VERSIONS: dict[str, SynthVersion] = {"v1": SynthVersion(name="v1", version_seed=20220701)}


def get_version(version: str) -> SynthVersion:
    """The parameters of benchmark ``version`` (error listing the known ones)."""
    if version not in VERSIONS:
        raise ValueError(
            f"unknown synthetic benchmark version {version!r}; known: {list(VERSIONS)}"
        )
    return VERSIONS[version]


# --- scene description -------------------------------------------------------------------------


@dataclass
class ObjectSpec:
    """One object: role, look and motion (world units; ``t' = t - start``)."""

    label: int  # object id in the annotation; 0 = unannotated (lookalike / occluder)
    role: str  # target | lookalike | occluder
    shape: ShapeParams
    texture: int
    tex_offset: tuple[float, float]
    tex_scale: float
    tint: tuple[float, float, float]
    size: float
    depth: float
    pos0: tuple[float, float]
    amp: tuple[tuple[float, float], tuple[float, float]]  # [axis][component]
    omega: tuple[tuple[float, float], tuple[float, float]]
    phase: tuple[tuple[float, float], tuple[float, float]]
    rot0: float
    rot_speed: float
    scale_amp: float
    scale_omega: float
    scale_phase: float
    shear_amp: float
    shear_omega: float
    shear_phase: float
    start: int = 0
    imitates: int = 0  # lookalike: the label of the target it copies
    flags: tuple[str, ...] = ()


@dataclass
class VideoSpec:
    """A whole video: background, camera path, objects (back to front) and frame noise."""

    name: str
    case: str
    n_frames: int
    aspect: float
    background: int
    bg_scale: float
    bg_offset: tuple[float, float]
    bg_tint: tuple[float, float, float]
    cam_amp: tuple[float, float, float]  # x, y, zoom
    cam_omega: tuple[float, float, float]
    cam_phase: tuple[float, float, float]
    noise_sigma: float
    blur_sigma: float
    frame_seed: int
    objects: list[ObjectSpec] = field(default_factory=list)


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _motion(
    rng: np.random.Generator,
    v: SynthVersion,
    pos0: tuple[float, float],
    aspect: float,
    fast: float = 1.0,
) -> dict[str, Any]:
    amp, omega, phase = [], [], []
    bounds = (aspect, 1.0)
    for axis in range(2):
        room = min(pos0[axis], bounds[axis] - pos0[axis])  # keep the centre in the frame
        a1 = min(_u(rng, v.speed_amp) * fast, max(room, 0.05) / 2.6)
        a2 = 0.25 * a1
        amp.append((a1, a2))
        omega.append((_u(rng, v.speed_omega), 2.3 * _u(rng, v.speed_omega)))
        phase.append((float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))))
    return {
        "amp": tuple(amp),
        "omega": tuple(omega),
        "phase": tuple(phase),
        "rot0": float(rng.uniform(0, 2 * np.pi)),
        "rot_speed": float(rng.uniform(-v.rot_speed, v.rot_speed)),
        "scale_amp": float(rng.uniform(0, v.scale_amp)),
        "scale_omega": _u(rng, v.speed_omega),
        "scale_phase": float(rng.uniform(0, 2 * np.pi)),
        "shear_amp": float(rng.uniform(0, v.shear_amp)),
        "shear_omega": _u(rng, v.speed_omega),
        "shear_phase": float(rng.uniform(0, 2 * np.pi)),
    }


def _look(rng: np.random.Generator) -> dict[str, Any]:
    tex = int(rng.integers(0, n_textures()))
    src = get_texture(tex)
    return {
        "texture": tex,
        "tex_offset": (float(rng.uniform(0, src.shape[1])), float(rng.uniform(0, src.shape[0]))),
        "tex_scale": float(rng.uniform(0.6, 1.6)),
        "tint": tuple(float(x) for x in rng.uniform(0.7, 1.3, 3)),
    }


def sample_video(
    rng: np.random.Generator,
    version: SynthVersion,
    case: str,
    n_frames: int,
    aspect: float,
    name: str = "video",
) -> VideoSpec:
    """Draw one scene of ``case`` (see :data:`CASES`) from ``rng``."""
    v = version
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}; choose one of {CASES}")
    mixed = case == "mixed"
    cam_scale = 3.0 if case == "camera" else 1.0
    bg = int(rng.integers(0, n_textures()))
    src = get_texture(bg)
    spec = VideoSpec(
        name=name,
        case=case,
        n_frames=n_frames,
        aspect=aspect,
        background=bg,
        bg_scale=float((aspect + 1.6) / src.shape[1] * rng.uniform(1.0, 1.6)),
        bg_offset=(float(rng.uniform(-1.0, -0.6)), float(rng.uniform(-1.0, -0.6))),
        bg_tint=tuple(float(x) for x in rng.uniform(0.75, 1.25, 3)),
        cam_amp=(
            _u(rng, v.cam_amp) * cam_scale,
            _u(rng, v.cam_amp) * cam_scale * 0.5,
            _u(rng, v.zoom_amp) * cam_scale,
        ),
        cam_omega=tuple(_u(rng, v.speed_omega) for _ in range(3)),
        cam_phase=tuple(float(rng.uniform(0, 2 * np.pi)) for _ in range(3)),
        noise_sigma=_u(rng, v.noise_sigma),
        blur_sigma=_u(rng, v.blur_sigma) if rng.random() < v.p_blur else 0.0,
        frame_seed=int(rng.integers(0, 2**31)),
    )
    n_t = int(rng.integers(v.n_targets[0], v.n_targets[1] + 1))
    kinds = ("polygon", "blob", "horse", "thin", "ring")
    objs: list[ObjectSpec] = []
    late_one = case == "late" or (mixed and rng.random() < 0.5) or rng.random() < v.p_late
    leave_one = case == "leave" or (mixed and rng.random() < 0.5) or rng.random() < v.p_leave
    if late_one or leave_one:
        n_t = max(n_t, 2)
    for k in range(1, n_t + 1):
        flags: list[str] = []
        small = (case == "small" and k == 1) or rng.random() < (
            0.5 if case == "small" else v.p_small
        )
        thin = case == "thin" or rng.random() < v.p_thin
        if thin:
            kind = str(rng.choice(["thin", "ring", "horse"]))
        else:
            kind = str(rng.choice(kinds[:3], p=[0.45, 0.45, 0.1]))
        if small:
            size = _u(rng, v.small_size)
            flags.append("small")
        elif thin:
            size = _u(rng, v.thin_size)
        else:
            size = _u(rng, v.target_size)
        if kind in ("thin", "ring", "horse"):
            flags.append("thin")
        start = 0
        pos0 = (float(rng.uniform(0.2, aspect - 0.2)), float(rng.uniform(0.2, 0.8)))
        fast = 1.0
        if late_one and k == n_t:
            start = int(rng.integers(n_frames // 5, max(n_frames // 2, n_frames // 5 + 1)))
            flags.append("late")
        if leave_one and k == 1 + (n_t > 1):
            # oscillate along x far enough to leave the frame and come back
            pos0 = (float(rng.choice([0.15, aspect - 0.15])), pos0[1])
            flags.append("leave")
        motion = _motion(rng, v, pos0, aspect, fast)
        if "leave" in flags:
            # x(t) = x0 +- a (1 - cos wt): across the frame, out past the far edge, and back
            sign = 1.0 if pos0[0] < aspect / 2 else -1.0
            a = 0.55 * (aspect - 0.3 + 0.8 * size)
            om = 2 * math.pi / max(0.85 * n_frames, 4)
            motion["amp"] = ((a, 0.0), motion["amp"][1])
            motion["omega"] = ((om, 1.0), motion["omega"][1])
            motion["phase"] = ((-sign * math.pi / 2, 0.0), motion["phase"][1])
        look = _look(rng)
        objs.append(
            ObjectSpec(
                label=k,
                role="target",
                shape=sample_shape(kind, rng),
                size=size,
                depth=float(rng.uniform(0, 1)),
                pos0=pos0,
                start=start,
                flags=tuple(flags),
                **look,
                **motion,
            )
        )
    # lookalike distractors: same texture and tint, perturbed shape, close to their target
    n_look = int(rng.integers(2, 4)) if case == "lookalike" else int(rng.random() < v.p_lookalike)
    if mixed:
        n_look = max(n_look, 1)
    targets = [o for o in objs if "late" not in o.flags]
    for i in range(n_look):
        tgt = (
            targets[0]
            if (case == "lookalike" and i < 2)
            else targets[int(rng.integers(0, len(targets)))]
        )
        ang = float(rng.uniform(0, 2 * np.pi))
        dist = tgt.size * float(rng.uniform(0.9, 1.8))
        pos0 = (
            float(np.clip(tgt.pos0[0] + dist * math.cos(ang), 0.05, aspect - 0.05)),
            float(np.clip(tgt.pos0[1] + dist * math.sin(ang), 0.05, 0.95)),
        )
        jitter = tuple(float(c * (1 + rng.normal(0, 0.03))) for c in tgt.tint)
        objs.append(
            ObjectSpec(
                label=0,
                role="lookalike",
                shape=perturb(tgt.shape, rng),
                texture=tgt.texture,
                tex_offset=(
                    tgt.tex_offset[0] + float(rng.normal(0, 8)),
                    tgt.tex_offset[1] + float(rng.normal(0, 8)),
                ),
                tex_scale=tgt.tex_scale,
                tint=jitter,
                size=tgt.size * float(rng.uniform(0.85, 1.15)),
                depth=float(rng.uniform(0, 1)),
                pos0=pos0,
                imitates=tgt.label,
                **_motion(rng, v, pos0, aspect),
            )
        )
    n_occ = int(rng.integers(1, 3)) if case == "occlusion" else int(rng.random() < v.p_occluder)
    if mixed:
        n_occ = max(n_occ, 1)
    for _ in range(n_occ):
        tgt = objs[int(rng.integers(0, n_t))]
        pos0 = (float(rng.uniform(0.1, aspect - 0.1)), float(rng.uniform(0.1, 0.9)))
        motion = _motion(rng, v, pos0, aspect, fast=1.5)
        # aim the occluder so it sweeps across its target's start position mid-video
        mid = n_frames / 2
        for axis in range(2):
            a1 = motion["amp"][axis][0]
            om = motion["omega"][axis][0]
            ph = motion["phase"][axis][0]
            disp = a1 * (math.sin(om * mid + ph) - math.sin(ph))
            pos0 = tuple(tgt.pos0[i] - disp if i == axis else pos0[i] for i in range(2))
        objs.append(
            ObjectSpec(
                label=0,
                role="occluder",
                shape=sample_shape(str(rng.choice(["polygon", "blob"])), rng),
                size=float(rng.uniform(0.3, 0.5)),
                depth=2.0 + float(rng.uniform(0, 1)),
                pos0=pos0,
                **_look(rng),
                **motion,
            )
        )
    spec.objects = sorted(objs, key=lambda o: o.depth)
    return spec


# --- rendering ---------------------------------------------------------------------------------


def _position(o: ObjectSpec, t: float) -> tuple[float, float]:
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
    def __init__(self, canonical: int) -> None:
        self.canonical = canonical
        self._masks: dict[int, np.ndarray] = {}

    def get(self, i: int, o: ObjectSpec) -> np.ndarray:
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


# --- whole videos -----------------------------------------------------------------------------


@dataclass
class SyntheticVideo:
    """A generated video: frames, annotations (first-annotation rule applied) and metadata."""

    spec: VideoSpec
    images: np.ndarray  # (T, H, W, 3) uint8
    masks: np.ndarray  # (T, H, W) uint8 object ids
    objects: list[dict[str, Any]]  # one metadata row per annotated object


def _annotate(
    spec: VideoSpec, labels: np.ndarray, full: np.ndarray, v: SynthVersion
) -> tuple[np.ndarray, list[dict[str, Any]]] | None:
    """Apply the first-annotation rule and build metadata; None if the video is unusable."""
    t_all, h, w = labels.shape
    min_px = max(4, round(v.first_min_px * (h / 160.0) ** 2))
    masks = labels.copy()
    rows: list[dict[str, Any]] = []
    for oi, o in enumerate(spec.objects):
        if o.role != "target":
            continue
        area = (labels == o.label).reshape(t_all, -1).sum(1)
        nz = area[area > 0]
        if nz.size == 0:
            return None
        thresh = max(min_px, v.first_min_share * float(np.median(nz)))
        ok = np.nonzero(area >= thresh)[0]
        if ok.size == 0:
            return None
        first = int(ok[0])
        if first > t_all - 4:
            return None  # too late to be evaluated on a few frames
        masks[:first][masks[:first] == o.label] = 0
        area = (masks == o.label).reshape(t_all, -1).sum(1)
        after = area[first + 1 : t_all - 1]
        if np.count_nonzero(after) < 2:
            return None
        vis = area[area > 0]
        share = vis / float(h * w)
        occl = [1.0 - area[t] / full[t, oi] for t in range(first, t_all) if full[t, oi] > 0]
        rows.append(
            {
                "video": spec.name,
                "object_id": o.label,
                "case": spec.case,
                "shape": o.shape.kind,
                "texture": (
                    PHOTO_NAMES[o.texture]
                    if o.texture < len(PHOTO_NAMES)
                    else f"procedural_{o.texture - len(PHOTO_NAMES)}"
                ),
                "first_frame": first,
                "n_frames": t_all,
                "lookalikes": sum(
                    1 for x in spec.objects if x.role == "lookalike" and x.imitates == o.label
                ),
                "mean_area_share": float(share.mean()),
                "min_area_share": float(share.min()),
                "small": bool(share.mean() < 0.01),
                "tiny": bool(share.mean() < 0.005),
                "thin": o.shape.kind in ("thin", "ring", "horse"),
                "late": first > 0,
                "leaves": bool(np.any(area[first:] == 0)),
                "max_occlusion": float(max(occl)) if occl else 0.0,
                "area_per_frame": ";".join(str(int(a)) for a in area),
            }
        )
    if not rows or rows[0]["object_id"] != 1 or rows[0]["first_frame"] != 0:
        return None
    return masks, rows


def _video_rng(
    v: SynthVersion, split: str, seed: int, index: int, attempt: int
) -> np.random.Generator:
    return np.random.default_rng(
        [v.version_seed, _SPLIT_CODE[split], int(seed), int(index), attempt]
    )


def split_names(split: str, version: str = "v1") -> list[str]:
    """The video names of ``split`` (``<split>_<index>_<case>``)."""
    v = get_version(version)
    n = _split_size(v, split)[0]
    return [_video_name(v, split, i) for i in range(n)]


def _split_size(v: SynthVersion, split: str) -> tuple[int, int]:
    if split == "val":
        return v.val_videos, v.val_frames
    if split == "small":
        return v.small_videos, v.small_frames
    if split == "train":
        return v.train_videos, v.train_frames
    raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


def _case_of(v: SynthVersion, split: str, index: int) -> str:
    if split == "small":
        return "small"
    if split == "val":
        return CASES[index % len(CASES)]
    return CASES[(index * 5 + 3) % len(CASES)]


def _video_name(v: SynthVersion, split: str, index: int) -> str:
    return f"{split}_{index:03d}_{_case_of(v, split, index)}"


def generate_video(
    split: str = "val",
    index: int = 0,
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
) -> SyntheticVideo:
    """Generate video ``index`` of ``split`` (deterministic in all arguments).

    ``height``/``width`` default to the version's size; the ``paper`` profile may ask for
    e.g. 480x854 (the scene is the same, rendered at a higher resolution, but the first
    annotation rule is re-applied at that size).
    """
    v = get_version(version)
    n_videos, n_frames = _split_size(v, split)
    if not 0 <= index < n_videos:
        raise ValueError(
            f"video index {index} out of range for split {split!r} (0..{n_videos - 1})"
        )
    h = int(height or v.height)
    w = int(width or v.width)
    if h < 16 or w < 16:
        raise ValueError(f"frame size {h}x{w} is too small (at least 16x16)")
    case = _case_of(v, split, index)
    name = _video_name(v, split, index)
    for attempt in range(v.max_attempts):
        rng = _video_rng(v, split, seed, index, attempt)
        spec = sample_video(rng, v, case, n_frames, v.width / v.height, name)
        images, labels, full = render_frames(spec, range(n_frames), h, w, v.canonical)
        res = _annotate(spec, labels, full, v)
        if res is not None:
            return SyntheticVideo(spec, images, res[0], res[1])
    raise RuntimeError(f"could not generate a valid video {name} in {v.max_attempts} attempts")


def object_table(videos: Sequence[SyntheticVideo]) -> pd.DataFrame:
    """Per-object metadata of ``videos`` (the table written as ``objects_<split>.csv``)."""
    return pd.DataFrame([row for vid in videos for row in vid.objects])


def split_identity(
    version: str, split: str, seed: int, height: int, width: int, videos: Sequence[str]
) -> dict[str, Any]:
    """What identifies a written split: the keys of ``synth_<split>.json`` a reuse check compares."""
    return {
        "benchmark": f"synth-{version}",
        "split": split,
        "seed": seed,
        "height": height,
        "width": width,
        "videos": list(videos),
    }


def write_split(
    out: str | os.PathLike[str],
    split: str = "val",
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> Path:
    """Write ``split`` in the DAVIS layout under ``out`` and return ``out``.

    Writes ``JPEGImages/<H>p/<video>/00000.jpg``, ``Annotations/<H>p/<video>/00000.png``,
    ``ImageSets/synth-<version>/<split>.txt``, ``objects_<split>.csv`` (per-object metadata)
    and ``synth_<split>.json`` (version, seed, size and the generator parameters). Each video
    is written into a hidden temporary folder and renamed into place when complete.
    ``limit`` writes only the first videos (for quick looks and tests). Files of the same
    names are replaced and nothing else in ``out`` is looked at: callers decide whether ``out``
    may be written (``python -m gsfm synth`` refuses a folder holding anything else, see
    :func:`split_problems`).
    """
    wanted = split_settings(split, version, seed, height, width, limit)  # checks the arguments
    v = get_version(version)
    n_videos, h, w = len(wanted["videos"]), wanted["height"], wanted["width"]
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ValueError(f"output path {root} exists and is not a folder")
    res = f"{h}p"
    tables: list[pd.DataFrame] = []
    names: list[str] = []
    iterator = range(n_videos)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc=f"synth-{version} {split}", unit="video")
    for i in iterator:
        vid = generate_video(split, i, version, seed, h, w)
        names.append(vid.spec.name)
        for kind, suffix in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
            final = root / kind / res / vid.spec.name
            tmp = root / kind / res / f".{vid.spec.name}.tmp"
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            for t in range(len(vid.images)):
                if kind == "JPEGImages":
                    write_image(tmp / f"{t:05d}{suffix}", vid.images[t])
                else:
                    write_mask(tmp / f"{t:05d}{suffix}", vid.masks[t])
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        tables.append(object_table([vid]))
    sets = root / "ImageSets" / f"synth-{version}" / f"{split}.txt"
    atomic_write(sets, lambda p: Path(p).write_text("".join(f"{n}\n" for n in names)))
    table = pd.concat(tables, ignore_index=True)
    atomic_write(root / f"objects_{split}.csv", lambda p: table.to_csv(p, index=False))
    meta = {**split_identity(version, split, seed, h, w, names), "parameters": asdict(v)}
    atomic_write(
        root / f"synth_{split}.json",
        lambda p: Path(p).write_text(json.dumps(meta, indent=1) + "\n"),
    )
    return root


# --- checking a written split ------------------------------------------------------------------


def split_settings(
    split: str = "val",
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The :func:`split_identity` that :func:`write_split` with these arguments records."""
    v = get_version(version)
    names = split_names(split, version)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        names = names[: int(limit)]
    return split_identity(
        version, split, seed, int(height or v.height), int(width or v.width), names
    )


def describe_split(identity: dict[str, Any]) -> str:
    """``synth-v1 val (seed 0, 160x288, 24 videos)`` for a split identity or a saved record."""
    n = len(identity.get("videos") or [])
    return (
        f"{identity.get('benchmark')} {identity.get('split')} (seed {identity.get('seed')}, "
        f"{identity.get('height')}x{identity.get('width')}, {n} video{'s' if n != 1 else ''})"
    )


def read_split_record(root: str | os.PathLike[str], split: str) -> dict[str, Any] | None:
    """The ``synth_<split>.json`` that :func:`write_split` left in ``root``; ``None`` if there is
    none or it cannot be read (not JSON, not an object)."""
    try:
        saved = json.loads((Path(root) / f"synth_{split}.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return saved if isinstance(saved, dict) else None


def _safe_name(name: Any) -> bool:
    """A video name from a record that may be joined to a path (no separators, not hidden)."""
    return isinstance(name, str) and bool(name) and name == Path(name).name and name[0] != "."


def split_paths(root: str | os.PathLike[str], identity: dict[str, Any]) -> list[Path]:
    """Every path :func:`write_split` writes for ``identity`` (a split identity or a record):
    the video folders under ``JPEGImages/<H>p`` and ``Annotations/<H>p``, the ImageSets list,
    ``objects_<split>.csv`` and ``synth_<split>.json``. Names that are not plain file names are
    skipped, so a tampered record never points outside ``root``."""
    root = Path(root)
    split, height = identity.get("split"), identity.get("height")
    if not _safe_name(split) or not isinstance(height, int):
        return []
    res = f"{height}p"
    videos = [v for v in identity.get("videos") or [] if _safe_name(v)]
    paths = [root / kind / res / v for v in videos for kind in ("JPEGImages", "Annotations")]
    if _safe_name(identity.get("benchmark")):
        paths.append(root / "ImageSets" / str(identity["benchmark"]) / f"{split}.txt")
    paths += [root / f"objects_{split}.csv", root / f"synth_{split}.json"]
    return paths


def remove_split(
    root: str | os.PathLike[str], record: dict[str, Any], keep: Sequence[Path] = ()
) -> list[Path]:
    """Delete what ``record`` (a split's saved ``synth_<split>.json``) says :func:`write_split`
    wrote into ``root``, except the paths in ``keep``; then remove the folders this leaves
    empty. Returns the deleted paths. Nothing outside :func:`split_paths` is touched."""
    root = Path(root)
    kept = {Path(k) for k in keep}
    removed: list[Path] = []
    parents: set[Path] = set()
    for path in split_paths(root, record):
        if path in kept or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
        parents.update(p for p in path.parents if root in p.parents)
    for folder in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def split_problems(root: str | os.PathLike[str], identity: dict[str, Any]) -> list[str]:
    """What keeps ``root`` from holding the split ``identity`` (see :func:`split_settings`),
    complete and intact; an empty list when it does.

    Checked: ``synth_<split>.json`` records the same identity; the ImageSets list names the
    split's videos; ``objects_<split>.csv`` exists; every video has every frame (JPEG) and
    annotation (PNG), each readable and of the recorded size. Paths in the messages are
    relative to ``root``.
    """
    root = Path(root)
    split = identity["split"]
    record = read_split_record(root, split)
    meta = f"synth_{split}.json"
    if record is None:
        exists = (root / meta).exists()
        return [f"{meta} {'cannot be read' if exists else 'is missing'}"]
    problems = []
    for key, value in identity.items():
        saved = record.get(key)
        if saved == value:
            continue
        if key == "videos" and isinstance(saved, list):
            problems.append(f"{meta} records {len(saved)} videos, not {len(value)}")
        else:
            problems.append(f"{meta} records {key} {saved!r}, not {value!r}")
    if problems:  # another split: its files are not ours to check
        return problems
    sets = root / "ImageSets" / str(identity["benchmark"]) / f"{split}.txt"
    if not sets.is_file():
        problems.append(f"{sets.relative_to(root)} is missing")
    elif sets.read_text(encoding="utf-8").split() != list(identity["videos"]):
        problems.append(f"{sets.relative_to(root)} does not list the split's videos")
    if not (root / f"objects_{split}.csv").is_file():
        problems.append(f"objects_{split}.csv is missing")
    version = str(identity["benchmark"]).removeprefix("synth-")
    n_frames = _split_size(get_version(version), split)[1]
    h, w = int(identity["height"]), int(identity["width"])
    for video in identity["videos"]:
        for kind, ext in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
            folder = root / kind / f"{h}p" / video
            rel = folder.relative_to(root)
            if not folder.is_dir():
                problems.append(f"{rel}/ is missing")
                continue
            for t in range(n_frames):
                name = f"{t:05d}{ext}"
                try:
                    size = image_size(folder / name)
                except FileNotFoundError:
                    problems.append(f"{rel}/{name} is missing")
                    continue
                except ValueError:
                    problems.append(f"{rel}/{name} is not a readable image")
                    continue
                if size != (h, w):
                    problems.append(f"{rel}/{name} is {size[1]}x{size[0]}, not {w}x{h}")
    return problems


# --- the in-memory training stream --------------------------------------------------------------


class SyntheticTrainSet(Dataset):
    """Endless-style training triplets generated in memory (no disk I/O).

    Map-style with a fixed ``length``; sample ``i`` is a pure function of
    ``(version, seed, epoch, i, max_skip)``. Each sample draws a fresh scene (case drawn at
    random, ``stream_frames`` virtual frames), picks 3 frame indices with the authors' rule and
    :meth:`set_max_skip`'s skip (the frame distance inside the generated clip), renders only
    those frames at ``crop_size`` and samples the target / second object from the first frame
    of the triplet (up to ``retries`` tries, then an empty target). Unannotated lookalikes and
    occluders are background. Returns the sample dict of :func:`gsfm.data.triplets.make_sample`.
    """

    def __init__(
        self,
        version: str = "v1",
        crop_size: int | tuple[int, int] = 128,
        length: int = 100_000,
        seed: int = 0,
        max_skip: int = 5,
        max_objects: int = 2,
        retries: int = 5,
    ) -> None:
        self.version = get_version(version)
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        self.height, self.width = int(crop_size[0]), int(crop_size[1])
        if self.height < 16 or self.width < 16:
            raise ValueError(f"crop size {crop_size} is too small (at least 16x16)")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.length = int(length)
        self.seed = int(seed)
        self.max_objects = int(max_objects)
        self.retries = int(retries)
        self.epoch = 0
        self.max_skip = 5
        self.set_max_skip(max_skip)

    def set_max_skip(self, n: int) -> None:
        """Set the max frame distance between sampled frames (the curriculum's skip)."""
        if n < 1:
            raise ValueError(f"max_skip must be >= 1, got {n}")
        self.max_skip = int(n)

    def set_epoch(self, epoch: int) -> None:
        """Mix ``epoch`` into the per-sample seeds."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        v = self.version
        rng = np.random.default_rng(
            [
                v.version_seed,
                _SPLIT_CODE["stream"],
                self.seed,
                self.epoch,
                int(index),
                self.max_skip,
            ]
        )
        case = CASES[int(rng.integers(0, len(CASES)))]
        spec = sample_video(
            rng, v, case, v.stream_frames, self.width / self.height, f"stream_{index:07d}"
        )
        cache = _ShapeCache(v.canonical)
        target = second = None
        for _ in range(self.retries):
            idx = sample_triplet_indices(v.stream_frames, self.max_skip, rng)
            images, labels, _ = render_frames(
                spec, idx, self.height, self.width, v.canonical, cache
            )
            target, second = pick_objects(labels[0], rng, self.max_objects)
            if target is not None:
                break
        frames = to_chw_uint8(images)
        return make_sample(
            frames, torch.from_numpy(labels), target, second, spec.name, [f"{i:05d}" for i in idx]
        )
