"""gsfm.spectral: the band filters and the LFM/HFM frequency module (paper §3.2, facts §2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import gsfm
from gsfm.spectral import (
    FrequencyModule,
    band_filter,
    gaussian_at_nyquist,
    sigma_in_bins,
)

# float results of torch kernels: rerun under other CPU capabilities (make test-numerics)
# `numerics` (rerun under ATEN_CPU_CAPABILITY=default by `make test`) marks only the tests
# whose float comparisons a kernel's rounding can move; the others check shapes, logic and
# errors, which no capability changes.

# --- the filter -------------------------------------------------------------------------------


@pytest.mark.numerics
@pytest.mark.parametrize("h,w", [(24, 24), (30, 54), (17, 9), (1, 8)])
def test_filter_values_at_nyquist_and_dc(h: int, w: int) -> None:
    sigma = 7.0
    low = band_filter(h, w, sigma, "low")[0, 0]
    high = band_filter(h, w, sigma, "high")[0, 0]
    # the unshifted spectrum: (h//2, w//2) is the highest frequency, (0, 0) is DC
    assert high[h // 2, w // 2].item() == pytest.approx(1.0)
    assert low[h // 2, w // 2].item() == pytest.approx(0.0, abs=1e-7)
    g_dc = math.exp(-((h // 2) ** 2 + (w // 2) ** 2) / (2 * sigma**2))
    assert high[0, 0].item() == pytest.approx(g_dc, rel=1e-6)
    assert low[0, 0].item() == pytest.approx(1.0 - g_dc, rel=1e-6)
    torch.testing.assert_close(low + high, torch.ones(h, w))
    torch.testing.assert_close(band_filter(h, w, sigma, "all")[0, 0], torch.ones(h, w))


@pytest.mark.numerics
def test_dc_values_match_the_facts() -> None:
    # docs/paper_vs_code.md §2: g(DC) = 0.053 at 24x24 and 6e-5 at 30x54 with sigma 7 bins
    assert gaussian_at_nyquist(24, 24, 7.0)[0, 0].item() == pytest.approx(0.053, abs=5e-4)
    assert gaussian_at_nyquist(30, 54, 7.0)[0, 0].item() == pytest.approx(6e-5, rel=0.1)
    share = (gaussian_at_nyquist(24, 24, 7.0) > 0.5).float().mean().item()
    assert share == pytest.approx(0.37, abs=0.01)


@pytest.mark.numerics
@given(h=st.integers(2, 40).map(lambda n: 2 * n), w=st.integers(2, 40).map(lambda n: 2 * n))
@settings(max_examples=25, deadline=None)
def test_filter_is_conjugate_symmetric_for_even_sizes(h: int, w: int) -> None:
    """For even sizes, bin k and bin -k mod n get the same weight, so a real input's
    Hermitian spectrum stays Hermitian after filtering."""
    g = band_filter(h, w, 5.0, "high")[0, 0]
    flipped = torch.roll(torch.flip(g, dims=(0, 1)), shifts=(1, 1), dims=(0, 1))
    torch.testing.assert_close(g, flipped)


@pytest.mark.numerics
@given(h=st.integers(1, 33), w=st.integers(1, 33), sigma=st.floats(0.5, 20.0))
@settings(max_examples=25, deadline=None)
def test_filter_is_mirror_symmetric_about_nyquist_bin(h: int, w: int, sigma: float) -> None:
    g = gaussian_at_nyquist(h, w, sigma, dtype=torch.float64)
    cu, cv = h // 2, w // 2
    for d in range(min(cu, h - 1 - cu) + 1):
        torch.testing.assert_close(g[cu - d], g[cu + d])
    for d in range(min(cv, w - 1 - cv) + 1):
        torch.testing.assert_close(g[:, cv - d], g[:, cv + d])
    assert float(g.max()) == pytest.approx(1.0)


def test_relative_sigma_maps_to_bins() -> None:
    assert sigma_in_bins(7 / 24, 24, 24, "relative") == pytest.approx((7.0, 7.0))
    assert sigma_in_bins(0.25, 30, 54, "relative") == pytest.approx((7.5, 13.5))
    torch.testing.assert_close(
        band_filter(24, 24, 7 / 24, "low", "relative"), band_filter(24, 24, 7.0, "low")
    )


def test_filter_cache_returns_the_same_tensor_and_respects_dtype() -> None:
    a = band_filter(12, 20, 3.0, "low")
    assert band_filter(12, 20, 3.0, "low") is a
    assert band_filter(12, 20, 3.0, "high") is not a
    d = band_filter(12, 20, 3.0, "low", dtype=torch.float64)
    assert d.dtype == torch.float64 and a.dtype == torch.float32
    fresh = band_filter(12, 20, 3.0, "low", cache=False)
    assert fresh is not a
    torch.testing.assert_close(fresh, a)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(h=8, w=8, sigma=0.0),
        dict(h=8, w=8, sigma=float("nan")),
        dict(h=8, w=8, sigma=-1.0),
        dict(h=0, w=8, sigma=7.0),
        dict(h=8, w=8, sigma=7.0, band="middle"),
        dict(h=8, w=8, sigma=7.0, mode="octaves"),
    ],
)
def test_bad_filter_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        band_filter(**kwargs)


# --- the module against a hand-written computation of the authors' steps ----------------------


def _reference(module: FrequencyModule, x: torch.Tensor) -> np.ndarray:
    """The authors' computation written out step by step in float64 NumPy (facts §2)."""
    xn = x.detach().double().numpy()
    _, c, h, w = xn.shape
    u = np.arange(h)[:, None] - h // 2
    v = np.arange(w)[None, :] - w // 2
    g = np.exp(-(u**2 + v**2) / (2 * module.sigma**2))
    filt = {"low": 1 - g, "high": g, "all": np.ones_like(g)}[module.band]
    y = np.fft.fft2(xn, axes=(-2, -1)) * filt
    z = np.concatenate([y.real, y.imag], axis=1)

    def conv1x1(conv: torch.nn.Conv2d, t: np.ndarray) -> np.ndarray:
        wgt = conv.weight.detach().double().numpy()[:, :, 0, 0]
        b = conv.bias.detach().double().numpy()
        return np.einsum("oc,bchw->bohw", wgt, t) + b[None, :, None, None]

    z = np.maximum(conv1x1(module.conv1, z), 0.0)
    if module.conv2 is not None:
        z = conv1x1(module.conv2, z)
    spec = z[:, :c] + 1j * z[:, c:]
    return xn + np.fft.ifft2(spec, axes=(-2, -1)).real


@given(
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    c=st.integers(1, 6),
    band=st.sampled_from(["low", "high", "all"]),
    convs=st.sampled_from([1, 2]),
    sigma=st.floats(1.0, 10.0),
    seed=st.integers(0, 2**16),
)
@pytest.mark.numerics
@settings(max_examples=40, deadline=None)
def test_module_equals_the_authors_computation(
    h: int, w: int, c: int, band: str, convs: int, sigma: float, seed: int
) -> None:
    torch.manual_seed(seed)
    m = FrequencyModule(c, band=band, sigma=sigma, convs=convs)  # type: ignore[arg-type]
    x = torch.randn(2, c, h, w)
    out = m(x).detach().double().numpy()
    ref = _reference(m, x)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.numerics
@pytest.mark.parametrize("shape", [(2, 1024, 24, 24), (1, 256, 30, 54)])
def test_lfm_and_hfm_at_paper_sizes(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    c = shape[1]
    for cls in (gsfm.LFM, gsfm.HFM):
        m = cls(c)
        x = torch.randn(*shape)
        with torch.no_grad():
            out = m(x)
        assert out.shape == x.shape
        ref = _reference(m, x)
        np.testing.assert_allclose(
            out.double().numpy(), ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max()
        )


def test_lfm_and_hfm_defaults_and_parameter_counts() -> None:
    lfm, hfm = gsfm.LFM(1024), gsfm.HFM(256)
    assert (lfm.band, hfm.band, lfm.sigma, lfm.convs) == ("low", "high", 7.0, 2)
    # docs/paper_vs_code.md §1.5: LFM 8,392,704 and HFM 525,312 parameters
    assert sum(p.numel() for p in lfm.parameters()) == 8_392_704
    assert sum(p.numel() for p in hfm.parameters()) == 525_312
    assert sum(p.numel() for p in gsfm.LFM(1024, convs=1).parameters()) == 8_392_704 // 2


# --- shapes, dtypes, gradients, receptive field, precision, errors ---------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_shape_dtype_and_device_are_kept(dtype: torch.dtype) -> None:
    m = gsfm.HFM(4)
    x = torch.randn(3, 4, 7, 10).to(dtype)
    out = m(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()


def test_gradients_reach_the_input_and_every_weight() -> None:
    torch.manual_seed(0)
    for fast in (False, True):
        m = gsfm.LFM(3, fast=fast)
        x = torch.randn(2, 3, 9, 12, requires_grad=True)
        m(x).square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        for name, p in m.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_receptive_field_is_global_unlike_a_3x3_conv() -> None:
    torch.manual_seed(0)
    h, w = 16, 20
    m = gsfm.LFM(4, sigma=3.0)
    x = torch.randn(1, 4, h, w, requires_grad=True)
    m(x)[0, :, 5, 7].sum().backward()
    assert (x.grad[0].abs().sum(0) > 0).all(), "every input pixel must influence the output pixel"

    conv = torch.nn.Conv2d(4, 4, 3, padding=1)
    x2 = torch.randn(1, 4, h, w, requires_grad=True)
    conv(x2)[0, :, 5, 7].sum().backward()
    reach = x2.grad[0].abs().sum(0) > 0
    assert reach.sum().item() == 9 and reach[4:7, 6:9].all()


@pytest.mark.numerics
def test_bfloat16_autocast_on_cpu_gives_finite_float_output() -> None:
    m = gsfm.LFM(8)
    x = torch.randn(2, 8, 12, 12) * 50
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = m(x)
    assert out.dtype == torch.float32  # the input's dtype
    assert torch.isfinite(out).all()


@pytest.mark.numerics
def test_half_input_with_a_large_unnormalised_spectrum_does_not_overflow() -> None:
    """DC = sum over 64*64 positions of 100 = 409,600 > float16's 65,504: the spectral convs
    must not run in half precision."""
    torch.manual_seed(0)
    m = gsfm.LFM(2)
    x = torch.full((1, 2, 64, 64), 100.0)
    y16 = torch.fft.fft2(x)[..., 0, 0].real
    assert (y16 > torch.finfo(torch.float16).max).all()
    out = m(x.half())
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), m(x), rtol=1e-2, atol=0.5)


@pytest.mark.numerics
def test_fast_variant_matches_a_half_spectrum_reference_but_not_the_default() -> None:
    torch.manual_seed(1)
    c, h, w = 3, 10, 12
    exact = gsfm.LFM(c, sigma=3.0)
    fast = gsfm.LFM(c, sigma=3.0, fast=True)
    fast.load_state_dict(exact.state_dict())  # same parameter names and shapes
    x = torch.randn(2, c, h, w)
    y = torch.fft.rfft2(x) * band_filter(h, w, 3.0, "low")[..., : w // 2 + 1]
    z = torch.cat([y.real, y.imag], 1)
    z = fast.conv2(F.relu(fast.conv1(z)))
    ref = x + torch.fft.irfft2(torch.complex(*z.chunk(2, 1)), s=(h, w))
    torch.testing.assert_close(fast(x), ref, rtol=1e-5, atol=1e-4)
    assert not torch.allclose(fast(x), exact(x), atol=1e-3)


@pytest.mark.parametrize(
    "x,match",
    [
        (torch.randn(4, 8, 8), "4-D"),
        (torch.randn(1, 1, 4, 8, 8), "4-D"),
        (torch.randn(1, 5, 8, 8), "built for 4 channels, got 5"),
    ],
)
def test_bad_input_gives_a_clear_error(x: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gsfm.LFM(4)(x)


@pytest.mark.parametrize(
    "kwargs", [dict(channels=0), dict(channels=4, convs=3), dict(channels=4, sigma=0)]
)
def test_bad_module_parameters_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FrequencyModule(**kwargs)


def test_filter_first_built_under_inference_mode_still_trains() -> None:
    """The cache is shared: a filter first made in inference mode must not poison training."""
    module = gsfm.HFM(2, sigma=2.0)
    with torch.inference_mode():
        module(torch.randn(1, 2, 13, 11))  # size chosen so no other test has cached it
    x = torch.randn(1, 2, 13, 11, requires_grad=True)
    module(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
