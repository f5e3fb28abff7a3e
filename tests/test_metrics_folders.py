"""Folder scoring (gsfm.metrics.score_folders): agreement with vos-benchmark on generated
sequences, the DAVIS object rules, the Table 6 buckets, and one clear error per bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gsfm.data.io import write_mask
from gsfm.metrics import score_folders, score_sequence, size_buckets

vb = pytest.importorskip("vos_benchmark.benchmark")


def _write(root, seq, masks):
    for t, m in enumerate(masks):
        write_mask(root / seq / f"{t:05d}.png", m)


def _sequence(rng, t=10, h=40, w=64, k=2):
    gt = np.zeros((t, h, w), np.uint8)
    for obj in range(1, k + 1):
        y, x = rng.integers(0, h - 12), rng.integers(0, w - 20)
        for i in range(t):
            gt[i, y : y + 10, min(x + i, w - 10) : min(x + i, w - 10) + 10 + obj] = obj
    pred = gt.copy()
    pred[:, :, ::5] = 0
    shift = np.roll(gt, 2, axis=2)
    pred = np.where(rng.random(gt.shape) < 0.5, pred, shift)
    return gt, pred


def test_global_and_per_object_equal_vos_benchmark(tmp_path):
    rng = np.random.default_rng(1)
    gt_root, pred_root = tmp_path / "gt", tmp_path / "pred"
    for s in range(3):
        gt, pred = _sequence(rng, k=1 + s % 2 + 1)
        _write(gt_root, f"seq{s}", gt)
        _write(pred_root, f"seq{s}", pred)
    res = score_folders(gt_root, pred_root)
    jf, j, f, objects = vb.benchmark(
        [str(gt_root)], [str(pred_root)], num_processes=1, verbose=False
    )
    assert 100 * res.global_scores["J-Mean"].iloc[0] == pytest.approx(j[0], abs=1e-9)
    assert 100 * res.global_scores["F-Mean"].iloc[0] == pytest.approx(f[0], abs=1e-9)
    assert 100 * res.jf == pytest.approx(jf[0], abs=1e-9)
    for _, row in res.per_object.iterrows():
        iou, bf = objects[0][row["sequence"]]
        assert 100 * row["J-Mean"] == pytest.approx(iou[row["object"]], abs=1e-9)
        assert 100 * row["F-Mean"] == pytest.approx(bf[row["object"]], abs=1e-9)
    assert len(res.per_sequence) == 3
    assert set(res.per_frame.columns) == {"sequence", "object", "frame", "J", "F"}
    assert (
        res.per_frame["frame"].min() == 1 and res.per_frame["frame"].max() == 8
    )  # 1st/last dropped


def test_davis_rule_counts_objects_of_the_first_frame():
    gt = np.zeros((6, 10, 10), np.uint8)
    gt[:, 1:4, 1:4] = 2  # ids 1..max(frame 0) = 1, 2: object 1 is empty everywhere
    gt[3:, 6:9, 6:9] = 3  # appears later: dropped by the official rule
    pred = gt.copy()
    pred[:, 6:9, 6:9] = 0
    ids = [s.object_id for s in score_sequence(gt, pred, objects="davis")]
    assert ids == [1, 2]
    with pytest.raises(ValueError, match=r"id\(s\) \[3\]"):
        score_sequence(gt, gt, objects="davis")
    app = score_sequence(gt, pred, objects="appearance")
    assert [s.object_id for s in app] == [2, 3]
    assert app[1].first_frame == 3 and app[1].frames == [4]  # after its first annotation
    assert [s.object_id for s in score_sequence(gt, pred)] == [2, 3]  # auto -> appearance


def test_void_label_is_background():
    gt = np.zeros((4, 8, 8), np.uint8)
    gt[:, 2:5, 2:5] = 1
    gt[:, 6:, 6:] = 255
    scores = score_sequence(gt, np.where(gt == 255, 0, gt), objects="davis")
    assert [s.object_id for s in scores] == [1] and scores[0].j.tolist() == [1.0, 1.0]


def test_size_buckets_are_nested():
    df = pd.DataFrame(
        {
            "area_share": [0.1, 0.03, 0.008, 0.004],
            "J&F-Mean": [0.9, 0.8, 0.6, 0.4],
            "J-Mean": [0.9, 0.8, 0.6, 0.4],
            "F-Mean": [0.9, 0.8, 0.6, 0.4],
        }
    )
    b = size_buckets(df)
    assert b["bucket"].tolist() == ["all", "< 5%", "< 1%", "< 0.5%"]
    assert b["n_objects"].tolist() == [4, 3, 2, 1]
    assert b["J&F-Mean"].iloc[2] == pytest.approx(0.5)


@pytest.fixture
def folders(tmp_path):
    gt = np.zeros((5, 12, 16), np.uint8)
    gt[:, 2:6, 2:6] = 1
    _write(tmp_path / "gt", "a", gt)
    _write(tmp_path / "pred", "a", gt)
    return tmp_path / "gt", tmp_path / "pred"


def test_bad_input_missing_frame(folders):
    gt, pred = folders
    (pred / "a" / "00002.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"00002\.png"):
        score_folders(gt, pred)


def test_bad_input_size_mismatch(folders):
    gt, pred = folders
    write_mask(pred / "a" / "00003.png", np.zeros((10, 16), np.uint8))
    with pytest.raises(ValueError, match=r"00003\.png.*16x10"):
        score_folders(gt, pred)


def test_bad_input_rgb_prediction(folders):
    gt, pred = folders
    Image.fromarray(np.zeros((12, 16, 3), np.uint8)).save(pred / "a" / "00001.png")
    with pytest.raises(ValueError, match=r"00001\.png.*palette"):
        score_folders(gt, pred)


def test_bad_input_unknown_object_id(folders):
    gt, pred = folders
    m = np.zeros((12, 16), np.uint8)
    m[8:, 8:] = 4
    write_mask(pred / "a" / "00002.png", m)
    with pytest.raises(ValueError, match=r"id\(s\) \[4\].*pred"):
        score_folders(gt, pred)


def test_bad_input_empty_and_wrong_paths(folders, tmp_path):
    gt, pred = folders
    with pytest.raises(FileNotFoundError, match="nowhere"):
        score_folders(tmp_path / "nowhere", pred)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        score_folders(gt, tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no video folders"):
        score_folders(tmp_path / "empty", pred)
    (gt / "b").mkdir()
    with pytest.raises(ValueError, match=r"gt/b holds no PNG"):
        score_folders(gt, pred)


def test_missing_prediction_video(folders):
    gt, pred = folders
    _write(gt, "b", np.zeros((3, 12, 16), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"video 'b'"):
        score_folders(gt, pred)


def test_davis_2016_binary_masks_score_with_binary(tmp_path, capsys):
    """DAVIS 2016 stores 0/255 grayscale masks: by the void rule they hold no object, so any
    prediction is an error unless ``binary=True`` (one object: every non-zero pixel)."""
    from gsfm.cli import main

    gt = np.zeros((5, 12, 16), np.uint8)
    for t in range(5):
        gt[t, 2:8, 2 + t : 8 + t] = 255
    pred = np.where(gt > 0, 3, 0).astype(np.uint8)  # any predicted id is the object
    pred[2, 2:8, 4] = 0  # one column missed in frame 2
    for t in range(5):
        write_mask(tmp_path / "gt" / "a" / f"{t:05d}.png", gt[t], palette=None)
        write_mask(tmp_path / "pred" / "a" / f"{t:05d}.png", pred[t])
    with pytest.raises(ValueError, match="the ground truth lacks"):
        score_folders(tmp_path / "gt", tmp_path / "pred")
    result = score_folders(tmp_path / "gt", tmp_path / "pred", binary=True)
    row = result.per_object.iloc[0]
    assert row["object"] == 1 and row["J-Mean"] == pytest.approx((1 + 30 / 36 + 1) / 3)
    argv = ["score", "--gt", str(tmp_path / "gt"), "--pred", str(tmp_path / "pred"), "--quiet"]
    assert main([*argv, "--binary", "--csv", str(tmp_path / "r.csv")]) == 0
    assert (tmp_path / "r.csv").is_file()
