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
        "frame_rel": lambda p: viz.explorer_frame(img, 7, "all", relative=True, out_path=p),
        "explorer": lambda p: viz.sigma_explorer(images, interactive=False, out_path=p),
        "map_size": lambda p: viz.map_size_frame(5, ("HFM, test", 20, 30), out_path=p),
        "map_explorer": lambda p: viz.map_size_explorer(interactive=False, out_path=p),
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
    # panels 2, 4 and 5 (spectra) share one colour scale; no legend sits on a panel
    spectral = [ax for ax in fig.axes if ax.get_title()[:2] in ("2.", "4.", "5.")]
    assert len(spectral) == 3
    assert len({ax.images[0].get_clim() for ax in spectral}) == 1
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert "channel 1 of 3" in fig._suptitle.get_text()
    hfm_fig = viz.plot_module_walkthrough(sa.frequency_module_steps(gsfm.HFM(3), x))
    assert any("g (HFM)" in ax.get_title() for ax in hfm_fig.axes)


def test_filter_kernel_titles_report_gain_at_dc_mean_and_share():
    fig = viz.plot_filter_kernels((7, 15), size=(24, 24))
    titles = [ax.get_title() for ax in fig.axes]
    assert "σ = 7: DC 0.05, mean 0.45\ngain > ½ on 37% of bins" in titles  # HFM row
    assert "σ = 7: DC 0.95, mean 0.55\ngain > ½ on 63% of bins" in titles  # LFM rows
    # σ = 15: no bin keeps more than half under LFM, yet DC keeps 47 % (1 − 0.527)
    assert "σ = 15: DC 0.47, mean 0.19\ngain > ½ on 0% of bins" in titles
    assert "σ = 15: DC 0.53, mean 0.81\ngain > ½ on 100% of bins" in titles


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
    fig = viz.sigma_explorer(images, sigma=4, band="high", image="coffee", interactive=True)
    assert isinstance(fig, Figure)
    title = fig._suptitle.get_text()
    assert title.startswith("σ = 4 bins (= 3.0 bins on the 24×24 training map), band = high")
    rel = viz.sigma_explorer(images, sigma=7, relative=True, interactive=False)
    assert rel._suptitle.get_text().startswith(
        "σ = 7 bins on the 24×24 training map (= 9.3 bins on this 32×32 image), band = low"
    )
    assert isinstance(viz.map_size_explorer(interactive=False), Figure)
    with pytest.raises(ValueError, match="size index"):
        viz.map_size_explorer(size=9, interactive=False)
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


def test_explorer_frame_has_a_difference_panel_that_follows_sigma(images):
    img = images["camera"]
    a, b = viz.explorer_frame(img, 3, "low"), viz.explorer_frame(img, 12, "low")
    assert "σ = 3 bins" in a._suptitle.get_text() and "σ = 12 bins" in b._suptitle.get_text()
    diff_a = [ax for ax in a.axes if ax.get_title().startswith("filtered − original")]
    diff_b = [ax for ax in b.axes if ax.get_title().startswith("filtered − original")]
    assert len(diff_a) == len(diff_b) == 1
    shown_a = np.asarray(diff_a[0].images[0].get_array())
    expected = sa.apply_band_filter(img, 3, "low") - img
    assert np.allclose(shown_a, expected)
    assert not np.allclose(shown_a, np.asarray(diff_b[0].images[0].get_array()))


def test_frequency_components_difference_column_is_minus_the_high_band(images):
    fig = viz.plot_frequency_components({"camera": images["camera"]}, 0.3, "relative")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title().split(":")[0].split(" (")[0] for ax in panels] == [
        "camera",
        "low band",
        "low band − original",
        "high band",
    ]
    diff = np.asarray(panels[2].images[0].get_array())
    high = np.asarray(panels[3].images[0].get_array())
    assert np.allclose(diff, -high)


def _find(box, kind):
    """Every widget of type ``kind`` inside ``box``."""
    found, todo = [], [box]
    while todo:
        w = todo.pop()
        if isinstance(w, kind):
            found.append(w)
        todo.extend(getattr(w, "children", ()))
    return found


def test_sigma_explorer_widgets_redraw_and_convert(monkeypatch, images, capsys):
    widgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(viz, "widgets_available", lambda: True)
    box = viz.sigma_explorer(images, sigma=8, band="low", image="camera")
    assert "gsfm-sigma-explorer" in box._dom_classes
    (slider,) = _find(box, widgets.IntSlider)
    (toggle,) = _find(box, widgets.ToggleButton)
    titles = [w for w in _find(box, widgets.HTML) if "gsfm-sigma-title" in w._dom_classes]
    assert slider.description == "σ (bins)" and "gsfm-sigma-slider" in slider._dom_classes
    assert len(titles) == 1 and titles[0].value.startswith("σ = 8 bins (= 6.0 bins")
    slider.value = 11
    assert titles[0].value.startswith("σ = 11 bins (")
    toggle.value = True  # 11 bins of a 32-pixel image = 8.25 bins of the 24×24 map -> 8
    assert slider.value == 8 and slider.max == 24
    assert titles[0].value.startswith("σ = 8 bins on the 24×24 training map")
    toggle.value = False  # back: 8 · 32 / 24 = 10.7 -> 11
    assert slider.value == 11 and slider.max == 16
    capsys.readouterr()  # display() without a kernel prints the figure's repr


def test_map_size_explorer_widgets(monkeypatch, capsys):
    widgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(viz, "widgets_available", lambda: True)
    box = viz.map_size_explorer(sigma=7)
    (slider,) = _find(box, widgets.IntSlider)
    (dropdown,) = _find(box, widgets.Dropdown)
    assert slider.description == "σ (bins)" and len(dropdown.options) == 4
    dropdown.value = 2
    slider.value = 3
    capsys.readouterr()
