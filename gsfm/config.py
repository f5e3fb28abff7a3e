"""Model and training configuration, and the four profiles (the one place that defines them).

Everything that depends on the profile is here: the network (:func:`model_config`), the
training stages (:func:`train_config`) and the notebook / evaluation sizes
(:func:`profile_sizes`). Profiles:

* ``smoke``: any CPU, seconds; tiny sizes and a few iterations; proves every code path runs.
* ``cpu``: a laptop or the 2-core machine; small backbones and crops; really learns the
  synthetic benchmark in minutes.
* ``gpu``: one CUDA GPU, minutes: the paper's network (ResNet-50 key / ResNet-18 value encoders
  from ImageNet weights, frozen BatchNorm) trained briefly on 160² crops of the pre-rendered
  synthetic train split, AMP; each model in at most about 5 minutes on an H200-class GPU.
* ``paper``: a CUDA GPU; ResNet-50 key / ResNet-18 value encoders from ImageNet weights, 384²
  crops, the paper's iterations, batch, lr, warm-up and AMP (``docs/paper_vs_code.md`` §4,
  stage 3).

:func:`auto_profile` picks ``gpu`` when CUDA is present and ``cpu`` otherwise (notebook 04's
``profile="auto"``).

Model names: ``"gsfm"`` (LFM + details-aware decoder with HFM and boundary branch) and
``"stcn"`` (the baseline: the same network with LFM, HFM and the boundary branch switched off,
plain convs in the key encoder, STCN's inference defaults). Use :func:`model_config` and
:func:`train_config`; override any field with keyword arguments.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from gsfm.runtime import resolve_device

PROFILE_NAMES: tuple[str, ...] = ("smoke", "cpu", "gpu", "paper")
ENCODER_INITS: tuple[str, ...] = ("random", "imagenet")
START_MODES: tuple[str, ...] = ("own", "shared")  # TrainConfig.start
MODEL_NAMES: tuple[str, ...] = ("gsfm", "stcn")
LFM_BANDS: tuple[str, ...] = ("low", "high", "all", "attention", "off")
HFM_BANDS: tuple[str, ...] = ("high", "low", "all", "off")
AFFINITIES: tuple[str, ...] = ("l2", "dot")


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the network's architecture and its inference defaults.

    ``name`` labels the variant ("gsfm", "stcn", or an ablation's own name); evaluation tables
    and figures read it instead of guessing the variant from the switches.
    """

    name: str = "gsfm"
    key_encoder: str = "resnet50"  # torchvision ResNet name, used up to layer3
    value_encoder: str = "resnet18"
    key_encoder_weights: str | None = None  # optional local torchvision weight file
    value_encoder_weights: str | None = None
    key_conv_bias: bool = True  # GSFM's mod_resnet: zero-init trainable conv biases
    # BatchNorm in eval mode during training, as the authors (ImageNet-initialised encoders).
    # From random weights (no download here) frozen BN is an identity and training is slow,
    # so the cpu profile lets BN learn its statistics.
    freeze_bn: bool = True
    key_dim: int = 64
    value_dim: int = 512  # memory value channels (also key_comp's output)
    decoder_dim: int = 256  # decoder width at 1/8 and 1/4 (1/16 compress: 2x this)
    lfm: str = "low"  # low | high | all | attention | off
    hfm: str = "high"  # high | low | all | off
    boundary: bool = True  # details-aware decoder with the boundary branch
    sigma: float = 7.0
    sigma_mode: str = "bins"  # bins | relative (see gsfm.spectral.sigma_in_bins)
    spectral_convs: int = 2  # 2: authors' code; 1: paper's Fig. 4
    spectral_fast: bool = False  # rfft2 variant (not the authors' numerics)
    affinity: str = "l2"  # l2 (STCN/GSFM) | dot (STM)
    top_k: int | None = 50  # inference top-k; None = full softmax
    mem_every: int = 3  # inference: a memory frame every N frames

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.lfm not in LFM_BANDS:
            raise ValueError(f"lfm must be one of {LFM_BANDS}, got {self.lfm!r}")
        if self.hfm not in HFM_BANDS:
            raise ValueError(f"hfm must be one of {HFM_BANDS}, got {self.hfm!r}")
        if self.affinity not in AFFINITIES:
            raise ValueError(f"affinity must be one of {AFFINITIES}, got {self.affinity!r}")
        if self.spectral_convs not in (1, 2):
            raise ValueError(f"spectral_convs must be 1 or 2, got {self.spectral_convs!r}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be positive or None, got {self.top_k!r}")
        if self.mem_every < 1:
            raise ValueError(f"mem_every must be >= 1, got {self.mem_every!r}")
        if self.key_dim < 1 or self.value_dim < 16 or self.decoder_dim < 1:
            raise ValueError(
                "key_dim and decoder_dim must be >= 1 and value_dim >= 16 (CBAM reduces by 16), "
                f"got {self.key_dim}, {self.value_dim}, {self.decoder_dim}"
            )
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma!r}")


@dataclass(frozen=True)
class TrainConfig:
    """One training stage (static-image pre-training or main training on videos)."""

    stage: str = "main"  # static | main
    iterations: int = 30_000
    batch_size: int = 8  # per process (the authors: per GPU)
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 4e-5
    weight_decay: float = 1e-7
    lr_steps: tuple[int, ...] = (25_000,)
    lr_gamma: float = 0.1
    start_warm: int = 3_000  # bootstrapped CE: plain CE before, top-p after
    end_warm: int = 15_000
    top_p: float = 0.15
    boundary_weight: float = 0.05
    dice: str = "code"  # boundary Dice: "code" (the authors' training) | "paper" (Eq. 3, squares)
    crop_size: int = 384
    num_frames: int = 3
    max_objects: int = 2
    max_skip_initial: int = 5
    skip_values: tuple[int, ...] = (10, 15, 20, 25, 5)
    skip_fractions: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.9)
    amp: bool = True  # used only on CUDA
    # how training starts the ResNet encoders: "random" or torchvision's ImageNet weights
    # (gsfm.model.pretrained; a local file in ModelConfig.*_encoder_weights takes precedence)
    encoder_init: str = "random"
    # "own": the run's own random draw; "shared": every variant of a seed starts from one
    # common state, frequency modules as the identity (gsfm.training.start, design (b))
    start: str = "own"
    num_workers: int = 0
    epoch_samples: int = 4_000  # samples per epoch of the endless synthetic stream
    seed: int = 14159265
    log_every: int = 50
    checkpoint_every: int = 10_000

    def __post_init__(self) -> None:
        if self.stage not in ("static", "main"):
            raise ValueError(f"stage must be 'static' or 'main', got {self.stage!r}")
        for name in (
            "iterations",
            "batch_size",
            "grad_accum",
            "crop_size",
            "num_frames",
            "log_every",
            "checkpoint_every",
            "epoch_samples",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.encoder_init not in ENCODER_INITS:
            raise ValueError(
                f"encoder_init must be one of {ENCODER_INITS}, got {self.encoder_init!r}"
            )
        if self.start not in START_MODES:
            raise ValueError(f"start must be one of {START_MODES}, got {self.start!r}")
        if self.dice not in ("code", "paper"):
            raise ValueError(f"dice must be 'code' or 'paper', got {self.dice!r}")
        if self.end_warm < self.start_warm:
            raise ValueError("end_warm must be >= start_warm")
        if len(self.skip_values) != len(self.skip_fractions):
            raise ValueError("skip_values and skip_fractions must have the same length")


@dataclass(frozen=True)
class ProfileSizes:
    """Profile-dependent sizes outside the network and the training stages: what the notebooks
    show, measure and evaluate. Notebooks read these instead of branching on the profile name."""

    image: int  # side of the photographs filtered in notebook 01
    feature_image: int  # side of the photograph fed to the ResNet in notebook 02 (384: 24² at 1/16)
    rf_map: int  # map side for the receptive-field measurement (notebook 02)
    rf_channels: int  # frequency-module width for that measurement
    eval_videos: int | None = None  # validation videos evaluated (None: the whole split)
    eval_height: int | None = None  # evaluated frame size (None: the benchmark version's own)
    eval_width: int | None = None
    curve_smoothing: int = 4  # log rows averaged per point in training-curve figures
    conclusive: bool = True  # trains long enough that its numbers can be read as results
    # where notebook 04 writes its figures, below figures/ ("": figures/ itself). The GPU
    # profile's go to figures/gpu, so a CPU-only reader keeps the cpu profile's figures.
    figures_subdir: str = ""


@dataclass(frozen=True)
class Profile:
    """A named bundle: the model, the training stage(s) and the sizes for one kind of machine."""

    name: str
    model: ModelConfig
    train: TrainConfig
    static: TrainConfig | None = None  # static-image pre-training stage, if any
    sizes: ProfileSizes | None = None


def _check(name: str, allowed: tuple[str, ...], what: str) -> None:
    if name not in allowed:
        raise ValueError(f"unknown {what} {name!r}; choose one of {allowed}")


# --- the model per (profile, model name) -----------------------------------------------------

_PAPER_GSFM = ModelConfig()
_MODEL_BY_PROFILE: dict[str, ModelConfig] = {
    "paper": _PAPER_GSFM,
    "gpu": _PAPER_GSFM,  # the paper's network, ImageNet-initialised (train_config("gpu"))
    # ResNet-18 key encoder and narrower memory / decoder. cpu: batch 4, 128² crops, measured
    # 1.35 s per training step with 2 threads on a quiet 2-core Xeon, 2.3-3.5 s with one thread
    # each beside a second training (docs/cli.md, "Profiles"); smoke: batch 2, 64², ~0.1 s.
    "cpu": replace(
        _PAPER_GSFM, key_encoder="resnet18", value_dim=256, decoder_dim=64, freeze_bn=False
    ),
    "smoke": replace(_PAPER_GSFM, key_encoder="resnet18", value_dim=64, decoder_dim=32),
}

# STCN = GSFM with the GSFM additions switched off, and STCN's inference defaults.
_STCN_OVERRIDES: dict[str, Any] = dict(
    lfm="off", hfm="off", boundary=False, key_conv_bias=False, top_k=20, mem_every=5
)


def model_config(name: str = "gsfm", /, profile: str = "paper", **overrides: Any) -> ModelConfig:
    """The model configuration for ``name`` ("gsfm" or "stcn") under ``profile``.

    ``overrides`` are :class:`ModelConfig` fields; ``name=...`` among them relabels the variant
    (an ablation's own name) without changing which base model it starts from.
    """
    _check(name, MODEL_NAMES, "model")
    _check(profile, PROFILE_NAMES, "profile")
    cfg = replace(_MODEL_BY_PROFILE[profile], name=name)
    if name == "stcn":
        cfg = replace(cfg, **_STCN_OVERRIDES)
    unknown = set(overrides) - {f.name for f in fields(ModelConfig)}
    if unknown:
        raise ValueError(f"unknown model option(s) {sorted(unknown)}")
    return replace(cfg, **overrides)


# --- training per profile --------------------------------------------------------------------

_TRAIN_BY_PROFILE: dict[str, TrainConfig] = {
    # stage 3 of the authors' GSFM (DAVIS + YouTube-VOS after static pre-training), 8 GPUs x 8.
    "paper": TrainConfig(encoder_init="imagenet"),
    # one GPU, about 5 minutes per model: the paper's network from ImageNet weights, batch 8,
    # AMP, 160² crops of the pre-rendered synth-v1 train split (its frames are 160x288, like the
    # validation frames it is scored on); warm-up and LR step scaled to 3,000 iterations.
    "gpu": TrainConfig(
        iterations=3_000,
        batch_size=8,
        lr=1e-4,
        lr_steps=(2_400,),
        start_warm=600,
        end_warm=1_800,
        crop_size=160,
        amp=True,
        encoder_init="imagenet",
        num_workers=8,
        log_every=25,
        checkpoint_every=500,
        epoch_samples=2_400,  # (the in-memory stream only) 10 epochs of 300 batches
    ),
    "cpu": TrainConfig(
        iterations=1_500,
        batch_size=4,
        lr=1e-4,
        lr_steps=(1_200,),
        start_warm=300,
        end_warm=1_000,
        crop_size=128,
        amp=False,
        log_every=25,
        checkpoint_every=250,
        epoch_samples=300,  # 20 epochs of the stream: the skip curriculum switches as in §4
    ),
    "smoke": TrainConfig(
        iterations=4,
        batch_size=2,
        lr=1e-4,
        lr_steps=(3,),
        start_warm=1,
        end_warm=3,
        crop_size=64,
        amp=False,
        log_every=1,
        checkpoint_every=2,
    ),
}
_STATIC_PAPER = TrainConfig(
    stage="static",
    iterations=40_000,
    batch_size=16,
    lr=4e-5,
    lr_steps=(20_000,),
    start_warm=3_000,
    end_warm=10_000,
    max_objects=1,
    encoder_init="imagenet",
)


def train_config(profile: str = "paper", stage: str = "main", **overrides: Any) -> TrainConfig:
    """The training configuration of ``stage`` ("main" or "static") under ``profile``."""
    _check(profile, PROFILE_NAMES, "profile")
    if stage == "static":
        base = (
            _STATIC_PAPER
            if profile == "paper"
            else replace(_TRAIN_BY_PROFILE[profile], stage="static", max_objects=1)
        )
    elif stage == "main":
        base = _TRAIN_BY_PROFILE[profile]
    else:
        raise ValueError(f"stage must be 'static' or 'main', got {stage!r}")
    unknown = set(overrides) - {f.name for f in fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown training option(s) {sorted(unknown)}")
    return replace(base, **overrides)


# --- notebook and evaluation sizes per profile -----------------------------------------------

_SIZES_BY_PROFILE: dict[str, ProfileSizes] = {
    # smoke: tiny images, 3 small validation videos and 4 training iterations: CI in seconds,
    # nothing to conclude from its numbers.
    "smoke": ProfileSizes(
        image=64, feature_image=192, rf_map=12, rf_channels=8,
        eval_videos=3, eval_height=64, eval_width=112, curve_smoothing=1, conclusive=False,
    ),
    "cpu": ProfileSizes(image=256, feature_image=384, rf_map=24, rf_channels=64),
    "gpu": ProfileSizes(
        image=512, feature_image=384, rf_map=24, rf_channels=256, figures_subdir="gpu"
    ),
    "paper": ProfileSizes(image=512, feature_image=384, rf_map=24, rf_channels=256),
}  # fmt: skip


def profile_sizes(profile: str) -> ProfileSizes:
    """The notebook and evaluation sizes of ``profile`` (see :class:`ProfileSizes`)."""
    _check(profile, PROFILE_NAMES, "profile")
    return _SIZES_BY_PROFILE[profile]


def default_data(profile: str) -> tuple[str, ...]:
    """The training data a profile uses unless told otherwise: the in-memory synthetic stream
    (``"synth"``), or for ``gpu`` the pre-rendered synth-v1 train split (``"synth-train"``),
    which worker processes read much faster than they can render new clips."""
    _check(profile, PROFILE_NAMES, "profile")
    return ("synth-train",) if profile == "gpu" else ("synth",)


def auto_profile(profile: str, device: str | Any = "auto") -> str:
    """``profile`` itself, or for ``"auto"``: ``"gpu"`` when ``device`` resolves to CUDA, else
    ``"cpu"`` (what a reader of notebook 04 gets on their machine)."""
    if profile != "auto":
        _check(profile, PROFILE_NAMES, "profile")
        return profile
    return "gpu" if resolve_device(device).type == "cuda" else "cpu"


def get_profile(profile: str, model: str = "gsfm") -> Profile:
    """The full profile bundle for ``profile`` and model name ``model``."""
    return Profile(
        name=profile,
        model=model_config(model, profile),
        train=train_config(profile, "main"),
        static=train_config(profile, "static"),
        sizes=profile_sizes(profile),
    )


PROFILES: dict[str, Profile] = {p: get_profile(p) for p in PROFILE_NAMES}


def legacy_model_name(fields: dict[str, Any]) -> str:
    """The ``name`` of a model configuration saved before :class:`ModelConfig` had one:
    "stcn" when LFM, HFM and the boundary branch are all off, else "gsfm"."""
    plain = fields.get("lfm") == "off" and fields.get("hfm") == "off" and not fields.get("boundary")
    return "stcn" if plain else "gsfm"


def to_dict(cfg: ModelConfig | TrainConfig | Profile) -> dict[str, Any]:
    """A JSON-friendly dict of a configuration (for run folders and provenance)."""
    return asdict(cfg)


def json_roundtrip(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists), for comparing configurations
    with the ones saved in run folders."""
    return json.loads(json.dumps(obj, default=str))
