"""What the benchmark is: its versions and their frozen parameters, its splits and cases, and
the dataclasses that describe one sampled scene (:class:`VideoSpec`, :class:`ObjectSpec`).

This module draws nothing and renders nothing; every other module of the package reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gsfm.data.synthetic.shapes import ShapeParams

__all__ = [
    "CASES",
    "KEY_CELL",
    "SPLITS",
    "VERSIONS",
    "ObjectSpec",
    "SynthVersion",
    "VideoSpec",
    "get_version",
    "split_names",
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
    # the splits this version has (a scoring-only version has one)
    splits: tuple[str, ...] = SPLITS
    # object rule of the annotation step (the defaults apply none): every target's visible
    # area, from its first annotation on, at least this many stride-16 key-feature cells
    # (16x16 pixels of the rendered frame each) ...
    min_key_cells: float = 0.0
    # ... and its mean visible share of the frame inside [low, high)
    area_share: tuple[float, float] = (0.0, 1.0)


KEY_CELL = 16  # pixels per side of one key-feature cell (the key encoder's stride)

VERSIONS: dict[str, SynthVersion] = {
    "v1": SynthVersion(name="v1", version_seed=20220701),
    # small-v1: a scoring-only split of small objects for Table 6 (``synth-small-v1 small``):
    # 100 videos of 10 frames at 240x432, where one key cell is 0.247 % of the frame. Every
    # target stays at least one key cell large in every frame from its first annotation on and
    # covers 0.1-5 % of the frame on average (so 0.247-5 % in practice); it never leaves the
    # frame, nor is it occluded below one cell. Frozen like v1.
    "small-v1": SynthVersion(
        name="small-v1",
        version_seed=20260601,
        height=240,
        width=432,
        small_videos=100,
        small_frames=10,
        splits=("small",),
        target_size=(0.2, 0.45),
        small_size=(0.11, 0.2),
        thin_size=(0.3, 0.5),
        p_small=0.4,
        p_thin=0.2,
        p_occluder=0.15,
        p_late=0.0,
        p_leave=0.0,
        min_key_cells=1.0,
        area_share=(0.001, 0.05),
    ),
    # val96-v1: a scoring-only val split of 96 videos drawn exactly as v1's val (every
    # generator parameter v1's, cases cycled the same way, 12 videos per case) from its own
    # seed, so that a trained pair of runs can be compared on four times v1's 24 videos: more
    # videos shrink the video and seed × video parts of a paired difference, which seeds
    # otherwise pay for. Frozen like v1.
    "val96-v1": SynthVersion(
        name="val96-v1",
        version_seed=20261206,
        val_videos=96,
        splits=("val",),
    ),
}


def get_version(version: str) -> SynthVersion:
    """The parameters of benchmark ``version`` (error listing the known ones)."""
    if version not in VERSIONS:
        raise ValueError(
            f"unknown synthetic benchmark version {version!r}; known: {list(VERSIONS)}"
        )
    return VERSIONS[version]


# --- split layout: sizes, cases and names of the videos of a split ------------------------------


def split_names(split: str, version: str = "v1") -> list[str]:
    """The video names of ``split`` (``<split>_<index>_<case>``)."""
    v = get_version(version)
    n = _split_size(v, split)[0]
    return [_video_name(v, split, i) for i in range(n)]


def _split_size(v: SynthVersion, split: str) -> tuple[int, int]:
    """``(number of videos, frames per video)`` of ``split`` in version ``v``."""
    if split in SPLITS and split not in v.splits:
        raise ValueError(f"synth-{v.name} has no {split!r} split; it has {', '.join(v.splits)}")
    if split == "val":
        return v.val_videos, v.val_frames
    if split == "small":
        return v.small_videos, v.small_frames
    if split == "train":
        return v.train_videos, v.train_frames
    raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


def _case_of(v: SynthVersion, split: str, index: int) -> str:
    """The primary case (one of :data:`CASES`) of video ``index`` of ``split``."""
    if split == "small":
        return "small"
    if split == "val":
        return CASES[index % len(CASES)]
    return CASES[(index * 5 + 3) % len(CASES)]


def _video_name(v: SynthVersion, split: str, index: int) -> str:
    """The name of video ``index`` of ``split`` (``<split>_<index>_<case>``)."""
    return f"{split}_{index:03d}_{_case_of(v, split, index)}"


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
