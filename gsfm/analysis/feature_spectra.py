"""Frequency content of trained features: does the LFM shift energy to low frequencies and the
HFM to high ones, as the paper argues (§3.2–3.3)?

:func:`radial_power` turns feature maps into a radial power spectrum: each channel's mean is
removed (the DC bin says nothing about texture versus shape), ``|FFT|²`` is averaged over
channels and binned by radial frequency in cycles per pixel (0 to 0.5·√2 at the corner), and
normalised to sum 1, so spectra of maps of different sizes and scales compare as *shares* of
the non-DC power. :func:`feature_spectra` runs a trained model over validation videos with
forward hooks and records four places:

* ``encoder f16`` (the key encoder's 1/16 output, the LFM's input) and ``after LFM``;
* ``decoder f4`` (the decoder trunk's 1/4 output) and, where an HFM exists, ``HFM input``
  (GSFM: the boundary branch's first conv) and ``after HFM``.

STCN has neither module, so its rows show the same places without them.
:func:`low_share` summarises a spectrum as the share of power below a radius.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from gsfm.analysis import seed_video
from gsfm.analysis.calibrated import Estimate
from gsfm.analysis.run_info import code_version, read_run
from gsfm.analysis.wording import interval, signed
from gsfm.checkpoint import load_model
from gsfm.data.davis import DAVISEvalDataset
from gsfm.inference import InferenceEngine

__all__ = [
    "N_BINS",
    "RESIDUAL_FILE",
    "feature_spectra",
    "low_share",
    "radial_bin_index",
    "radial_power",
    "recording_spectra",
]

#: the file, in a results folder, that holds the residual spectra of trained runs
RESIDUAL_FILE = "residual_spectra.csv"
N_BINS = 16  # radial bins from 0 to the corner (0.5·√2 cycles per pixel)
_R_MAX = 0.5 * math.sqrt(2)


def radial_bin_index(h: int, w: int, bins: int = N_BINS) -> torch.Tensor:
    """(h, w) long: the radial bin of every position of an h×w ``fft2`` (unshifted) spectrum.

    Bin ``i`` covers radii ``[i, i + 1) · r_max / bins`` cycles per pixel, ``r_max = 0.5·√2``
    (the corner bin is closed); the DC term is in bin 0. The binning is symmetric under
    ``f -> -f``, so keeping or removing whole bins keeps a real map real.
    """
    fy = torch.fft.fftfreq(h).view(h, 1)
    fx = torch.fft.fftfreq(w).view(1, w)
    radius = torch.sqrt(fy**2 + fx**2)
    return torch.clamp((radius / _R_MAX * bins).long(), max=bins - 1)


def radial_power(x: torch.Tensor, bins: int = N_BINS) -> np.ndarray:
    """Share of the non-DC power of ``x`` (N, C, H, W) in ``bins`` radial frequency bins.

    Bin ``i`` covers radii ``[i, i + 1) · r_max / bins`` cycles per pixel, ``r_max = 0.5·√2``.
    The per-channel mean is removed first, so the DC bin holds nothing; the result sums to 1
    (all zeros for a constant input).
    """
    if x.dim() != 4:
        raise ValueError(f"expected features (N, C, H, W), got shape {tuple(x.shape)}")
    xf = x.detach().float()
    xf = xf - xf.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(xf).abs().pow(2).mean(dim=(0, 1))  # (H, W)
    index = radial_bin_index(*power.shape, bins)
    out = torch.zeros(bins, dtype=torch.float64)
    out.index_add_(0, index.flatten(), power.flatten().double())
    total = out.sum()
    return (out / total).numpy() if total > 0 else out.numpy()


def low_share(spectrum: Sequence[float] | np.ndarray, radius: float = 0.125) -> float:
    """Share of a :func:`radial_power` spectrum in the bins below ``radius`` cycles per pixel
    (default 0.125: a quarter of the Nyquist frequency along one axis)."""
    s = np.asarray(spectrum, dtype=float)
    edges = np.arange(len(s)) * _R_MAX / len(s)
    return float(s[edges < radius].sum())


def _places(model: nn.Module) -> dict[str, tuple[nn.Module, str]]:
    """Hook points: place name → (module, "input" | "output")."""
    places: dict[str, tuple[nn.Module, str]] = {
        "encoder f16": (model.key_encoder, "output"),
        "decoder f4": (model.decoder.up_8_4, "output"),
    }
    if getattr(model, "lfm", None) is not None:
        places["after LFM"] = (model.lfm, "output")
    if getattr(model.decoder, "hfm", None) is not None:
        places["HFM input"] = (model.decoder.hfm, "input")
        places["after HFM"] = (model.decoder.hfm, "output")
    return places


@contextmanager
def recording_spectra(model: nn.Module, bins: int = N_BINS) -> Iterator[dict[str, list]]:
    """While open, every forward pass through the hook points adds a :func:`radial_power`
    spectrum to ``record[place]`` (a list per place)."""
    record: dict[str, list[np.ndarray]] = {}
    handles = []

    def hook(place: str, which: str) -> Any:
        def fn(_m: nn.Module, inputs: tuple, output: Any) -> None:
            x = inputs[0] if which == "input" else output
            x = x[0] if isinstance(x, tuple) else x  # the key encoder returns (f16, f8, f4)
            record.setdefault(place, []).append(radial_power(x, bins))

        return fn

    for place, (module, which) in _places(model).items():
        handles.append(module.register_forward_hook(hook(place, which)))
    try:
        yield record
    finally:
        for h in handles:
            h.remove()


def feature_spectra(
    models: dict[str, nn.Module],
    val_root: str | os.PathLike[str],
    *,
    videos: int = 4,
    frames: int = 8,
    bins: int = N_BINS,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Mean radial spectra of each model's features on the first ``frames`` frames of the first
    ``videos`` validation videos (the models segment them as in inference).

    Returns one row per (model, place, bin): ``model, place, bin, radius`` (bin centre, cycles
    per pixel), ``power`` (mean share over the recorded maps), ``maps`` (how many).
    """
    data = DAVISEvalDataset(val_root, split="val")
    if len(data) == 0:
        raise ValueError(f"no validation videos in {val_root}")
    rows = []
    for label, model in models.items():
        model = model.to(device).eval()
        engine = InferenceEngine(model)
        with recording_spectra(model, bins) as record, torch.no_grad():
            for i in range(min(videos, len(data))):
                clip = data.video(i)
                engine.propagate(clip.rgb()[:frames].to(device), clip.masks()[0][0])
        for place, spectra in record.items():
            mean = np.mean(spectra, axis=0)
            for b in range(bins):
                rows.append(
                    {
                        "model": label,
                        "place": place,
                        "bin": b,
                        "radius": (b + 0.5) * _R_MAX / bins,
                        "power": float(mean[b]),
                        "maps": len(spectra),
                    }
                )
    return pd.DataFrame(rows)


# --- the residual z of the frequency modules ---------------------------------------------------
#
# A frequency module returns x + z (gsfm.spectral.FrequencyModule). Comparing the spectra of
# x and x + z says little when z is small: x + z ≈ x, whatever z does. The questions the paper
# raises are about z itself: which frequencies it holds, and how large it is against x, band by
# band. The hooks below record both, per map, without touching the model.

#: the frequency modules of a network: name → how to find it (None where it has none)
RESIDUAL_MODULES: dict[str, Any] = {
    "LFM": lambda m: getattr(m, "lfm", None),
    "HFM": lambda m: getattr(getattr(m, "decoder", None), "hfm", None),
}


def band_energy(x: torch.Tensor, bins: int = N_BINS) -> np.ndarray:
    """Energy ``Σ |FFT|²`` of ``x`` (N, C, H, W) summed over maps and channels in ``bins`` radial
    bins (as :func:`radial_bin_index`), the mean **not** removed: the DC term is in bin 0. By
    Parseval ``sum(band_energy(x)) = H·W·‖x‖²``, so ``sqrt(E_z / E_x)`` per bin is ``‖z‖ / ‖x‖``
    restricted to that band."""
    if x.dim() != 4:
        raise ValueError(f"expected features (N, C, H, W), got shape {tuple(x.shape)}")
    power = torch.fft.fft2(x.detach().double()).abs().pow(2).sum(dim=(0, 1))
    index = radial_bin_index(*power.shape, bins)
    out = torch.zeros(bins, dtype=torch.float64)
    out.index_add_(0, index.flatten(), power.flatten())
    return out.numpy()


@contextmanager
def recording_residuals(model: nn.Module, bins: int = N_BINS) -> Iterator[dict[str, list]]:
    """While open, every forward pass of the model's LFM / HFM appends to ``record[module]`` a
    dict with the band energies of its input x and its residual z = output − x (``x_energy``,
    ``z_energy``) and their :func:`radial_power` shares (``x_power``, ``z_power``)."""
    record: dict[str, list[dict[str, np.ndarray]]] = {}
    handles = []

    def hook(name: str) -> Any:
        def fn(_m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            x = inputs[0].detach().double()
            z = output.detach().double() - x
            record.setdefault(name, []).append(
                {
                    "x_energy": band_energy(x, bins),
                    "z_energy": band_energy(z, bins),
                    "x_power": radial_power(x, bins),
                    "z_power": radial_power(z, bins),
                }
            )

        return fn

    for name, find in RESIDUAL_MODULES.items():
        module = find(model)
        if module is not None:
            handles.append(module.register_forward_hook(hook(name)))
    try:
        yield record
    finally:
        for h in handles:
            h.remove()


def residual_spectra(
    runs: Sequence[str | os.PathLike[str]],
    val_root: str | os.PathLike[str],
    *,
    videos: int = 6,
    frames: int = 12,
    bins: int = N_BINS,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """The residual z of each run's LFM and HFM against their input x, per video: the runs
    segment the first ``frames`` frames of the first ``videos`` validation videos.

    One row per (run, module, video, bin): ``model, seed, module, video, bin, radius``,
    ``x_energy`` / ``z_energy`` (band energies summed over the video's maps), ``x_power`` /
    ``z_power`` (the mean share of non-DC power in the bin), ``maps``, and provenance
    (``profile, run, weights_sha256, code``). A run without frequency modules gives no rows.
    """
    data = DAVISEvalDataset(val_root, split="val")
    code = code_version()
    rows = []
    for run_dir in runs:
        run = read_run(run_dir)
        model = load_model(run.path / "checkpoints" / "final.pt", map_location=device).eval()
        engine = InferenceEngine(model)
        for i in range(min(videos, len(data))):
            clip = data.video(i)
            with recording_residuals(model, bins) as record, torch.no_grad():
                engine.propagate(clip.rgb()[:frames].to(device), clip.masks()[0][0])
            for module, maps in record.items():
                x_e = np.sum([m["x_energy"] for m in maps], axis=0)
                z_e = np.sum([m["z_energy"] for m in maps], axis=0)
                x_p = np.mean([m["x_power"] for m in maps], axis=0)
                z_p = np.mean([m["z_power"] for m in maps], axis=0)
                for b in range(bins):
                    rows.append(
                        {
                            "model": run.label, "seed": run.seed, "module": module,
                            "video": clip.name, "bin": b, "radius": (b + 0.5) * _R_MAX / bins,
                            "x_energy": float(x_e[b]), "z_energy": float(z_e[b]),
                            "x_power": float(x_p[b]), "z_power": float(z_p[b]),
                            "maps": len(maps), "profile": run.profile, "run": run.path.name,
                            "weights_sha256": run.weights, "code": code,
                        }
                    )  # fmt: skip
    return pd.DataFrame(rows)


def _per_video(rows: pd.DataFrame, fn: Any) -> pd.DataFrame:
    """(seeds, videos) table of ``fn(one video's rows, sorted by bin)``."""
    values = {
        key: fn(g.sort_values("bin")) for key, g in rows.groupby(["seed", "video"], sort=True)
    }
    s = pd.Series(values, dtype=float)
    s.index = pd.MultiIndex.from_tuples(list(values), names=["seed", "video"])
    return s.unstack("video")


def _norm_ratio(rows: pd.DataFrame, select: np.ndarray | None = None) -> float:
    """``‖z‖/‖x‖`` over the bins ``select`` (bool per row, default all) of one video's rows."""
    keep = np.ones(len(rows), bool) if select is None else np.asarray(select)
    x = float(rows["x_energy"].to_numpy()[keep].sum())
    return math.sqrt(float(rows["z_energy"].to_numpy()[keep].sum()) / x) if x > 0 else math.nan


def _below(rows: pd.DataFrame, radius: float) -> np.ndarray:
    """Bins that start below ``radius`` (the rule of :func:`low_share`)."""
    bins = rows["bin"].to_numpy()
    return bins * _R_MAX / N_BINS < radius


def residual_summary(rows: pd.DataFrame, radius: float = 0.125) -> pd.DataFrame:
    """Per module: ``‖z‖/‖x‖`` per radial bin, over all bins, below and above ``radius`` and
    the difference below − above; the share of non-DC power below ``radius`` of z and of x
    and their difference (percentage points). Each is a mean over videos with its 95 %
    interval (:func:`gsfm.analysis.seed_video.estimate_over`: over seeds too when there are two
    or more). Bins that some video's maps do not reach are left out. Rows: ``module,
    quantity, bin, radius, estimate, low, high, p, seeds, videos, over``."""
    if rows["bin"].max() >= N_BINS:
        raise ValueError(f"expected bins 0..{N_BINS - 1}, got up to {rows['bin'].max()}")
    out = []

    def add(module: str, quantity: str, table: pd.DataFrame, b: int = -1) -> None:
        values = table.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            return  # a band some maps do not reach
        est = seed_video.estimate_over(values)
        out.append(
            {
                "module": module, "quantity": quantity, "bin": b,
                "radius": (b + 0.5) * _R_MAX / N_BINS if b >= 0 else math.nan,
                "estimate": est.estimate, "low": est.low, "high": est.high, "p": est.p,
                "seeds": est.n_seeds, "videos": est.n_videos,
                "over": seed_video.describe(est.n_seeds, est.n_videos),
            }
        )  # fmt: skip

    for module, m in rows.groupby("module", sort=False):
        for b, g in m.groupby("bin", sort=True):
            add(str(module), "z/x", _per_video(g, _norm_ratio), int(b))
        below = _per_video(m, lambda g: _norm_ratio(g, _below(g, radius)))
        above = _per_video(m, lambda g: _norm_ratio(g, ~_below(g, radius)))
        add(str(module), "z/x all", _per_video(m, _norm_ratio))
        add(str(module), "z/x below", below)
        add(str(module), "z/x above", above)
        add(str(module), "z/x below − above", below - above)
        z_low = _per_video(m, lambda g: 100 * low_share(g["z_power"].to_numpy(), radius))
        x_low = _per_video(m, lambda g: 100 * low_share(g["x_power"].to_numpy(), radius))
        add(str(module), "z % below", z_low)
        add(str(module), "x % below", x_low)
        add(str(module), "z − x % below", z_low - x_low)
    return pd.DataFrame(out)


def _one(summary: pd.DataFrame, module: str, quantity: str) -> pd.Series | None:
    r = summary[(summary["module"] == module) & (summary["quantity"] == quantity)]
    return None if r.empty else r.iloc[0]


def residual_text(summary: pd.DataFrame, radius: float = 0.125) -> str:
    """Sentences on what each module's residual z holds, from :func:`residual_summary`; a
    direction ("more low / high frequencies") is written only where its interval excludes 0."""

    def span(r: pd.Series, digits: int = 2, sign: bool = False) -> str:
        value = signed(r.estimate, digits) if sign else f"{r.estimate:.{digits}f}"
        if not math.isfinite(r.low):
            return value
        if sign:
            return f"{value} {interval(r.low, r.high, digits)}"
        return f"{value} [{r.low:.{digits}f}, {r.high:.{digits}f}]"

    lines = []
    for module in dict.fromkeys(summary["module"]):
        total = _one(summary, module, "z/x all")
        if total is None:
            continue
        lines.append(f"{module}, {total.over}: ‖z‖/‖x‖ = {span(total, 3)} over all frequencies.")
        diff = _one(summary, module, "z/x below − above")
        below, above = _one(summary, module, "z/x below"), _one(summary, module, "z/x above")
        if diff is not None and below is not None and above is not None:
            est = _as_estimate(diff)
            word = seed_video.direction(est, "larger", "smaller")
            verdict = (
                f"relative to x, z is {word} below {radius} cycles/pixel than above"
                if word
                else "no difference between the two resolved"
            )
            lines.append(
                f"  Below {radius} cycles/pixel {span(below, 3)}, above {span(above, 3)} "
                f"(below − above {span(diff, 3, sign=True)}): {verdict}."
            )
        z, x, d = (_one(summary, module, q) for q in ("z % below", "x % below", "z − x % below"))
        if z is not None and x is not None and d is not None:
            word = seed_video.direction(_as_estimate(d), "low", "high")
            verdict = (
                f"z leans to {word} frequencies compared with its input"
                if word
                else "the two shares do not differ beyond noise"
            )
            lines.append(
                f"  Share of non-DC power below {radius}: z {span(z, 1)} %, x {span(x, 1)} % "
                f"(z − x {span(d, 1, sign=True)} points): {verdict}."
            )
    return "\n".join(lines)


def _as_estimate(r: pd.Series) -> Any:
    nan = math.nan
    return Estimate(r.estimate, r.low, r.high, nan, nan, r.p, int(r.seeds), int(r.videos), None)  # type: ignore[arg-type]
