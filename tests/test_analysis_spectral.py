"""Unit tests of gsfm.analysis.spectral: the computations notebooks 01 and 02 show and assert."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gsfm
from gsfm.analysis import spectral as sa
from gsfm.config import profile_sizes
from gsfm.model import count_parameters

FAST = settings(max_examples=15, deadline=None)


# --- images and spectra ---------------------------------------------------------------------


def test_load_image_grey_and_colour_resized_to_a_square():
    grey = sa.load_image("astronaut", 48)
    colour = sa.load_image("coffee", 40, gray=False)
    assert grey.shape == (48, 48) and colour.shape == (40, 40, 3)
    for img in (grey, colour):
        assert img.dtype == np.float64 and img.min() >= 0.0 and img.max() <= 1.0
        assert img.std() > 0.05  # a photograph, not a blank


def test_load_image_native_size_and_bad_input():
    assert sa.load_image("camera").shape == (512, 512)
    with pytest.raises(ValueError, match="unknown scikit-image sample image 'nope'"):
        sa.load_image("nope")
    with pytest.raises(ValueError, match="size"):
        sa.load_image("camera", 1)


def test_magnitude_spectrum_layout_unshifted_and_shifted():
    img = sa.load_image("camera", 32)
    raw = sa.magnitude_spectrum(img, log=False)
    assert raw[0, 0] == pytest.approx(img.sum())  # DC at (0, 0): the sum of the pixels
    shifted = sa.magnitude_spectrum(img, shift=True, log=False)
    assert shifted[16, 16] == pytest.approx(img.sum())  # fftshift moves DC to the centre
    assert np.allclose(sa.magnitude_spectrum(img), np.log1p(raw))
    colour = np.stack([img, img, img], axis=-1)
    assert np.allclose(sa.magnitude_spectrum(colour, log=False), raw)  # channels averaged


@FAST
@given(h=st.integers(3, 20), w=st.integers(3, 20), sigma=st.floats(0.5, 12.0))
def test_low_plus_high_band_is_the_image(h, w, sigma):
    img = np.random.default_rng(h * 31 + w).random((h, w))
    low = sa.apply_band_filter(img, sigma, "low")
    high = sa.apply_band_filter(img, sigma, "high")
    assert np.allclose(low + high, img, atol=1e-12)
    assert np.allclose(sa.apply_band_filter(img, sigma, "all"), img, atol=1e-12)


def test_band_filter_on_a_constant_image_scales_by_the_filter_at_dc():
    img = np.full((24, 24), 0.5)
    g_dc = sa.filter_stats(24, 24, 7.0)["g_dc"]
    assert np.allclose(sa.apply_band_filter(img, 7.0, "high"), 0.5 * g_dc)
    assert np.allclose(sa.apply_band_filter(img, 7.0, "low"), 0.5 * (1 - g_dc))


def test_apply_band_filter_keeps_colour_layout_and_checks_input():
    img = np.random.default_rng(0).random((10, 12, 3))
    out = sa.apply_band_filter(img, 0.3, "low", "relative")
    assert out.shape == img.shape
    assert np.allclose(out[..., 1], sa.apply_band_filter(img[..., 1], 0.3, "low", "relative"))
    with pytest.raises(ValueError, match="band"):
        sa.apply_band_filter(img, 7.0, "middle")
    with pytest.raises(ValueError, match="image"):
        sa.apply_band_filter(np.zeros(5), 7.0)


def test_training_relative_sigma_reproduces_the_training_band_at_any_size():
    rel = sa.training_relative_sigma()
    assert rel == pytest.approx(7 / 24)
    at_train = sa.filter_stats(24, 24, 7.0)
    at_big = sa.filter_stats(240, 240, rel, "relative")
    assert at_big["g_dc"] == pytest.approx(at_train["g_dc"], rel=1e-9)
    assert at_big["share_high"] == pytest.approx(at_train["share_high"], abs=0.01)
    with pytest.raises(ValueError):
        sa.training_relative_sigma(side=0)


# --- convolution theorem --------------------------------------------------------------------


@FAST
@given(h=st.integers(5, 24), w=st.integers(5, 24), k=st.sampled_from([1, 3, 5]))
def test_convolution_theorem_holds(h, w, k):
    rng = np.random.default_rng(h * 100 + w)
    img, kernel = rng.random((h, w)), rng.standard_normal((k, k))
    direct, via_fft, err = sa.convolution_theorem_error(img, kernel)
    assert err < 1e-10
    assert np.allclose(direct, via_fft, atol=1e-10)


def test_circular_convolve_identity_and_shift():
    img = np.random.default_rng(1).random((6, 7))
    delta = np.zeros((3, 3))
    delta[1, 1] = 1.0
    assert np.array_equal(sa.circular_convolve(img, delta), img)
    right = np.zeros((3, 3))
    right[1, 2] = 1.0  # tap at offset (0, +1): out[y, x] = img[y, x - 1]
    assert np.array_equal(sa.circular_convolve(img, right), np.roll(img, 1, axis=1))
    with pytest.raises(ValueError, match="odd"):
        sa.circular_convolve(img, np.ones((2, 2)))
    with pytest.raises(ValueError, match="larger"):
        sa.convolution_theorem_error(img, np.ones((9, 9)))


# --- share of the spectrum --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "w", "g_dc", "share"),
    [(24, 24, 0.053, 0.37), (30, 54, 6e-5, 0.13), (96, 96, 0.0, 0.023), (120, 216, 0.0, 0.008)],
)
def test_filter_stats_match_the_authors_numbers(h, w, g_dc, share):
    stats = sa.filter_stats(h, w, 7.0)
    assert stats["g_dc"] == pytest.approx(g_dc, abs=max(g_dc * 0.02, 1e-6))
    assert stats["share_high"] == pytest.approx(share, abs=0.0015)
    assert stats["g_nyquist"] == 1.0
    assert stats["share_low"] == pytest.approx(1 - stats["share_high"])


def test_band_share_table_rows_follow_the_sizes():
    table = sa.band_share_table()
    assert list(table["h"]) == [24, 30, 96, 120] and list(table["w"]) == [24, 54, 96, 216]
    shares = table["share g > 0.5"].to_numpy()
    assert np.all(np.diff(shares) < 0)  # σ in bins: bigger maps, smaller share
    assert table["mean g"][0] == pytest.approx(sa.filter_stats(24, 24)["mean_g"])
    rel = sa.band_share_table(sigma=7 / 24, sigma_mode="relative")["share g > 0.5"]
    assert rel.max() - rel.min() < 0.03  # relative σ: about the same share everywhere


def test_band_gain_at_dc_mean_and_above_half():
    low15 = sa.band_gain(24, 24, 15, "low")
    # 1 − g(DC) = 1 − exp(−(12² + 12²) / (2·15²)) = 0.473: no bin above ½, DC still kept at 47 %
    assert low15["dc"] == pytest.approx(1 - math.exp(-288 / 450))
    assert low15["above_half"] == 0.0 and low15["nyquist"] == 0.0
    assert low15["mean"] == pytest.approx(1 - sa.filter_stats(24, 24, 15)["mean_g"])
    high7 = sa.band_gain(24, 24, 7, "high")
    assert high7["above_half"] == pytest.approx(sa.filter_stats(24, 24, 7)["share_high"])
    assert sa.band_gain(10, 12, 3, "all") == {
        "dc": 1.0,
        "nyquist": 1.0,
        "mean": 1.0,
        "above_half": 1.0,
    }
    with pytest.raises(ValueError, match="band"):
        sa.band_gain(8, 8, 3, "mid")


def test_filter_kernel_convolves_like_the_filter():
    img = np.random.default_rng(3).random((23, 23))  # odd sides: a centred kernel fits
    kernel = sa.filter_kernel(23, 23, 7.0, "low")
    direct = sa.circular_convolve(img, kernel)
    assert np.allclose(direct, sa.apply_band_filter(img, 7.0, "low"), atol=1e-12)
    k = sa.filter_kernel(24, 24, 7.0, "low", centred=False)
    assert k[0, 0] == pytest.approx(sa.band_gain(24, 24, 7.0, "low")["mean"])  # tap 0 = mean gain
    stats = sa.kernel_stats(sa.filter_kernel(24, 24, 7.0, "low"))
    assert stats["nonzero"] == 1.0  # image-sized: every tap is non-zero ...
    assert stats["energy_near"] > 0.99  # ... but 99.8 % of its energy is in the 3×3 centre
    assert stats["reach"] == pytest.approx(0.144, abs=0.001)
    assert stats["centre"] == pytest.approx(k[0, 0])
    with pytest.raises(ValueError, match="2-D"):
        sa.kernel_stats(np.ones(3))


def test_profile_sizes():
    assert profile_sizes("cpu").feature_image // 16 == sa.TRAIN_MAP_SIDE  # the training map
    assert profile_sizes("smoke").image < profile_sizes("cpu").image
    with pytest.raises(ValueError, match="unknown profile 'tpu'"):
        profile_sizes("tpu")


# --- LFM / HFM step by step ---------------------------------------------------------------


@FAST
@given(
    h=st.integers(1, 13),
    w=st.integers(1, 13),
    band=st.sampled_from(["low", "high", "all"]),
    convs=st.sampled_from([1, 2]),
    mode=st.sampled_from(["bins", "relative"]),
)
def test_steps_equal_the_module(h, w, band, convs, mode):
    torch.manual_seed(h * 13 + w)
    sigma = 3.0 if mode == "bins" else 0.3
    module = gsfm.FrequencyModule(4, band=band, sigma=sigma, sigma_mode=mode, convs=convs)
    x = torch.randn(2, 4, h, w)
    steps = sa.frequency_module_steps(module, x)
    with torch.no_grad():
        out = module(x)
    torch.testing.assert_close(steps.out, out, rtol=1e-5, atol=1e-5 * float(out.abs().max()))
    assert steps.stacked.shape == (2, 8, h, w) and steps.mixed.shape == (2, 4, h, w)
    torch.testing.assert_close(steps.out, steps.x + steps.z)
    expected_filter = module.filter_for(h, w, x.device)[0, 0]
    torch.testing.assert_close(steps.filt, expected_filter)


def test_steps_reject_fast_variant_and_wrong_input():
    with pytest.raises(ValueError, match="fast=False"):
        sa.frequency_module_steps(gsfm.LFM(4, fast=True), torch.randn(1, 4, 6, 6))
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        sa.frequency_module_steps(gsfm.LFM(4), torch.randn(1, 3, 6, 6))


def test_resnet_features_shapes_and_determinism():
    img = sa.load_image("camera", 64)
    f3 = sa.resnet_features(img, "layer3", seed=3)
    assert f3.shape == (1, 256, 4, 4) and torch.isfinite(f3).all()
    assert torch.equal(f3, sa.resnet_features(img, "layer3", seed=3))
    assert sa.resnet_features(np.stack([img] * 3, -1), "layer1").shape == (1, 64, 16, 16)
    with pytest.raises(ValueError, match="layer"):
        sa.resnet_features(img, "layer9")


# --- receptive field -------------------------------------------------------------------------


def test_receptive_field_local_conv_versus_global_spectral_module():
    torch.manual_seed(0)
    conv = sa.receptive_field(torch.nn.Conv2d(4, 4, 3, padding=1), 4, (10, 12), pixel=(4, 5))
    assert conv.shape == (10, 12)
    assert set(zip(*np.nonzero(conv), strict=True)) == {
        (y, x) for y in (3, 4, 5) for x in (4, 5, 6)
    }
    lfm = gsfm.LFM(4)
    spectral = sa.receptive_field(lfm, 4, (10, 12), pixel=(4, 5))
    assert (spectral > 0).all()  # every input pixel reaches the output pixel
    linear = sa.receptive_field(sa.without_relu(lfm), 4, (10, 12), pixel=(4, 5))
    assert sa.reach(spectral) > sa.reach(linear)
    with pytest.raises(ValueError, match="outside"):
        sa.receptive_field(lfm, 4, (10, 12), pixel=(10, 0))


def test_without_relu_is_affine_and_shares_weights():
    torch.manual_seed(0)
    lfm = gsfm.LFM(3)
    probe = sa.without_relu(lfm)
    assert sum(p.numel() for p in probe.parameters()) == count_parameters(lfm)
    a, b, zero = torch.randn(1, 3, 7, 9), torch.randn(1, 3, 7, 9), torch.zeros(1, 3, 7, 9)
    with torch.no_grad():
        gap = probe(a + b) - probe(a) - probe(b) + probe(zero)
        nonlinear_gap = lfm(a + b) - lfm(a) - lfm(b) + lfm(zero)
    assert gap.abs().max() < 1e-4
    assert nonlinear_gap.abs().max() > 1e-2  # the real module is not affine
    with pytest.raises(ValueError, match="fast"):
        sa.without_relu(gsfm.LFM(3, fast=True))


def test_bias_footprint_is_an_impulse_at_the_origin():
    torch.manual_seed(0)
    lfm = gsfm.LFM(3)
    x = torch.randn(2, 3, 8, 10)
    before = lfm.conv2.bias.detach().clone()
    fp = sa.bias_footprint(lfm, x)
    assert torch.equal(lfm.conv2.bias, before)  # the bias is put back
    at = fp[..., 0, 0]
    torch.testing.assert_close(at, before[:3].expand_as(at), rtol=1e-4, atol=1e-6)
    rest = fp.clone()
    rest[..., 0, 0] = 0
    assert rest.abs().max() < 1e-3 * at.abs().max()
    # conv1's bias feeds the ReLU, which treats each bin differently: it reaches every pixel
    spread = sa.bias_footprint(gsfm.LFM(3, convs=1), x, conv="conv1")
    assert spread[..., 1:, 1:].abs().max() > 0.1 * spread[..., 0, 0].abs().max()
    with pytest.raises(ValueError, match="conv2"):
        sa.bias_footprint(gsfm.LFM(3, convs=1), x)


def test_origin_excess_and_the_relu():
    z = torch.zeros(1, 2, 6, 8)
    z[..., 0, :] = 1.0  # the whole top row
    ex = sa.origin_excess(z)
    assert ex["row_0"] == pytest.approx(1.0) and ex["other_rows"] == pytest.approx(0.2)
    assert ex["col_0"] == pytest.approx(0.0) and ex["other_cols"] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        sa.origin_excess(torch.zeros(2, 2))
    torch.manual_seed(0)
    lfm = gsfm.LFM(16)
    table = sa.origin_table(lfm, torch.randn(1, 16, 16, 16) + 1.0, seed=1)
    assert list(table["module"]) == ["with ReLU", "without ReLU"] * 2
    noise = table[table["input"] == "noise"].set_index("module")
    # the rectified spectrum has a non-zero mean: row 0, column 0 and pixel (0, 0) stand out
    assert noise.loc["with ReLU", "row_0"] > 2 * noise.loc["with ReLU", "other_rows"]
    assert noise.loc["with ReLU", "col_0"] > 2 * noise.loc["with ReLU", "other_cols"]
    assert noise.loc["with ReLU", "pixel_00"] > 3
    # a linear spectral map has no such preference
    assert noise.loc["without ReLU", "row_0"] < 1.5 * noise.loc["without ReLU", "other_rows"]


def test_reach():
    field = np.array([[1.0, 0.01], [0.0001, 0.0]])
    assert sa.reach(field) == 0.5
    assert sa.reach(field, rel=1e-5) == 0.75
    assert sa.reach(np.zeros((2, 2))) == 0.0


# --- parameters and FLOPs -------------------------------------------------------------------


def test_parameter_counts_of_the_paper_modules():
    assert count_parameters(gsfm.LFM(1024)) == 8_392_704
    assert count_parameters(gsfm.HFM(256)) == 525_312
    table = sa.cost_table()
    assert table["params"].tolist() == [8_392_704, 8_392_704, 525_312, 525_312]
    one_conv = sa.cost_table((("LFM", 8, 4, 4),), convs=1)["params"][0]
    assert one_conv == count_parameters(gsfm.LFM(8, convs=1))


def test_flops_by_the_stated_conventions():
    c, h, w = 3, 4, 8
    n = h * w
    f = sa.frequency_module_flops(c, h, w, convs=2)
    assert f["fft"] == f["ifft"] == pytest.approx(c * 5 * n * math.log2(n))
    assert f["conv_macs"] == 2 * (2 * c) ** 2 * n
    assert f["conv"] == 2 * f["conv_macs"]
    assert f["filter"] == 2 * c * n and f["residual"] == c * n
    parts = f["fft"] + f["filter"] + f["conv"] + f["ifft"] + f["residual"]
    assert f["total"] == pytest.approx(parts)
    fast = sa.frequency_module_flops(c, h, w, fast=True)
    assert fast["conv_macs"] == 2 * (2 * c) ** 2 * h * (w // 2 + 1)
    assert fast["fft"] == pytest.approx(f["fft"] / 2)
    assert sa.frequency_module_flops(c, h, w, batch=4)["total"] == pytest.approx(4 * f["total"])
    with pytest.raises(ValueError):
        sa.frequency_module_flops(0, 4, 4)
    with pytest.raises(ValueError, match="convs"):
        sa.frequency_module_flops(2, 4, 4, convs=3)
