"""gsfm.viz.data: the benchmark example grid."""

from __future__ import annotations

import numpy as np
import pytest

from gsfm.data.synthetic import generate_video
from gsfm.viz.data import overlay, plot_benchmark_examples, small_object_boxes


def test_overlay_marks_objects_only():
    img = np.full((10, 12, 3), 100, np.uint8)
    m = np.zeros((10, 12), np.uint8)
    m[2:6, 3:8] = 1
    out = overlay(img, m)
    assert (out[8:, :] == 100).all()  # far from the object: untouched
    assert (out[3, 4] != 100).any()  # inside: tinted


def test_plot_benchmark_examples_writes_png(tmp_path):
    vids = [generate_video("val", i) for i in (0, 4)]
    out = tmp_path / "fig.png"
    fig = plot_benchmark_examples(vids, out_path=out, cases=("lookalike", "late"), n_frames=3)
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 6


def test_small_object_boxes_magnify_tiny_objects_only():
    m = np.zeros((160, 288), np.uint8)
    m[100:106, 200:206] = 1  # 36 px: 0.08 % of the frame
    m[10:70, 10:90] = 2  # large
    boxes = small_object_boxes(m)
    assert len(boxes) == 1
    y0, y1, x0, x1 = boxes[0]
    assert y0 <= 100 and y1 >= 106 and x0 <= 200 and x1 >= 206  # holds the object
    assert 16 <= y1 - y0 <= 0.2 * 160  # at least min_side, small enough to magnify twice
    assert (x1 - x0) / (y1 - y0) == pytest.approx(288 / 160, rel=0.1)  # the frame's aspect
    assert small_object_boxes(np.where(m == 1, 0, m)) == []  # nothing small: no inset
    spread = np.zeros((160, 288), np.uint8)
    spread[20:140:10, 50] = 3  # few pixels, but spread over the frame (e.g. mostly occluded)
    assert small_object_boxes(spread) == []
    near = m.copy()
    near[108:112, 210:214] = 3  # a second tiny object next to the first: one merged window
    assert len(small_object_boxes(near)) == 1


def test_benchmark_examples_zoom_on_small_objects(tmp_path):
    vids = [generate_video("val", i) for i in (0, 1)]  # lookalike (large), small
    fig = plot_benchmark_examples(vids, out_path=None, cases=("lookalike", "small"), n_frames=2)
    insets = [len([c for c in ax.child_axes if c.get_gid() == "zoom"]) for ax in fig.axes]
    assert insets[:2] == [0, 0]  # the lookalike row has no tiny object
    assert all(n >= 1 for n in insets[2:])  # every panel of the small row magnifies its objects
