"""Tests of gsfm.viz.spectral: every plot returns a Figure, writes a readable PNG, leaves no mess."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import gsfm  # noqa: E402
from gsfm.analysis import spectral as sa  # noqa: E402
from gsfm.viz import spectral as viz  # noqa: E402


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    return {"camera": sa.load_image("camera", 32), "coffee": sa.load_image("coffee", 32)}


def _check_png(path, min_side: int = 100) -> None:
    assert path.is_file()
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) >= min_side
    assert pixels[..., :3].std() > 0.01  # something was drawn
    leftovers = [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the temporary file was renamed, not left behind


def test_figures_are_written_returned_and_closed(tmp_path, images):
    plt.close("all")
    torch.manual_seed(0)
    lfm = gsfm.LFM(4)
    steps = sa.frequency_module_steps(lfm, torch.randn(1, 4, 8, 10))
    fields = {
        "conv": sa.receptive_field(torch.nn.Conv2d(2, 2, 3, padding=1), 2, (8, 8)),
        "lfm": sa.receptive_field(gsfm.LFM(2), 2, (8, 8)),
    }
    img = images["camera"]
    direct, via_fft, err = sa.convolution_theorem_error(img, np.ones((3, 3)))
    calls = {
        "spectra": lambda p: viz.plot_spectra(images, out_path=p),
        "fig3": lambda p: viz.plot_frequency_components(images, 0.3, "relative", out_path=p),
        "fig3_bins": lambda p: viz.plot_frequency_components(images, 5.0, "bins", out_path=p),
        "fig6b": lambda p: viz.plot_filter_kernels((3, 7), size=(12, 16), out_path=p),
        "conv": lambda p: viz.plot_convolution_theorem(
            img, np.ones((3, 3)), direct, via_fft, err, out_path=p
        ),
        "frame": lambda p: viz.explorer_frame(img, 5.0, "high", out_path=p),
        "walk": lambda p: viz.plot_module_walkthrough(steps, image=img, out_path=p),
        "share": lambda p: viz.plot_band_share(out_path=p),
        "rf": lambda p: viz.plot_receptive_fields(fields, (2, 2), out_path=p),
    }
    for name, call in calls.items():
        path = tmp_path / name / f"{name}.png"  # the folder does not exist yet
        fig = call(path)
        assert isinstance(fig, Figure), name
        _check_png(path)
    assert plt.get_fignums() == []  # every figure was closed in pyplot


def test_no_file_without_out_path(tmp_path, monkeypatch, images):
    monkeypatch.chdir(tmp_path)
    fig = viz.plot_spectra(images)
    assert isinstance(fig, Figure) and list(tmp_path.iterdir()) == []


def test_walkthrough_panels_and_filter_name():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 6, 6)
    fig = viz.plot_module_walkthrough(sa.frequency_module_steps(gsfm.LFM(3), x), channel=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("FFT(x)" in t for t in titles) and any("x + z" in t for t in titles)
    assert any("1−g (LFM)" in t for t in titles)
    assert "channel 1 of 3" in fig._suptitle.get_text()
    hfm_fig = viz.plot_module_walkthrough(sa.frequency_module_steps(gsfm.HFM(3), x))
    assert any("g (HFM)" in ax.get_title() for ax in hfm_fig.axes)


def test_filter_kernel_titles_report_the_pass_share():
    fig = viz.plot_filter_kernels((7,), size=(24, 24))
    titles = [ax.get_title() for ax in fig.axes]
    assert "σ = 7: passes 37%" in titles  # HFM row
    assert "σ = 7: passes 63%" in titles  # LFM rows


def test_save_figure_is_atomic_and_png_only(tmp_path):
    from gsfm.viz.figures import save_figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    with pytest.raises(ValueError, match="png"):
        save_figure(fig, tmp_path / "x.jpg")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    fig.savefig = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="disk full"):
        save_figure(fig, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_explorer_degrades_to_a_static_frame_headless(images):
    assert viz.widgets_available() is False  # pytest has no Jupyter kernel
    fig = viz.sigma_explorer(images, sigma=4.0, band="high", image="coffee", interactive=True)
    assert isinstance(fig, Figure)
    assert "σ = 4 bins, band = high" in fig._suptitle.get_text()
    assert isinstance(viz.sigma_explorer(images, interactive=False), Figure)
    with pytest.raises(ValueError, match="unknown image 'moon'"):
        viz.sigma_explorer(images, image="moon")
    with pytest.raises(ValueError, match="at least one image"):
        viz.sigma_explorer({})


def test_receptive_field_titles_count_nonzero_pixels():
    field = np.zeros((4, 4))
    field[1, 1] = 2.0
    fig = viz.plot_receptive_fields({"one": field, "all": np.ones((4, 4))}, (1, 1))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert "non-zero on 6.2%" in titles[0] or "non-zero on 6.3%" in titles[0]
    assert "non-zero on 100.0%" in titles[1]
