"""Evaluation readers on tiny fixtures in the real DAVIS 2016 / 2017 and YouTube-VOS layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _data_fixtures import (
    moving_square_video,
    write_davis2016,
    write_davis2017,
    write_youtube_valid,
)

from gsfm.data.davis import DAVISEvalDataset, DAVISVideo
from gsfm.data.io import write_mask
from gsfm.data.transforms import denormalize
from gsfm.data.youtube import YouTubeVOSEvalDataset


def test_davis2017_reader(tmp_path):
    root = write_davis2017(tmp_path / "trainval", {"bear": 6, "cows": 5})
    ds = DAVISEvalDataset(root, split="val", year=2017)
    assert len(ds) == 2 and ds.videos == ["bear", "cows"]
    item = ds[0]
    assert item["rgb"].shape == (6, 3, 24, 40) and item["rgb"].dtype == torch.float32
    assert item["masks"].shape == (6, 24, 40) and item["masks"].dtype == torch.uint8
    assert item["annotated"].all()
    info = item["info"]
    assert info["name"] == "bear" and info["frames"] == [f"{t:05d}" for t in range(6)]
    assert info["num_frames"] == 6 and info["size"] == (24, 40)
    assert info["labels"] == [1, 2] and info["first_frame"] == {1: 0, 2: 0}
    assert info["gt_obj"] == {0: [1, 2]}
    _, masks = moving_square_video(6, 24, 40, seed=0)
    np.testing.assert_array_equal(item["masks"].numpy(), masks)
    raw = DAVISEvalDataset(root, year=2017, normalized=False)[0]["rgb"]
    assert raw.dtype == torch.uint8
    assert torch.allclose(denormalize(item["rgb"]), raw.float() / 255, atol=1e-5)


def test_davis_objects_first_annotated_later(tmp_path):
    root = write_davis2017(tmp_path / "d", {"v": 6})
    ann = root / "Annotations/480p/v"
    from gsfm.data.io import read_mask

    for t in range(6):
        m = read_mask(ann / f"{t:05d}.png")
        m[m == 2] = 0
        if t >= 3:
            m[20:23, 30:33] = 3
        write_mask(ann / f"{t:05d}.png", m)
    vid = DAVISEvalDataset(root, year=2017).video(0)
    assert vid.first_frame == {1: 0, 3: 3}
    first_only = DAVISVideo(root / "JPEGImages/480p/v", ann, objects_from="first")
    assert first_only.objects == [1]  # the authors' DAVIS path


def test_davis2017_test_dev_sparse_annotations(tmp_path):
    root = write_davis2017(tmp_path / "test-dev", {"v": 5})
    for t in range(1, 5):
        (root / "Annotations/480p/v" / f"{t:05d}.png").unlink()
    item = DAVISEvalDataset(root, year=2017)[0]
    assert item["annotated"].tolist() == [True, False, False, False, False]
    assert item["masks"][1:].sum() == 0 and item["info"]["labels"] == [1, 2]


def test_davis2016_reader_binarises(tmp_path):
    root = write_davis2016(tmp_path / "DAVIS2016")
    ds = DAVISEvalDataset(root, split="val", year=2016)
    item = ds[0]
    assert ds.videos == ["bear"]
    assert set(item["masks"].unique().tolist()) == {0, 1}
    assert item["info"]["labels"] == [1]


def test_reader_errors_name_the_file(tmp_path):
    root = write_davis2017(tmp_path / "d", {"v": 4})
    write_mask(root / "Annotations/480p/v/00002.png", np.zeros((10, 12), np.uint8))
    with pytest.raises(ValueError, match=r"00002\.png is 12x10"):
        DAVISEvalDataset(root, year=2017)[0]
    with pytest.raises(FileNotFoundError, match="nowhere"):
        DAVISEvalDataset(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="test-dev"):
        DAVISEvalDataset(root, split="test-dev", year=2017)
    write_mask(root / "Annotations/480p/v/00009.png", np.zeros((24, 40), np.uint8))
    with pytest.raises(ValueError, match=r"00009\.png has no frame"):
        DAVISEvalDataset(root, year=2017)[0]


def test_youtube_reader_sparse_and_late_objects(tmp_path):
    root = write_youtube_valid(tmp_path / "YouTube")
    ds = YouTubeVOSEvalDataset(root, split="valid")
    assert len(ds) == 1
    item = ds[0]
    info = item["info"]
    assert item["rgb"].shape == (15, 3, 24, 40)  # all frames
    assert info["output_frames"] == ["00000", "00005", "00010"]
    assert info["labels"] == [1, 2]
    assert info["first_frame"] == {1: 0, 2: 10}
    assert info["gt_obj"] == {0: [1], 10: [2]}
    assert item["annotated"].nonzero().flatten().tolist() == [0, 10]
    only_valid = YouTubeVOSEvalDataset(
        root / "valid", all_frames_root=root / "valid" / "JPEGImages"
    )
    assert only_valid[0]["rgb"].shape[0] == 3


def test_youtube_reader_errors(tmp_path):
    root = write_youtube_valid(tmp_path / "YouTube")
    (root / "valid/meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="meta.json"):
        YouTubeVOSEvalDataset(root)
    with pytest.raises(FileNotFoundError, match="meta.json"):
        YouTubeVOSEvalDataset(tmp_path)
