"""gsfm.viz.data: the benchmark example grid."""

from __future__ import annotations

import numpy as np

from gsfm.data.synthetic import generate_video
from gsfm.viz.data import overlay, plot_benchmark_examples


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
