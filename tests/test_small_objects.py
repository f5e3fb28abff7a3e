"""gsfm.analysis.small_objects and its figure: the smallest objects, cropped and enlarged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gsfm.analysis.small_objects import object_crops, smallest_objects
from gsfm.data.layout import resolve_layout
from gsfm.data.synthetic import ensure_split
from gsfm.viz.small_objects import plot_small_object_crops


def test_smallest_objects_are_one_per_video_by_mean_area() -> None:
    table = pd.DataFrame(
        {
            "split": ["val"] * 6,
            "sequence": ["a", "a", "a", "b", "b", "c"],
            "object": [1, 1, 2, 1, 1, 1],
            "area": [0.010, 0.030, 0.001, 0.004, 0.006, 0.5],  # a/1: 0.02, a/2: 0.001, b/1: 0.005
        }
    )
    picks = smallest_objects(table, n=2)
    assert list(zip(picks["sequence"], picks["object"], strict=True)) == [("a", 2), ("b", 1)]
    assert picks["area"].tolist() == pytest.approx([0.001, 0.005])
    assert len(smallest_objects(table, n=10)) == 3  # one per video
    # then the smallest objects of other videos that tell the models apart
    flagged = table.assign(model_independent=[True, True, True, True, True, False])
    more = smallest_objects(flagged, n=1, informative=2)
    assert list(zip(more["sequence"], more["informative"], strict=True)) == [
        ("a", False),
        ("c", True),  # b's object scores alike for all models: skipped
    ]
    with pytest.raises(ValueError, match="model_independent"):
        smallest_objects(table, n=1, informative=1)
    with pytest.raises(ValueError, match="area"):
        smallest_objects(table.drop(columns=["area"]))


def test_crops_hold_the_object_and_methods_see_the_same_box(tmp_path: Path) -> None:
    root = ensure_split(tmp_path, "small", limit=2, height=64, width=112)
    ann_root = resolve_layout(root)[1]
    seq = sorted(p.name for p in ann_root.iterdir())[0]
    picks = pd.DataFrame({"split": ["small"], "sequence": [seq], "object": [1], "area": [0.01]})
    empty = tmp_path / "empty" / seq
    empty.mkdir(parents=True)
    for f in (ann_root / seq).iterdir():  # a "method" that predicts nothing
        from gsfm.data.io import read_mask, write_mask

        write_mask(empty / f.name, np.zeros_like(read_mask(f)))
    (crop,) = object_crops(root, {"GT copy": ann_root, "empty": tmp_path / "empty"}, picks, size=96)
    # the frame: one after the first annotation where a method marks the object
    assert crop.marked_by == ("GT copy",) and crop.ever_marked
    assert crop.frame != sorted(f.stem for f in (ann_root / seq).iterdir())[0]
    (missed,) = object_crops(root, {"empty": tmp_path / "empty"}, picks, size=96)
    assert missed.marked_by == () and not missed.ever_marked
    fig = plot_small_object_crops([missed], None, independent={(seq, 1)})
    assert "misses it in this frame" in fig.axes[2].get_title()  # after the frame and GT
    assert "model-independent" in fig.axes[0].get_title()
    assert "no model marks it in any frame" in fig.axes[0].get_title()
    assert any("cannot tell the models apart" in t.get_text() for t in fig.texts)
    y0, y1, x0, x1 = crop.box
    assert y1 - y0 == x1 - x0 >= 24 and y0 >= 0 and y1 <= 64 and x0 >= 0 and x1 <= 112
    assert (crop.masks["GT"] == 1).any()  # the object is inside its crop
    assert set(np.unique(crop.masks["GT"])) <= {0, 1}  # and the masks show it alone
    np.testing.assert_array_equal(crop.masks["GT"], crop.masks["GT copy"])
    assert not crop.masks["empty"].any()
    assert crop.crop.shape[0] >= 96 - (y1 - y0) and crop.crop.shape[:2] == crop.masks["GT"].shape
    fig = plot_small_object_crops(
        [crop], tmp_path / "fig7.png", scores={(seq, 1): {"GT copy": 100.0}}, note="test"
    )
    assert (tmp_path / "fig7.png").is_file()
    assert "J&F 100.0" in fig.axes[2].get_title()


def test_object_scores_average_each_objects_rows_per_variant_and_split() -> None:
    from gsfm.ablation.report import object_scores

    objects = pd.DataFrame(
        {
            "split": ["val", "val", "val", "small", "val"],
            "sequence": ["a", "a", "a", "a", "b"],
            "object": ["1", "1", "1", "1", "2"],  # strings, as read back from the CSV
            "variant": ["GSFM", "GSFM", "STCN", "GSFM", "GSFM"],
            "JF": [40.0, 60.0, 10.0, 99.0, 70.0],
        }
    )
    picks = pd.DataFrame({"split": ["val", "val"], "sequence": ["a", "b"], "object": [1, 2]})
    scores = object_scores(objects, picks, ["GSFM", "STCN"])
    assert scores[("a", 1)] == {"GSFM": 50.0, "STCN": 10.0}  # the small split's row is not mixed in
    assert scores[("b", 2)]["GSFM"] == 70.0
    assert np.isnan(scores[("b", 2)]["STCN"])  # no row: NaN, not a made-up score
