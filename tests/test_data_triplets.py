"""Training data: max-skip curriculum, triplet / object sampling, VOS triplets over DAVIS and
YouTube-VOS layouts, static pseudo-videos, and the sample-dict contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _data_fixtures import write_davis2017, write_youtube_train
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from gsfm.data.io import write_image
from gsfm.data.static import StaticPseudoVideoDataset
from gsfm.data.transforms import tps_warp
from gsfm.data.triplets import VOSTripletDataset, max_skip_at, pick_objects, sample_triplet_indices


def check_sample(s, size):
    h, w = size
    assert s["rgb"].shape == (3, 3, h, w) and s["rgb"].dtype == torch.float32
    assert s["gt"].shape == (3, 1, h, w) and s["sec_gt"].shape == (3, 1, h, w)
    assert s["cls_gt"].shape == (3, h, w) and s["cls_gt"].dtype == torch.int64
    assert s["selector"].shape == (2,) and s["selector"][0] == 1
    assert set(s["cls_gt"].unique().tolist()) <= {0, 1, 2}
    hard = s["gt"][:, 0] > 0.5
    assert torch.equal(s["cls_gt"] == 1, hard)
    if s["selector"][1] == 0:
        assert s["sec_gt"].sum() == 0
    assert isinstance(s["info"]["name"], str) and len(s["info"]["frames"]) == 3


@pytest.mark.parametrize(
    ("fraction", "skip"),
    [
        (0.0, 5),
        (0.099, 5),
        (0.1, 10),
        (0.15, 10),
        (0.2, 15),
        (0.35, 20),
        (0.4, 25),
        (0.89, 25),
        (0.9, 5),
        (1.0, 5),
    ],
)
def test_max_skip_curriculum(fraction, skip):
    assert max_skip_at(fraction) == skip


def test_max_skip_bad_input():
    with pytest.raises(ValueError, match="same length"):
        max_skip_at(0.5, (1, 2), (0.1,))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        max_skip_at(1.5)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 120), skip=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_triplet_indices_follow_the_rule(n, skip, seed):
    idx = sample_triplet_indices(n, skip, np.random.default_rng(seed))
    a, b, c = idx if idx[0] <= idx[2] else idx[::-1]
    assert 0 <= a <= b <= c <= n - 1
    j = min(n, skip)
    assert b - a <= j + 1 and c - b <= j + 1
    assert a <= n - j
    assert b <= max(n - j, 0) or b == n - 1  # the f1 cap


def test_reversal_happens_about_half_the_time():
    rng = np.random.default_rng(0)
    rev = sum(
        bool(i[0] > i[2]) for i in (sample_triplet_indices(100, 10, rng) for _ in range(2000))
    )
    assert 850 < rev < 1150


def test_pick_objects():
    rng = np.random.default_rng(0)
    assert pick_objects(np.zeros((4, 4)), rng) == (None, None)
    m = np.array([[0, 3], [5, 5]])
    seen = {pick_objects(m, rng) for _ in range(50)}
    assert seen == {(3, 5), (5, 3)}
    assert pick_objects(m, rng, max_objects=1)[1] is None


def test_vos_triplets_on_davis_layout(tmp_path):
    root = write_davis2017(tmp_path / "DAVIS", {"aaa": 12, "bbb": 6, "short": 2})
    ds = VOSTripletDataset(
        root, split_file=root / "ImageSets/2017/train.txt", crop_size=32, seed=7, repeat=2
    )
    assert ds.videos == ["aaa", "bbb"]  # fewer than 3 frames: dropped
    assert len(ds) == 4
    s = ds[0]
    check_sample(s, (32, 32))
    assert torch.equal(ds[0]["rgb"], s["rgb"])  # a fixed seed: reproducible
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["rgb"], s["rgb"])
    ds.set_max_skip(1)
    frames = [int(f) for f in ds[0]["info"]["frames"]]
    assert max(frames) - min(frames) <= 4


def test_vos_triplets_on_youtube_train_layout(tmp_path):
    root = write_youtube_train(tmp_path / "train_480p")
    ds = VOSTripletDataset(root, crop_size=24, frame_stride=5, max_skip=10, seed=1, augment=False)
    assert ds.max_skip == 2
    s = ds[0]
    assert s["rgb"].shape == (3, 3, 24, 40)  # augment=False keeps the frame size
    assert all(int(f) % 5 == 0 for f in s["info"]["frames"])


def test_vos_triplets_size_mismatch_names_file(tmp_path):
    root = write_davis2017(tmp_path / "DAVIS", {"aaa": 4})
    from gsfm.data.io import write_mask

    for t in range(4):
        write_mask(root / "Annotations/480p/aaa" / f"{t:05d}.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match=r"Annotations/480p/aaa/0000\d\.png is 10x10"):
        VOSTripletDataset(root, crop_size=16, seed=0)[0]


def test_static_pseudo_videos(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("cls/1", "cls/2"):
        img = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
        write_image(tmp_path / f"{name}.jpg", img)
        m = np.zeros((40, 50), np.uint8)
        m[10:30, 15:35] = 255
        Image.fromarray(m, mode="L").save(tmp_path / f"{name}.png")
    ds = StaticPseudoVideoDataset(tmp_path, crop_size=32, seed=3)
    assert len(ds) == 2
    s = ds[1]
    check_sample(s, (32, 32))
    assert s["selector"].tolist() == [1.0, 0.0]
    assert 0 < s["gt"].mean() < 1 and s["gt"].max() <= 1
    assert torch.equal(ds[1]["gt"], s["gt"])


def test_tps_warp_small_displacement_keeps_mask():
    rng = np.random.default_rng(0)
    m = np.zeros((64, 64), np.uint8)
    m[16:48, 16:48] = 255
    img = np.dstack([m] * 3)
    wi, wm = tps_warp(img, m, rng, sigma=0.0)
    np.testing.assert_array_equal(wm, m)  # zero displacement: identity
    _, wm2 = tps_warp(img, m, np.random.default_rng(1))
    inter = np.logical_and(wm2 > 0, m > 0).sum() / np.logical_or(wm2 > 0, m > 0).sum()
    assert 0.7 < inter < 1.0
