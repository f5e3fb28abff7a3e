"""gsfm.data.io: palette, mask / image round trips, and one clear error per bad file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gsfm.data.io import DAVIS_PALETTE, list_frames, read_image, read_mask, write_image, write_mask


def test_palette_is_the_davis_colour_map():
    assert DAVIS_PALETTE.shape == (256, 3) and DAVIS_PALETTE.dtype == np.uint8
    assert DAVIS_PALETTE[:5].tolist() == [
        [0, 0, 0],
        [128, 0, 0],
        [0, 128, 0],
        [128, 128, 0],
        [0, 0, 128],
    ]
    assert DAVIS_PALETTE[8].tolist() == [64, 0, 0]
    assert DAVIS_PALETTE[255].tolist() == [224, 224, 192]
    assert len({tuple(c) for c in DAVIS_PALETTE.tolist()}) == 256


def test_mask_round_trip_is_a_palette_png(tmp_path):
    m = np.arange(48, dtype=np.uint8).reshape(6, 8) % 7
    p = tmp_path / "a" / "b" / "00000.png"
    write_mask(p, m)
    with Image.open(p) as img:
        assert img.mode == "P"
        assert list(img.getpalette()[:6]) == [0, 0, 0, 128, 0, 0]
    np.testing.assert_array_equal(read_mask(p), m)
    assert not [f for f in p.parent.iterdir() if f.name.startswith(".")]  # no temp file left


def test_grayscale_id_map_is_accepted(tmp_path):
    p = tmp_path / "m.png"
    Image.fromarray(np.array([[0, 255], [3, 0]], np.uint8), mode="L").save(p)
    assert read_mask(p).tolist() == [[0, 255], [3, 0]]


def test_rgb_annotation_is_rejected_naming_the_file(tmp_path):
    p = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(p)
    with pytest.raises(ValueError, match=r"rgb\.png.*palette"):
        read_mask(p)


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_mask(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        read_image(tmp_path / "nope.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="bad.jpg"):
        read_image(bad)


def test_image_round_trip(tmp_path):
    img = np.full((8, 10, 3), (200, 30, 90), np.uint8)
    write_image(tmp_path / "x.png", img)
    np.testing.assert_array_equal(read_image(tmp_path / "x.png"), img)
    write_image(tmp_path / "x.jpg", img)
    assert np.abs(read_image(tmp_path / "x.jpg").astype(int) - img).max() < 8
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "y.jpg", img.astype(np.float32))


def test_list_frames_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        list_frames(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        list_frames(tmp_path / "empty")
