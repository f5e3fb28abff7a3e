"""gsfm.analysis.matching: the readout weights of one query pixel (the paper's Fig. 1)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gsfm.analysis import matching
from gsfm.data.synthetic import generate_video

# float results of torch kernels: rerun under other CPU capabilities (make test-numerics)
pytestmark = pytest.mark.numerics


class ColourKeys(nn.Module):
    """A stand-in network whose key is the mean colour of each 16x16 cell (C_k = 3).

    With it the correct match is known: a query cell matches the memory cells of its colour.
    """

    def __init__(self, top_k: int | None = 2, scale: float = 10.0) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(top_k=top_k, affinity="l2")
        self.scale = scale

    def encode_key(self, x: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(key=self.scale * F.avg_pool2d(x, 16))


def _clip(h: int = 48, w: int = 64) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Two frames on a grey background: frame 0 (memory) holds a red target cell at cell
    (0, 0) and a red lookalike at cell (2, 3); frame 1 (query) holds the target at (1, 1)."""
    frames = torch.full((2, 3, h, w), 0.2)
    target = np.zeros((2, h, w), bool)
    look = np.zeros((2, h, w), bool)
    red = torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1)
    frames[0, :, 0:16, 0:16] = red
    target[0, 0:16, 0:16] = True
    frames[0, :, 32:48, 48:64] = red
    look[0, 32:48, 48:64] = True
    frames[1, :, 16:32, 16:32] = red
    target[1, 16:32, 16:32] = True
    return frames, target, look


def test_cell_coverage_counts_area_per_cell() -> None:
    m = np.zeros((1, 32, 32), bool)
    m[0, :16, :16] = True
    m[0, 16:24, 16:32] = True  # half of cell (1, 1)
    cov = matching.cell_coverage(m, (0, 0, 0, 0))
    np.testing.assert_allclose(cov[0], [[1.0, 0.0], [0.0, 0.5]])
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        matching.cell_coverage(np.zeros((4, 4)), (0, 0, 0, 0))


def test_match_pixel_finds_the_same_colour_and_keeps_top_k() -> None:
    frames, target, look = _clip()
    net = ColourKeys(top_k=2)
    m = matching.match_pixel(net, frames, 1, (20, 20), (0,))
    assert m.cell == (1, 1) and m.weights.shape == (1, 3, 4)
    assert np.count_nonzero(m.weights) == 2  # top-2
    assert m.weights.sum() == pytest.approx(1.0, abs=1e-6)
    # the two red cells (target and lookalike) are equally close: they share the weight
    assert m.weights[0, 0, 0] == pytest.approx(0.5, abs=1e-4)
    assert m.weights[0, 2, 3] == pytest.approx(0.5, abs=1e-4)
    assert m.share_on(target[[0]]) == pytest.approx(0.5, abs=1e-4)
    assert m.share_on(look[[0]]) == pytest.approx(0.5, abs=1e-4)
    wm = m.weight_map()
    assert wm.shape == (1, 48, 64) and wm[0, 5, 5] == pytest.approx(m.weights[0, 0, 0])
    soft = ColourKeys(scale=1.0)  # small logits: the full softmax leaves no weight at 0
    full = matching.match_pixel(soft, frames, 1, (20, 20), (0,), top_k=None)
    assert np.count_nonzero(full.weights) == 12 and full.top_k is None
    assert full.weights.sum() == pytest.approx(1.0, abs=1e-6)
    assert full.weights[0, 0, 0] == full.weights.max()


def test_matching_shares_sum_to_one_and_see_the_lookalike() -> None:
    frames, target, look = _clip()
    net = ColourKeys(top_k=None)
    shares = matching.matching_shares(net, frames, target, look, 1, (0,))
    assert shares["n_query_cells"] == 1
    total = shares["target"] + shares["distractors"] + shares["rest"]
    assert total == pytest.approx(1.0, abs=1e-6)
    assert shares["target"] == pytest.approx(shares["distractors"], abs=1e-4)
    assert shares["target"] > 0.45  # the grey cells are far from red
    # without the lookalike in memory, the target takes (almost) all of it
    frames2 = frames.clone()
    frames2[0, :, 32:48, 48:64] = 0.2
    alone = matching.matching_shares(net, frames2, target, np.zeros_like(look), 1, (0,))
    assert alone["target"] > 0.99 and alone["distractors"] == 0.0


def test_keys_can_be_reused_and_padding_is_handled() -> None:
    frames = torch.randn(3, 3, 40, 56)  # not multiples of 16: padded to 48 x 64
    net = ColourKeys(top_k=3)
    keys = matching.frame_keys(net, frames, indices=(0, 2))
    assert set(keys[0]) == {0, 2} and keys[0][0].shape == (3, 3, 4)
    assert keys[1] == (4, 4, 4, 4)
    a = matching.match_pixel(net, frames, 2, (39, 55), (0,), keys=keys)
    b = matching.match_pixel(net, frames, 2, (39, 55), (0,))
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.weight_map().shape == (1, 40, 56)
    with pytest.raises(ValueError, match="were not computed"):
        matching.match_pixel(net, frames, 1, (0, 0), (0,), keys=keys)


@pytest.mark.parametrize(
    ("point", "query", "memory", "message"),
    [((48, 0), 1, (0,), "outside"), ((0, 0), 5, (0,), "not valid"), ((0, 0), 1, (), "not valid")],
)
def test_bad_arguments_are_rejected(point, query, memory, message) -> None:
    frames, _, _ = _clip()
    with pytest.raises(ValueError, match=message):
        matching.match_pixel(ColourKeys(), frames, query, point, memory)


def test_pick_query_point_is_inside_the_mask() -> None:
    m = np.zeros((48, 64), bool)
    m[10:40, 20:60] = True
    y, x = matching.pick_query_point(m)
    assert m[y, x]
    thin = np.zeros((48, 64), bool)
    thin[5, 3:60] = True  # thinner than a cell: the nearest mask pixel is returned
    assert thin[matching.pick_query_point(thin)]
    with pytest.raises(ValueError, match="empty"):
        matching.pick_query_point(np.zeros((8, 8), bool))


def test_lookalike_masks_of_a_synthetic_video() -> None:
    vid = generate_video("val", 0, height=48, width=88)  # case "lookalike"
    look = matching.lookalike_masks(vid)
    assert look.shape == vid.masks.shape and look.dtype == bool
    assert look.any()
    assert not (look & (vid.masks > 0)).any()  # lookalikes are background in the annotation
    two = matching.lookalike_masks(vid, frames=[0, 5])
    np.testing.assert_array_equal(two, look[[0, 5]])
    none = matching.lookalike_masks(vid, target=7)  # no object imitates id 7
    assert not none.any()


def test_match_models_matches_each_model_at_one_pixel() -> None:
    frames, _, _ = _clip()
    nets = {"two": ColourKeys(top_k=2), "all": ColourKeys(top_k=None, scale=1.0)}
    keys = {"two": matching.frame_keys(nets["two"], frames)}  # "all" is encoded on the fly
    found = matching.match_models(nets, frames, 1, (20, 20), (0,), top_k="config", keys=keys)
    assert list(found) == ["two", "all"]
    assert np.count_nonzero(found["two"].weights) == 2 and found["all"].top_k is None
    with pytest.raises(ValueError, match="no models"):
        matching.match_models({}, frames, 1, (20, 20))


def test_query_pixel_picker_static_and_interactive(tmp_path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    from gsfm.viz import matching as viz_matching

    frames, target, look = _clip()
    nets = {"STCN": ColourKeys(top_k=2), "GSFM": ColourKeys(top_k=2)}
    img = np.full((48, 64, 3), 100, np.uint8)
    kw = dict(query_image=img, memory_image=img, target=target[0], distractors=look[0])
    out = tmp_path / "fig1.png"
    fig = viz_matching.query_pixel_picker(nets, frames, 1, (20, 20), **kw, out_path=out)
    assert isinstance(fig, Figure) and out.is_file()  # headless: the static figure, saved
    assert "50 % on the target" in fig.axes[1].get_xlabel()

    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(viz_matching, "widgets_available", lambda: True)
    out.unlink()
    box = viz_matching.query_pixel_picker(
        nets, frames, 1, (20, 20), **kw, query_target=target[1], out_path=out
    )
    assert out.is_file()  # the starting pixel's figure is saved; picked pixels are only drawn
    (row, col), note = box.children[0].children, box.children[1]
    assert (row.max, col.max) == (47, 63) and "on the target" in note.value
    before = out.stat().st_mtime_ns
    row.value = 2  # a grey pixel: the note follows the pick, the saved figure does not change
    assert "row 2, column 20 (not on the target)" in note.value
    assert out.stat().st_mtime_ns == before
    static = viz_matching.query_pixel_picker(
        nets, frames, 1, (20, 20), **kw, out_path=None, interactive=False
    )
    assert isinstance(static, Figure)  # interactive=False wins over an available kernel
