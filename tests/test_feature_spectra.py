"""gsfm.analysis.feature_spectra: radial power spectra of feature maps and the hook points."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gsfm.analysis.feature_spectra import N_BINS, low_share, radial_power, recording_spectra
from gsfm.model import build_model


def _cosine(freq_cycles: int, side: int = 32) -> torch.Tensor:
    x = torch.arange(side, dtype=torch.float32)
    wave = torch.cos(2 * math.pi * freq_cycles * x / side)
    return wave.view(1, 1, 1, side).expand(1, 3, side, side).clone()


@pytest.mark.parametrize("cycles", [2, 4, 8, 16])
def test_a_cosine_puts_all_power_in_its_radius_bin(cycles: int) -> None:
    spectrum = radial_power(_cosine(cycles))
    radius = cycles / 32  # cycles per pixel
    expected_bin = int(radius / (0.5 * math.sqrt(2)) * N_BINS)
    assert spectrum.sum() == pytest.approx(1.0)
    assert spectrum[expected_bin] == pytest.approx(1.0)


def test_constant_maps_have_no_power_and_low_share_sums_bins() -> None:
    assert radial_power(torch.ones(2, 4, 8, 8)).sum() == 0.0
    spectrum = radial_power(_cosine(2) + _cosine(12))  # 0.0625 and 0.375 cycles per pixel
    assert low_share(spectrum, 0.125) == pytest.approx(0.5)
    assert low_share(spectrum, 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="N, C, H, W"):
        radial_power(torch.ones(8, 8))


def test_smoothing_moves_power_to_low_frequencies() -> None:
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(1, 8, 32, 32, generator=gen)
    blurred = torch.nn.functional.avg_pool2d(noise, 5, stride=1, padding=2)
    assert low_share(radial_power(blurred)) > 2 * low_share(radial_power(noise))


def test_hooks_record_the_places_each_model_has() -> None:
    frames = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    places = {}
    for name in ("gsfm", "stcn"):
        torch.manual_seed(0)
        model = build_model(name, "smoke").eval()
        with recording_spectra(model) as record, torch.no_grad():
            feats = model.encode_key(frames)
            readout = torch.zeros(1, 1, model.config.value_dim, 4, 4)
            model.decode(feats, readout)
        places[name] = set(record)
        assert all(np.isclose(s.sum(), 1.0) for spectra in record.values() for s in spectra)
        assert not model.key_encoder._forward_hooks  # removed on exit
    assert places["gsfm"] == {"encoder f16", "after LFM", "decoder f4", "HFM input", "after HFM"}
    assert places["stcn"] == {"encoder f16", "decoder f4"}


def test_the_figure_draws_both_models_in_distinct_colours(tmp_path) -> None:
    from gsfm.viz.feature_spectra import plot_feature_spectra

    rows = []
    for model, places in (
        ("GSFM", ("encoder f16", "after LFM", "decoder f4")),
        ("STCN", ("encoder f16",)),
    ):
        for k, place in enumerate(places):
            spectrum = radial_power(_cosine(2 + 2 * k))
            rows += [
                {
                    "model": model,
                    "place": place,
                    "bin": b,
                    "radius": (b + 0.5) / N_BINS,
                    "power": p,
                    "maps": 1,
                }
                for b, p in enumerate(spectrum)
            ]
    fig = plot_feature_spectra(pd.DataFrame(rows), tmp_path / "feature_spectra.png", note="test.")
    assert (tmp_path / "feature_spectra.png").stat().st_size > 10_000
    lines = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert len(lines) == 3  # GSFM before and after the LFM, STCN before
    colours = [
        ln.get_color() for ax in fig.axes for ln in ax.get_lines() if ln.get_label()[0] != "_"
    ]
    assert len(set(colours)) == len(colours) == 4  # every curve its own colour
    for ax in fig.axes:  # the 0.125 line is drawn and labelled
        assert any(t.get_text().strip() == "0.125 cycles/pixel" for t in ax.texts)


def _module_rows(z_scale_low: float, z_scale_high: float, videos: int = 4) -> pd.DataFrame:
    """Residual rows whose z has ``z_scale`` times x's energy in the low / high bins, with a
    little per-video variation."""
    rows = []
    for v in range(videos):
        for b in range(N_BINS):
            scale = z_scale_low if b < 3 else z_scale_high
            jitter = 1.0 + 0.02 * v
            rows.append(
                {
                    "model": "GSFM", "seed": 0, "module": "LFM", "video": f"v{v}", "bin": b,
                    "radius": (b + 0.5) * 0.5 * math.sqrt(2) / N_BINS, "x_energy": 1.0,
                    "z_energy": scale**2 * jitter, "x_power": 1 / N_BINS,
                    "z_power": (scale**2 * jitter) / (3 * z_scale_low**2 * jitter + 13 * z_scale_high**2 * jitter),
                    "maps": 8,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_band_energy_is_parseval_and_the_residual_is_recorded() -> None:
    from gsfm.analysis.feature_spectra import band_energy, recording_residuals

    x = torch.randn(2, 3, 8, 12, generator=torch.Generator().manual_seed(0))
    assert band_energy(x).sum() == pytest.approx(8 * 12 * float(x.double().pow(2).sum()), rel=1e-9)
    torch.manual_seed(0)
    model = build_model("gsfm", "smoke").eval()
    with torch.no_grad():  # a zero residual: the LFM's last conv gives 0
        model.lfm.conv2.weight.zero_()
        model.lfm.conv2.bias.zero_()
    with recording_residuals(model) as record, torch.no_grad():
        model.encode_key(torch.randn(1, 3, 64, 64))
    assert set(record) == {"LFM"} and len(record["LFM"]) == 1
    assert record["LFM"][0]["z_energy"].sum() == 0.0 and record["LFM"][0]["x_energy"].sum() > 0
    assert not model.lfm._forward_hooks


def test_residual_summary_and_sentences_follow_the_intervals() -> None:
    from gsfm.analysis.feature_spectra import residual_summary, residual_text

    lows = residual_summary(_module_rows(0.3, 0.1))
    total = lows[lows["quantity"] == "z/x all"].iloc[0]
    assert 0.1 < total.estimate < 0.3 and total.videos == 4
    per_bin = lows[lows["quantity"] == "z/x"]
    assert per_bin["estimate"].iloc[0] == pytest.approx(0.3 * np.sqrt(1.0), rel=0.05)
    text = residual_text(lows)
    assert "z is larger below 0.125 cycles/pixel than above" in text
    assert "z leans to low frequencies" in text
    flat = residual_text(residual_summary(_module_rows(0.2, 0.2)))
    assert "no difference between the two resolved" in flat
    assert "towards" not in flat and "larger" not in flat and "leans to" not in flat


def test_the_residual_figure_is_drawn(tmp_path) -> None:
    from gsfm.analysis.feature_spectra import residual_summary
    from gsfm.viz.feature_spectra import plot_residual_spectra

    rows = _module_rows(0.3, 0.1)
    fig = plot_residual_spectra(rows, residual_summary(rows), tmp_path / "r.png", note="test.")
    assert (tmp_path / "r.png").stat().st_size > 10_000
    assert "LFM" in fig.axes[0].get_title()
    assert any(t.get_text().strip() == "0.125 cycles/pixel" for t in fig.axes[1].texts)
