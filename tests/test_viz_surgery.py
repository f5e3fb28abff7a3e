"""Spectral surgery measured and drawn on a smoke-profile clip (untrained network: the numbers
mean nothing, the plumbing is what is checked)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from gsfm.analysis.surgery import Surgery, SurgeryBench
from gsfm.data.synthetic import ensure_split
from gsfm.experiments import eval_split_settings
from gsfm.model import build_model
from gsfm.viz import surgery as viz_surgery


@pytest.fixture(scope="module")
def bench_and_net(tmp_path_factory: pytest.TempPathFactory) -> tuple[SurgeryBench, torch.nn.Module]:
    root = ensure_split(tmp_path_factory.mktemp("data"), "val", **eval_split_settings("smoke"))
    bench = SurgeryBench.from_split(root, n_videos=1, n_frames=3, query_frame=5, top_k=5)
    torch.manual_seed(0)
    return bench, build_model("gsfm", "smoke").eval()


def test_bench_measures_shares_matches_and_jf_and_caches(bench_and_net) -> None:
    bench, net = bench_and_net
    assert bench.target[bench.query_frame][bench.point]  # the query pixel is on the target
    assert (
        bench.query_image.dtype == np.uint8
        and bench.query_image.shape[:2] == bench.frames.shape[-2:]
    )
    base = bench.measure(net)
    assert abs(base.matches.weights.sum() - 1) < 1e-4 and (base.matches.weights > 0).sum() <= 5
    assert abs(base.shares["target"] + base.shares["distractors"] + base.shares["rest"] - 1) < 1e-6
    assert list(base.jf) == ["val_000_lookalike"] and 0 <= base.mean_jf <= 100
    assert bench.measure(net) is base  # cached
    no_hfm = bench.measure(net, Surgery(hfm=False))  # the HFM is after the memory read
    assert no_hfm.shares == base.shares and np.array_equal(
        no_hfm.matches.weights, base.matches.weights
    )
    cut = bench.measure(net, Surgery(band=(0, 1), band_action="keep", bins=16))  # keys = their DC
    kept = cut.matches.weights[cut.matches.weights > 0]
    assert len(kept) == 5 and np.allclose(kept, 0.2, atol=1e-3)  # a five-way tie


def test_figures_and_the_static_widget(bench_and_net, tmp_path: Path) -> None:
    bench, net = bench_and_net
    base = bench.measure(net)
    other = bench.measure(net, Surgery(lfm=False))
    text = viz_surgery.readout_text("GSFM", other, base)
    assert text.startswith("GSFM, LFM bypassed: target ") and "J&F on 1 videos" in text
    out = tmp_path / "grid.png"
    fig = viz_surgery.plot_surgery_grid(bench, [base, other], out, note="smoke")
    assert isinstance(fig, Figure) and out.stat().st_size > 10_000
    assert [a.get_title() for a in fig.axes[1:3]] == ["as trained", "LFM bypassed"]
    one = viz_surgery.plot_surgery(bench, base, other, tmp_path / "one.png")
    assert "after: LFM bypassed" in [a.get_title() for a in one.axes][2]
    static = viz_surgery.surgery_widget(net, bench, interactive=False)  # no kernel: the picture
    assert static.data.startswith(b"\x89PNG") and static.format == "png"
    with pytest.raises(ValueError, match="no surgery results"):
        viz_surgery.plot_surgery_grid(bench, [], None)
