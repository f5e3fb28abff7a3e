"""gsfm.analysis.feature_spectra: radial power spectra of feature maps and the hook points."""

from __future__ import annotations

import math

import numpy as np
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


def test_the_figure_draws_both_models_and_the_change(tmp_path) -> None:
    import pandas as pd

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
    change = fig.axes[2]
    assert [line.get_label() for line in change.get_lines()][0] == "GSFM: after LFM − before"
    labels = [
        ln.get_label() for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")
    ]
    assert len(labels) == 3  # GSFM before and after the LFM, STCN before
