"""Spectral surgery (gsfm.analysis.surgery): bypasses give z = 0 exactly, a band keeps exactly
its radial bins, and leaving the window restores the network bit for bit."""

from __future__ import annotations

import pytest
import torch

from gsfm.analysis.feature_spectra import radial_bin_index
from gsfm.analysis.surgery import (
    Surgery,
    band_mask,
    filter_band,
    operated,
    spectral_modules,
)
from gsfm.model import build_model


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("gsfm", "smoke").eval()
    with torch.no_grad():  # make the spectral branches matter (an untrained z is tiny)
        for m in spectral_modules(model).values():
            m.conv2.weight.mul_(50)
    return model


def _snapshot(model: torch.nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, tuple]]:
    state = {k: v.clone() for k, v in model.state_dict().items()}
    attrs = {
        n: (m.sigma, m.sigma_mode, len(m._forward_hooks))
        for n, m in spectral_modules(model).items()
    }
    return state, attrs | {"key_proj": (len(model.key_proj._forward_hooks),)}


def _frames() -> torch.Tensor:
    return torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))


def test_bypassing_a_module_makes_its_z_exactly_zero(net) -> None:
    x = torch.randn(1, net.lfm.channels, 6, 8)
    h = torch.randn(1, net.decoder.hfm.channels, 8, 8)
    with operated(net, Surgery(lfm=False)):
        assert torch.equal(net.lfm(x), x)
        assert not torch.equal(net.decoder.hfm(h), h)  # the other module still works
    assert not torch.equal(net.lfm(x), x)  # restored: z is not zero again
    with operated(net, Surgery(hfm=False)):
        assert torch.equal(net.decoder.hfm(h), h)
        assert not torch.equal(net.lfm(x), x)


def test_bypass_changes_the_keys_and_nothing_is_left_behind(net) -> None:
    before = _snapshot(net)
    frames = _frames()
    with torch.no_grad():
        plain = net.encode_key(frames).key
        with operated(
            net, Surgery(lfm=False, hfm=False, sigma=2.0, sigma_mode="relative", band=(0, 2))
        ):
            cut = net.encode_key(frames).key
            assert net.lfm.sigma == 2.0 and net.lfm.sigma_mode == "relative"
        again = net.encode_key(frames).key
    assert not torch.allclose(plain, cut)
    assert torch.equal(plain, again)  # bit-identical after the window
    after = _snapshot(net)
    assert after[1] == before[1]
    assert all(torch.equal(before[0][k], v) for k, v in after[0].items())


def test_restored_after_an_error_inside_the_window(net) -> None:
    before = _snapshot(net)
    with pytest.raises(RuntimeError, match="boom"), operated(net, Surgery(lfm=False, sigma=3.0)):
        raise RuntimeError("boom")
    assert _snapshot(net)[1] == before[1]


@pytest.mark.parametrize("action", ["keep", "zero"])
def test_a_band_keeps_exactly_its_radial_bins(action: str) -> None:
    x = torch.randn(2, 5, 10, 18, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    band, bins = (2, 5), 8
    y = filter_band(x, band, action, bins)
    assert y.dtype == x.dtype and y.shape == x.shape
    fx, fy = torch.fft.fft2(x), torch.fft.fft2(y)
    index = radial_bin_index(10, 18, bins)
    inside = (index >= 2) & (index < 5)
    kept = inside if action == "keep" else ~inside
    assert torch.allclose(fy[..., kept], fx[..., kept], atol=1e-9)  # the kept bins unchanged
    assert fy[..., ~kept].abs().max() < 1e-9  # everything else gone
    assert set(index[kept].unique().tolist()) == (
        {2, 3, 4} if action == "keep" else set(range(8)) - {2, 3, 4}
    ) & set(index.unique().tolist())
    assert torch.equal(band_mask(10, 18, band, bins), inside)


def test_the_key_band_applies_to_what_the_memory_read_compares(net) -> None:
    frames = _frames()
    with torch.no_grad():
        plain = net.encode_key(frames).key
        with operated(net, Surgery(band=(0, 1), band_action="keep")):
            low = net.encode_key(frames).key
    torch.testing.assert_close(low, filter_band(plain, (0, 1), "keep"))
    # bin 0 alone of a 4x6 map holds only the DC term: every position gets the channel mean
    torch.testing.assert_close(low, plain.mean(dim=(-2, -1), keepdim=True).expand_as(low))


def test_stcn_has_nothing_to_bypass_and_surgery_is_validated() -> None:
    stcn = build_model("stcn", "smoke").eval()
    assert spectral_modules(stcn) == {}
    frames = _frames()
    with torch.no_grad():
        plain = stcn.encode_key(frames).key
        with operated(stcn, Surgery(lfm=False, sigma=3.0)):
            assert torch.equal(stcn.encode_key(frames).key, plain)
    with pytest.raises(ValueError, match="band"):
        Surgery(band=(3, 3))
    with pytest.raises(ValueError, match="band_action"):
        Surgery(band=(0, 2), band_action="blur")  # type: ignore[arg-type]
    assert Surgery().describe() == "as trained" and Surgery().is_identity
    assert (
        Surgery(lfm=False, band=(0, 2)).describe()
        == "LFM bypassed, keys without radial bins 0-1 of 8"
    )
