"""gsfm.metrics per frame and per object: every degenerate case of docs/evaluation.md, and
agreement with the vos-benchmark package (a test dependency) on generated sequences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsfm.metrics import boundary_map, boundary_radius, disk, f_measure, jaccard, statistics

vb_eval = pytest.importorskip("vos_benchmark.evaluator")


def _empty(h=20, w=30):
    return np.zeros((h, w), bool)


def test_both_empty_gives_one():
    assert jaccard(_empty(), _empty()) == 1.0
    assert f_measure(_empty(), _empty()) == 1.0


def test_one_empty_gives_zero():
    g = _empty()
    g[5:10, 5:10] = True
    assert jaccard(_empty(), g) == 0.0 and f_measure(_empty(), g) == 0.0
    assert jaccard(g, _empty()) == 0.0 and f_measure(g, _empty()) == 0.0


def test_full_frame():
    full = np.ones((20, 30), bool)
    assert boundary_map(full).sum() == 0  # the image border is not a contour
    assert jaccard(full, full) == 1.0 and f_measure(full, full) == 1.0
    almost = full.copy()
    almost[0, 0] = False
    assert jaccard(almost, full) > 0.99
    assert f_measure(almost, full) == 0.0  # no GT contour exists


def test_one_pixel_and_square_boundaries():
    one = _empty()
    one[7, 9] = True
    b = boundary_map(one)
    # seg2bmap marks the pixel and its west, north and north-west neighbours
    assert set(zip(*np.nonzero(b), strict=True)) == {(7, 9), (6, 9), (7, 8), (6, 8)}
    assert jaccard(one, one) == 1.0 and f_measure(one, one) == 1.0
    sq = _empty()
    sq[5:15, 5:15] = True
    assert boundary_map(sq).sum() == 40


def test_border_contact():
    g = _empty()
    g[:, :10] = True  # touches top, bottom and left borders
    p = _empty()
    p[:, :12] = True
    b = boundary_map(g)
    assert b[:, 9].all() and not b[:, 0].any()
    assert boundary_radius(g.shape) == 1  # ceil(0.008 * 36.06)
    assert f_measure(p, g) == 0.0  # contours 2 px apart, radius 1: no match
    assert f_measure(p, g, bound_th=2) == 1.0


def test_radius_and_disk():
    assert boundary_radius((480, 854)) == 8
    assert boundary_radius((480, 854), 3) == 3
    d = disk(8)
    assert d.shape == (17, 17) and d[8].all() and d[0, 8] == 1 and d[0, 7] == 0
    from skimage.morphology import disk as sk_disk

    np.testing.assert_array_equal(d, sk_disk(8))


def test_vectorised_equals_per_frame():
    rng = np.random.default_rng(3)
    p = rng.random((5, 2, 16, 24)) > 0.6
    g = rng.random((5, 2, 16, 24)) > 0.6
    jv, fv = jaccard(p, g), f_measure(p, g)
    assert jv.shape == fv.shape == (5, 2)
    for i in range(5):
        for k in range(2):
            assert jv[i, k] == jaccard(p[i, k], g[i, k])
            assert fv[i, k] == f_measure(p[i, k], g[i, k])


def test_statistics_values():
    v = np.array([1.0, 1.0, 0.6, 0.5, 0.0, 0.0, 0.0, 0.0])
    mean, recall, decay = statistics(v)
    assert mean == pytest.approx(v.mean())
    assert recall == pytest.approx(3 / 8)  # 0.5 is not > 0.5
    # edges round(linspace(1, 8, 5) + 1e-10) - 1 = [0, 2, 4, 5, 7] (2.75 -> 3, 4.5 -> 5, 6.25 -> 6)
    assert decay == pytest.approx(np.mean(v[0:3]) - np.mean(v[5:8]))
    assert statistics([0.7]) == pytest.approx((0.7, 1.0, 0.0))
    assert all(np.isnan(statistics([])))


@pytest.mark.parametrize("n", [255, 256, 300, 600])
def test_decay_is_correct_from_256_frames(n):
    v = np.linspace(1.0, 0.0, n)
    _, _, decay = statistics(v)
    edges = np.round(np.linspace(1, n, 5) + 1e-10).astype(np.int64) - 1
    expected = v[edges[0] : edges[1] + 1].mean() - v[edges[3] : edges[4] + 1].mean()
    assert decay == pytest.approx(expected)
    assert 0.7 < decay < 0.8
    _, _, buggy = statistics(v, uint8_edges=True)
    if n < 256:
        assert buggy == pytest.approx(decay)  # the toolkit's value below 256 frames
    else:
        assert np.isnan(buggy) or buggy != pytest.approx(decay)  # the toolkit's wrap-around


def _vb_frame(pred_ids, gt_ids, k):
    ev = vb_eval.Evaluator()
    ev.feed_frame(pred_ids, gt_ids)
    return ev.object_iou[k][0], ev.boundary_f[k][0]


def _blob_ids(rng, h, w, k_max):
    ids = np.zeros((h, w), np.uint8)
    for k in range(1, k_max + 1):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ry, rx = rng.integers(1, h // 2 + 1), rng.integers(1, w // 2 + 1)
        yy, xx = np.ogrid[:h, :w]
        ids[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = k
    return ids


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(2, 60), w=st.integers(2, 90))
def test_per_frame_j_and_f_equal_vos_benchmark(seed, h, w):
    rng = np.random.default_rng(seed)
    gt = _blob_ids(rng, h, w, 2)
    pred = _blob_ids(rng, h, w, 2) if rng.random() < 0.7 else gt.copy()
    if rng.random() < 0.3:  # sprinkle noise: ragged boundaries
        pred[rng.random((h, w)) < 0.05] = 1
    for k in (1, 2):
        if not ((gt == k).any() or (pred == k).any()):
            continue
        j_ref, f_ref = _vb_frame(pred, gt, k)
        assert jaccard(pred == k, gt == k) == pytest.approx(j_ref, abs=1e-12)
        assert f_measure(pred == k, gt == k) == pytest.approx(f_ref, abs=1e-12)


def test_sequence_means_equal_vos_benchmark():
    rng = np.random.default_rng(0)
    t, h, w = 12, 48, 80
    gt = np.stack([_blob_ids(rng, h, w, 3) for _ in range(t)])
    pred = gt.copy()
    pred[:, ::7] = 0
    pred[rng.random(pred.shape) < 0.02] = 2
    ev = vb_eval.Evaluator()
    for i in range(t):
        ev.feed_frame(pred[i], gt[i])
    iou, bf = ev.conclude()
    for k in iou:
        j = jaccard(pred == k, gt == k)
        f = f_measure(pred == k, gt == k)
        assert 100 * statistics(j)[0] == pytest.approx(iou[k], abs=1e-9)
        assert 100 * statistics(f)[0] == pytest.approx(bf[k], abs=1e-9)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        jaccard(np.zeros((3, 4), bool), np.zeros((4, 3), bool))
