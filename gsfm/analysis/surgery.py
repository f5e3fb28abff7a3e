"""Spectral surgery on a trained network, at test time: change what its spectral modules and
its key features do, without copying or retraining it, and measure what changes.

The paper's causal claim (§3.2, Fig. 1) is that the frequency content of the key features
decides what a query pixel matches. :func:`operated` opens a window in which a trained
:class:`~gsfm.model.network.GSFMNet` runs with one :class:`Surgery` applied:

* ``lfm=False`` / ``hfm=False``: the module is bypassed, its output is its input (the
  residual branch ``z`` is exactly 0);
* ``sigma`` / ``sigma_mode``: both spectral modules filter with another Gaussian width;
* ``band`` + ``band_action``: the key features (the output of ``key_proj``, what the memory
  read compares) keep only, or lose, the radial frequency bins ``band = (lo, hi)``, bins
  counted as :func:`gsfm.analysis.feature_spectra.radial_bin_index` counts them.

Everything is done with forward hooks and by setting two attributes of the spectral modules;
leaving the window removes the hooks and restores the attributes, so the network is
bit-identical afterwards (its parameters are never touched). :class:`SurgeryBench` measures one
surgery: what one query pixel matches, the target / lookalike shares over the target's cells
(:mod:`gsfm.analysis.matching`), and J&F on a few short videos; results are cached per surgery,
so a control moved back is instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from gsfm.analysis.feature_spectra import radial_bin_index
from gsfm.analysis.matching import (
    frame_keys,
    lookalike_masks,
    match_pixel,
    matching_shares,
    pick_query_point,
)
from gsfm.data.davis import DAVISEvalDataset
from gsfm.data.synthetic import generate_video
from gsfm.inference import InferenceEngine, InferenceSettings, pad_to_multiple
from gsfm.metrics import video_jf
from gsfm.spectral import FrequencyModule, sigma_in_bins

__all__ = [
    "SURGERY_BINS",
    "Surgery",
    "SurgeryBench",
    "SurgeryResult",
    "band_mask",
    "filter_band",
    "operated",
    "spectral_modules",
]

SURGERY_BINS = 8  # radial bins of the key spectrum the band controls address (corner = bin 7)
BandAction = Literal["keep", "zero"]


@dataclass(frozen=True)
class Surgery:
    """One test-time change of a trained network (the default changes nothing)."""

    lfm: bool = True  # False: bypass the LFM (z = 0)
    hfm: bool = True  # False: bypass the HFM (z = 0)
    sigma: float | None = None  # both modules' Gaussian width (None: as trained)
    sigma_mode: Literal["bins", "relative"] | None = None  # None: as trained
    band: tuple[int, int] | None = None  # radial bins [lo, hi) of the key features
    band_action: BandAction = "zero"  # "zero": remove the band; "keep": remove all else
    bins: int = SURGERY_BINS

    def __post_init__(self) -> None:
        if self.band_action not in ("keep", "zero"):
            raise ValueError(f"band_action must be 'keep' or 'zero', got {self.band_action!r}")
        if self.band is not None:
            lo, hi = self.band
            if not 0 <= lo < hi <= self.bins:
                raise ValueError(f"band {self.band} must satisfy 0 <= lo < hi <= {self.bins}")
        if self.sigma is not None or self.sigma_mode is not None:
            sigma_in_bins(
                7.0 if self.sigma is None else self.sigma, 8, 8, self.sigma_mode or "bins"
            )

    @property
    def is_identity(self) -> bool:
        """Whether this surgery changes nothing."""
        return self == Surgery(bins=self.bins)

    def describe(self) -> str:
        """One line naming every change (``as trained`` for none)."""
        parts = []
        if not self.lfm:
            parts.append("LFM bypassed")
        if not self.hfm:
            parts.append("HFM bypassed")
        if self.sigma is not None or self.sigma_mode is not None:
            mode = self.sigma_mode or "as trained"
            parts.append(
                f"σ = {'as trained' if self.sigma is None else f'{self.sigma:g}'} ({mode})"
            )
        if self.band is not None:
            lo, hi = self.band
            verb = "only" if self.band_action == "keep" else "without"
            parts.append(f"keys {verb} radial bins {lo}-{hi - 1} of {self.bins}")
        return ", ".join(parts) or "as trained"


def spectral_modules(model: nn.Module) -> dict[str, FrequencyModule]:
    """The network's spectral modules: ``{"lfm": ..., "hfm": ...}`` (those it has; STCN: none)."""
    found = {}
    if isinstance(getattr(model, "lfm", None), FrequencyModule):
        found["lfm"] = model.lfm
    hfm = getattr(getattr(model, "decoder", None), "hfm", None)
    if isinstance(hfm, FrequencyModule):
        found["hfm"] = hfm
    return found


def band_mask(h: int, w: int, band: tuple[int, int], bins: int = SURGERY_BINS) -> torch.Tensor:
    """(h, w) bool: the positions of an ``fft2`` spectrum whose radial bin is in [lo, hi)."""
    index = radial_bin_index(h, w, bins)
    return (index >= band[0]) & (index < band[1])


def filter_band(
    x: torch.Tensor, band: tuple[int, int], action: BandAction = "zero", bins: int = SURGERY_BINS
) -> torch.Tensor:
    """``x`` (..., H, W) with the radial bins ``band`` removed (``"zero"``) or kept alone
    (``"keep"``), per channel: ``ifft2(fft2(x) · mask)``, real because the mask is symmetric."""
    h, w = x.shape[-2:]
    keep = band_mask(h, w, band, bins).to(x.device)
    if action == "zero":
        keep = ~keep
    xf = x if x.dtype in (torch.float32, torch.float64) else x.float()  # fft: no half types
    y = torch.fft.ifft2(torch.fft.fft2(xf) * keep)
    return y.real.to(x.dtype)


def _bypass(_module: nn.Module, inputs: tuple[Any, ...], _output: Any) -> Any:
    return inputs[0]  # the module's output is its input: z = 0 exactly


@contextmanager
def operated(model: nn.Module, surgery: Surgery) -> Iterator[nn.Module]:
    """While open, ``model`` runs with ``surgery`` applied (yields ``model`` itself).

    A bypass or a band on a network without that part (STCN has no LFM / HFM) changes nothing
    there. On exit every hook is removed and every attribute restored, also after an error.
    """
    modules = spectral_modules(model)
    handles = []
    saved = {name: (m.sigma, m.sigma_mode) for name, m in modules.items()}
    try:
        for name, module in modules.items():
            if not getattr(surgery, name):
                handles.append(module.register_forward_hook(_bypass))
            if surgery.sigma is not None:
                module.sigma = float(surgery.sigma)
            if surgery.sigma_mode is not None:
                module.sigma_mode = surgery.sigma_mode
        if surgery.band is not None:
            band, action, bins = surgery.band, surgery.band_action, surgery.bins
            handles.append(
                model.key_proj.register_forward_hook(
                    lambda _m, _i, out: filter_band(out, band, action, bins)
                )
            )
        yield model
    finally:
        for handle in handles:
            handle.remove()
        for name, (sigma, mode) in saved.items():
            modules[name].sigma, modules[name].sigma_mode = sigma, mode


# --- measuring one surgery ---------------------------------------------------------------------


@dataclass(frozen=True)
class SurgeryResult:
    """What one surgery does: the query pixel's matches (:class:`~gsfm.analysis.matching.
    PixelMatches`), the shares over the target's cells, and J&F (x100) per video."""

    surgery: Surgery
    matches: Any
    shares: dict[str, float]
    jf: dict[str, float]

    @property
    def mean_jf(self) -> float:
        """J&F (x100) averaged over the videos."""
        return float(np.mean(list(self.jf.values()))) if self.jf else math.nan


@dataclass
class SurgeryBench:
    """The clip and the videos a surgery is measured on, prepared once.

    frames: the lookalike clip's normalised frames (T, 3, H, W); target / distractors: (T, H,
    W) masks of the target and its lookalikes; query_frame, point: the query pixel; videos:
    {name: (frames, ground-truth id maps)} scored with J&F (a few short videos: seconds);
    query_image / memory_image: the clip's query frame and frame 0 as pictures.
    """

    frames: torch.Tensor
    target: np.ndarray
    distractors: np.ndarray
    query_frame: int
    point: tuple[int, int]
    videos: dict[str, tuple[torch.Tensor, np.ndarray]]
    query_image: np.ndarray  # (H, W, 3) uint8: the query frame, for the figures
    memory_image: np.ndarray  # (H, W, 3) uint8: memory frame 0
    top_k: int | None = 20
    mem_every: int | None = None
    _cache: dict[tuple[int, Surgery, tuple[int, int]], SurgeryResult] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def from_split(
        cls,
        val_root: Any,
        *,
        clip: str | None = None,
        videos: Sequence[str] | None = None,
        n_videos: int = 3,
        n_frames: int = 8,
        query_frame: int = 12,
        top_k: int | None = 20,
        mem_every: int | None = None,
    ) -> SurgeryBench:
        """Prepare from a synth-v1 split: the first lookalike video as the clip (its query
        pixel: :func:`~gsfm.analysis.matching.pick_query_point` on the target) and the first
        ``n_videos`` videos, cut to their first ``n_frames`` frames, for J&F."""
        ds = DAVISEvalDataset(val_root, split="val")
        name = clip or next((v for v in ds.videos if v.endswith("_lookalike")), ds.videos[0])
        video = ds.video(ds.videos.index(name))
        masks, _ = video.masks()
        frames = video.rgb()
        t, _, h, w = frames.shape
        query_frame = min(query_frame, t - 1)
        index = int(name.split("_")[1])
        look = lookalike_masks(generate_video("val", index, height=h, width=w), target=1)
        target = masks == 1
        _, pads = pad_to_multiple(frames[:1])
        point = pick_query_point(target[query_frame], pads)
        chosen = list(videos) if videos is not None else ds.videos[:n_videos]
        scored = {}
        for v in chosen:
            vid = ds.video(ds.videos.index(v))
            scored[v] = (vid.rgb()[:n_frames], vid.masks()[0][:n_frames])
        images = (video.image(query_frame), video.image(0))
        return cls(frames, target, look, query_frame, point, scored, *images, top_k, mem_every)

    def measure(
        self, model: nn.Module, surgery: Surgery = Surgery(), point: tuple[int, int] | None = None
    ) -> SurgeryResult:
        """Apply ``surgery`` to ``model`` and measure (cached per model, surgery and pixel)."""
        point = tuple(point or self.point)
        key = (id(model), surgery, point)
        if key in self._cache:
            return self._cache[key]
        with torch.no_grad(), operated(model, surgery):
            keys = frame_keys(model, self.frames, (0, self.query_frame))
            matches = match_pixel(
                model, self.frames, self.query_frame, point, (0,), top_k=self.top_k, keys=keys
            )
            shares = matching_shares(
                model, self.frames, self.target, self.distractors, self.query_frame, (0,),
                top_k=self.top_k, keys=keys,
            )  # fmt: skip
            engine = InferenceEngine(model, InferenceSettings(mem_every=self.mem_every))
            jf = {
                name: 100 * video_jf(gt, engine.propagate(frames, gt[0]).masks)
                for name, (frames, gt) in self.videos.items()
            }
        result = SurgeryResult(surgery, matches, shares, jf)
        self._cache[key] = result
        return result
