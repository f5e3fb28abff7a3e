"""gsfm.viz.training and gsfm.viz.matching: every figure is written as a PNG, closed, returned."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gsfm.analysis.comparison import PAPER_RESULTS, QualitativeVideo
from gsfm.analysis.matching import PixelMatches
from gsfm.viz import matching as viz_matching
from gsfm.viz import training as viz


def _log(n: int = 6) -> pd.DataFrame:
    it = np.arange(1, n + 1)
    return pd.DataFrame(
        {"iteration": it, "total": 2.0 / it, "ce": 1.5 / it, "boundary": 1.0 / it,
         "iou": it / n, "p": np.linspace(1, 0.15, n), "lr": [1e-4] * (n - 1) + [1e-5]}
    )  # fmt: skip


def _check_png(fig, path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.format == "PNG" and im.width > 200 and im.height > 100
    assert not plt.fignum_exists(fig.number)  # closed after saving
    assert not list(path.parent.glob(f".{path.name}*"))  # no temporary file left


def test_training_curves_from_folders_and_frames(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    _log().to_csv(run / "log.csv", index=False)
    out = tmp_path / "curves.png"
    fig = viz.plot_training_curves({"a": run, "b": _log(4)}, out, smooth=2)
    _check_png(fig, out)
    axes = fig.axes
    assert len(axes) == 4 and len(axes[0].lines) == 2
    assert axes[2].get_yscale() == "log"  # learning rate
    np.testing.assert_allclose(axes[3].lines[0].get_ydata(), _log()["p"])  # p is not smoothed
    notes = [t.get_text() for t in fig.texts]
    assert any("rolling mean over 2 log rows" in t for t in notes)  # the smoothing is stated
    assert not [a for ax in axes for a in ax.patches if a.get_gid() == viz.WARMUP_GID]


def test_training_curves_shade_the_warm_up_and_state_the_smoothing(tmp_path: Path) -> None:
    fig = viz.plot_training_curves({"a": _log(8)}, tmp_path / "c.png", smooth=1, warmup=(2, 5))
    for ax in fig.axes:  # every panel shades start_warm..end_warm
        spans = [a for a in ax.patches if a.get_gid() == viz.WARMUP_GID]
        assert len(spans) == 1
        span = spans[0]
        assert (span.get_x(), span.get_x() + span.get_width()) == pytest.approx((2.0, 5.0))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "bootstrapped-CE warm-up (2-5)" in labels
    note = " ".join(t.get_text() for t in fig.texts)
    assert "(1 iteration)" in note and "no further smoothing" in note
    assert "about 100 iterations" in viz.smoothing_note(4, 25)


def test_read_log_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="log.csv"):
        viz.read_log(tmp_path)
    bad = tmp_path / "log.csv"
    pd.DataFrame({"iteration": [1]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=r"log.csv lacks .*'iou'"):
        viz.read_log(bad)
    with pytest.raises(ValueError, match="no runs"):
        viz.plot_training_curves({}, None)


def test_bootstrap_schedule_follows_the_loss_schedule(tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    fig = viz.plot_bootstrap_schedule(100, 20, 60, 0.15, out, logged=_log())
    _check_png(fig, out)
    line = fig.axes[0].lines[0]
    y = np.asarray(line.get_ydata())
    assert (
        y[0] == 1.0
        and y[20] == 1.0
        and y[60] == pytest.approx(0.15)
        and y[-1] == pytest.approx(0.15)
    )
    with pytest.raises(ValueError, match=r"\.png"):
        viz.plot_bootstrap_schedule(10, 1, 5, out_path=tmp_path / "p.jpg")


def test_boundary_target_figure(tmp_path: Path) -> None:
    mask = np.zeros((40, 60))
    mask[10:30, 15:45] = 1
    target = mask.copy()
    target[11:29, 16:44] = 0
    out = tmp_path / "b.png"
    fig = viz.plot_boundary_target(mask, 3 * target, target, out)
    _check_png(fig, out)
    assert len(fig.axes) == 4
    assert not [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]  # no stray colour bar
    numbers = [t for t in fig.axes[3].texts if t.get_gid() == "response"]
    rows, cols = fig.axes[3].images[0].get_array().shape[:2]
    assert len(numbers) == rows * cols and cols == 18  # every zoomed pixel shows its response
    assert {t.get_text() for t in numbers} <= {"0", "3"}
    fig = viz.plot_boundary_target(mask, 3 * target, target, None, crop=(8, 14, 12, 20))
    assert fig.axes[3].images[0].get_array().shape[:2] == (6, 8)
    with pytest.raises(ValueError, match="one size"):
        viz.plot_boundary_target(mask, target[:5], target, None)


def test_jf_comparison_with_and_without_paper(tmp_path: Path) -> None:
    summary = pd.DataFrame(
        {"method": ["STCN", "GSFM", "empty", "copy-first"], "J&F": [60.0, 62.0, 0.0, 30.0],
         "J&F std": [1.0, 2.0, math.nan, math.nan], "J": [1, 1, 0, 1], "F": [1, 1, 0, 1],
         "FPS": [8, 6, math.nan, math.nan], "n_seeds": [2, 2, 0, 0]}
    )  # fmt: skip
    out = tmp_path / "jf.png"
    fig = viz.plot_jf_comparison(summary, out, paper=PAPER_RESULTS)
    _check_png(fig, out)
    assert len(fig.axes) == 2 and "paper" in fig.axes[1].get_title()
    heights = [b.get_height() for b in fig.axes[0].patches]
    assert heights == [60.0, 62.0, 0.0, 30.0]
    assert len(viz.plot_jf_comparison(summary, None).axes) == 1
    with pytest.raises(ValueError, match="empty"):
        viz.plot_jf_comparison(summary.iloc[:0], None)


def test_qualitative_figure(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (3, 32, 48, 3), dtype=np.uint8)
    masks = np.zeros((3, 32, 48), np.uint8)
    masks[:, 8:20, 10:30] = 1
    vids = [
        QualitativeVideo(
            "v1", "first", [0, 5, 9], images, {"GT": masks, "A": masks, "B": 0 * masks}
        ),
        QualitativeVideo("v2", "second", [0, 9], images[:2], {"GT": masks[:2], "A": masks[:2]}),
    ]
    out = tmp_path / "q.png"
    fig = viz.plot_qualitative(vids, out)
    _check_png(fig, out)
    shown = [ax for ax in fig.get_axes() if ax.images]
    assert len(shown) == 3 * 3 + 2 * 2
    legends = [sub.legends[0] for sub in fig.subfigs]
    assert [t.get_text() for t in legends[0].get_texts()] == ["object 1"]
    two = masks.copy()
    two[:, 22:30, 32:44] = 2
    vids[1] = QualitativeVideo("v2", "second", [0, 9], images[:2], {"GT": two[:2], "A": masks[:2]})
    fig = viz.plot_qualitative(vids, None)
    texts = [[t.get_text() for t in sub.legends[0].get_texts()] for sub in fig.subfigs]
    assert texts == [["object 1"], ["object 1", "object 2"]]  # one entry per GT object
    assert viz.qualitative_objects(vids[1]) == [1, 2]
    with pytest.raises(ValueError, match="no videos"):
        viz.plot_qualitative([], None)


def test_matching_figure(tmp_path: Path) -> None:
    weights = np.zeros((1, 2, 3), np.float32)
    weights[0, 1, 2] = 0.7
    weights[0, 0, 0] = 0.3
    m = PixelMatches(4, (20, 20), (1, 1), (0,), weights, weights, 2, (0, 0, 0, 0))
    half = PixelMatches(4, (20, 20), (1, 1), (0,), weights / 2, weights, 2, (0, 0, 0, 0))
    img = np.full((32, 48, 3), 128, np.uint8)
    target = np.zeros((32, 48), bool)
    target[16:32, 32:48] = True
    out = tmp_path / "fig1.png"
    fig = viz_matching.plot_matching(img, img, {"STCN": m, "GSFM": half}, out, target=target)
    _check_png(fig, out)
    assert len(fig.axes) == 4  # query, two models, the colour bar
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bar) == 1 and "weight" in bar[0].get_ylabel()
    assert bar[0].get_ylim()[1] == pytest.approx(0.7)  # one scale: the largest weight of all
    # GSFM's weights are half of STCN's: its brightest cell is half as red on the shared scale
    red = [ax.images[0].get_array()[16:32, 32:48, 0].max() for ax in fig.axes[1:3]]
    assert red[0] > red[1]
    assert "70 % on the target" in fig.axes[1].get_xlabel()
    assert min(t.get_fontsize() for t in [fig.axes[1].title, fig.axes[1].xaxis.label]) >= 9
    shares = {"GSFM": {"target": 0.5, "distractors": 0.25, "rest": 0.25, "n_query_cells": 3}}
    fig = viz_matching.plot_matching(img, img, {"GSFM": m}, None, shares=shares)
    assert "25 % on lookalikes" in fig.axes[1].get_xlabel()
    assert "mean over 3 target cells" in fig.axes[1].get_xlabel()
    with pytest.raises(ValueError, match="no model"):
        viz_matching.plot_matching(img, img, {}, None)


def test_summarize_log_compares_first_and_last_tenth():
    log = pd.DataFrame(
        {
            "iteration": range(1, 21),
            "total": [1.0] * 2 + [0.5] * 16 + [2.0] * 2,
            "iou": [0.1] * 2 + [0.5] * 16 + [0.8] * 2,
            "lr": 1e-4,
            "p": 1.0,
        }
    )
    s = viz.summarize_log(log)
    assert s == {"loss_first": 1.0, "loss_last": 2.0, "iou_first": 0.1, "iou_last": 0.8}
