"""Drawing a scene: :func:`sample_video` turns a numpy ``Generator`` into a :class:`VideoSpec`.

The scene is drawn in a fixed order (background and camera, the target plan, the targets, the
lookalike distractors, the occluders), so a seeded generator gives the same scene every time.
The benchmark is frozen: any change to the order or number of draws here changes its videos.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gsfm.data.synthetic.shapes import perturb, sample_shape
from gsfm.data.synthetic.spec import CASES, ObjectSpec, SynthVersion, VideoSpec
from gsfm.data.synthetic.textures import get_texture, n_textures

__all__ = ["sample_video"]

_KINDS = ("polygon", "blob", "horse", "thin", "ring")


def _u(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    """A uniform draw in ``[lo, hi)``, as a Python float."""
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _motion(
    rng: np.random.Generator,
    v: SynthVersion,
    pos0: tuple[float, float],
    aspect: float,
    fast: float = 1.0,
) -> dict[str, Any]:
    """The motion fields of an :class:`ObjectSpec` (sine paths, rotation, scale and shear)."""
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
    """The look fields of an :class:`ObjectSpec`: texture, its offset and scale, and a tint."""
    tex = int(rng.integers(0, n_textures()))
    src = get_texture(tex)
    return {
        "texture": tex,
        "tex_offset": (float(rng.uniform(0, src.shape[1])), float(rng.uniform(0, src.shape[0]))),
        "tex_scale": float(rng.uniform(0.6, 1.6)),
        "tint": tuple(float(x) for x in rng.uniform(0.7, 1.3, 3)),
    }


def _scene(
    rng: np.random.Generator,
    v: SynthVersion,
    case: str,
    n_frames: int,
    aspect: float,
    name: str,
) -> VideoSpec:
    """The scene without its objects: background texture, camera path, blur and noise."""
    cam_scale = 3.0 if case == "camera" else 1.0
    bg = int(rng.integers(0, n_textures()))
    src = get_texture(bg)
    return VideoSpec(
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


def _target_plan(rng: np.random.Generator, v: SynthVersion, case: str) -> tuple[int, bool, bool]:
    """How many targets, whether the last one starts late and whether one leaves the frame."""
    mixed = case == "mixed"
    n_t = int(rng.integers(v.n_targets[0], v.n_targets[1] + 1))
    late_one = case == "late" or (mixed and rng.random() < 0.5) or rng.random() < v.p_late
    leave_one = case == "leave" or (mixed and rng.random() < 0.5) or rng.random() < v.p_leave
    if late_one or leave_one:
        n_t = max(n_t, 2)
    return n_t, late_one, leave_one


def _target_shape(
    rng: np.random.Generator, v: SynthVersion, case: str, k: int
) -> tuple[str, float, list[str]]:
    """Target ``k``'s shape kind, size and its ``small`` / ``thin`` flags."""
    flags: list[str] = []
    small = (case == "small" and k == 1) or rng.random() < (0.5 if case == "small" else v.p_small)
    thin = case == "thin" or rng.random() < v.p_thin
    if thin:
        kind = str(rng.choice(["thin", "ring", "horse"]))
    else:
        kind = str(rng.choice(_KINDS[:3], p=[0.45, 0.45, 0.1]))
    if small:
        size = _u(rng, v.small_size)
        flags.append("small")
    elif thin:
        size = _u(rng, v.thin_size)
    else:
        size = _u(rng, v.target_size)
    if kind in ("thin", "ring", "horse"):
        flags.append("thin")
    return kind, size, flags


def _leave_motion(
    motion: dict[str, Any], pos0: tuple[float, float], size: float, n_frames: int, aspect: float
) -> dict[str, Any]:
    """The x motion of a leaving target: across the frame, out past the far edge, and back."""
    # x(t) = x0 +- a (1 - cos wt)
    sign = 1.0 if pos0[0] < aspect / 2 else -1.0
    a = 0.55 * (aspect - 0.3 + 0.8 * size)
    om = 2 * math.pi / max(0.85 * n_frames, 4)
    return {
        "amp": ((a, 0.0), motion["amp"][1]),
        "omega": ((om, 1.0), motion["omega"][1]),
        "phase": ((-sign * math.pi / 2, 0.0), motion["phase"][1]),
    }


def _target(
    rng: np.random.Generator,
    v: SynthVersion,
    case: str,
    k: int,
    n_t: int,
    n_frames: int,
    aspect: float,
    late_one: bool,
    leave_one: bool,
) -> ObjectSpec:
    """Target ``k`` of ``n_t`` (label ``k``): shape, size, start frame, position, motion, look."""
    kind, size, flags = _target_shape(rng, v, case, k)
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
        motion.update(_leave_motion(motion, pos0, size, n_frames, aspect))
    look = _look(rng)
    return ObjectSpec(
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


def _lookalike(
    rng: np.random.Generator, v: SynthVersion, tgt: ObjectSpec, aspect: float
) -> ObjectSpec:
    """An unannotated copy of ``tgt``: same texture and tint, perturbed shape, close to it."""
    ang = float(rng.uniform(0, 2 * np.pi))
    dist = tgt.size * float(rng.uniform(0.9, 1.8))
    pos0 = (
        float(np.clip(tgt.pos0[0] + dist * math.cos(ang), 0.05, aspect - 0.05)),
        float(np.clip(tgt.pos0[1] + dist * math.sin(ang), 0.05, 0.95)),
    )
    jitter = tuple(float(c * (1 + rng.normal(0, 0.03))) for c in tgt.tint)
    return ObjectSpec(
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


def _lookalikes(
    rng: np.random.Generator,
    v: SynthVersion,
    case: str,
    targets: list[ObjectSpec],
    aspect: float,
) -> list[ObjectSpec]:
    """The lookalike distractors of a scene, each imitating a target present from frame 0."""
    n_look = int(rng.integers(2, 4)) if case == "lookalike" else int(rng.random() < v.p_lookalike)
    if case == "mixed":
        n_look = max(n_look, 1)
    early = [o for o in targets if "late" not in o.flags]
    out = []
    for i in range(n_look):
        tgt = (
            early[0] if (case == "lookalike" and i < 2) else early[int(rng.integers(0, len(early)))]
        )
        out.append(_lookalike(rng, v, tgt, aspect))
    return out


def _aim_at(
    motion: dict[str, Any], pos0: tuple[float, float], goal: tuple[float, float], mid: float
) -> tuple[float, ...]:
    """The start position that puts an object moving by ``motion`` on ``goal`` at time ``mid``."""
    for axis in range(2):
        a1 = motion["amp"][axis][0]
        om = motion["omega"][axis][0]
        ph = motion["phase"][axis][0]
        disp = a1 * (math.sin(om * mid + ph) - math.sin(ph))
        pos0 = tuple(goal[i] - disp if i == axis else pos0[i] for i in range(2))
    return pos0


def _occluders(
    rng: np.random.Generator,
    v: SynthVersion,
    case: str,
    targets: list[ObjectSpec],
    n_frames: int,
    aspect: float,
) -> list[ObjectSpec]:
    """Unannotated occluders in front of everything, each sweeping across a target mid-video."""
    n_occ = int(rng.integers(1, 3)) if case == "occlusion" else int(rng.random() < v.p_occluder)
    if case == "mixed":
        n_occ = max(n_occ, 1)
    out = []
    for _ in range(n_occ):
        tgt = targets[int(rng.integers(0, len(targets)))]
        pos0 = (float(rng.uniform(0.1, aspect - 0.1)), float(rng.uniform(0.1, 0.9)))
        motion = _motion(rng, v, pos0, aspect, fast=1.5)
        # aim the occluder so it sweeps across its target's start position mid-video
        pos0 = _aim_at(motion, pos0, tgt.pos0, n_frames / 2)
        out.append(
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
    return out


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
    spec = _scene(rng, v, case, n_frames, aspect, name)
    n_t, late_one, leave_one = _target_plan(rng, v, case)
    targets = [
        _target(rng, v, case, k, n_t, n_frames, aspect, late_one, leave_one)
        for k in range(1, n_t + 1)
    ]
    lookalikes = _lookalikes(rng, v, case, targets, aspect)
    occluders = _occluders(rng, v, case, targets, n_frames, aspect)
    spec.objects = sorted(targets + lookalikes + occluders, key=lambda o: o.depth)
    return spec
