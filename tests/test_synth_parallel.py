"""Rendering a synthetic split with worker processes (``workers``): the same bytes as one
video after the other, damaged videos repaired the same way, and nothing half-written when a
video fails."""

from __future__ import annotations

import hashlib
import multiprocessing
from pathlib import Path

import pytest

from gsfm.data.synthetic import ensure_split, split_names, write_split
from gsfm.data.synthetic import splits as splits_module

SMALL = {"split": "train", "limit": 3, "height": 32, "width": 48, "progress": False}
N_FRAMES = 40  # frames of a synth-v1 train video


def _tree(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (hidden ones included), by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    return write_split(tmp_path_factory.mktemp("serial") / "split", workers=1, **SMALL)


def test_parallel_render_writes_the_same_bytes(serial, tmp_path):
    tree = _tree(serial)
    assert len(tree) == 3 * 2 * N_FRAMES + 3  # frames, masks, list, table, manifest
    for workers in (2, 5):  # 5: more workers than videos
        out = write_split(tmp_path / f"w{workers}", workers=workers, **SMALL)
        assert _tree(out) == tree, workers
        # the manifest (its SHA-256 table included) is byte for byte the serial one
        assert (out / "synth_train.json").read_bytes() == (serial / "synth_train.json").read_bytes()


def test_ensure_split_repairs_damaged_videos_in_parallel(serial, tmp_path):
    kw = {k: SMALL[k] for k in ("limit", "height", "width")}
    root = ensure_split(tmp_path, "train", workers=2, **kw)
    assert _tree(root) == _tree(serial)
    first, second = split_names("train")[:2]
    (root / "Annotations" / "32p" / first / "00003.png").unlink()
    (root / "JPEGImages" / "32p" / second / "00007.jpg").write_bytes(b"not a jpeg")
    assert ensure_split(tmp_path, "train", workers=2, **kw) == root
    assert _tree(root) == _tree(serial)


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="the failure is injected by patching the parent, which forked workers inherit",
)
def test_a_failed_video_leaves_nothing_half_written(tmp_path, monkeypatch):
    real = splits_module.generate_video

    def fail_on_second(split, index, *args):
        if index == 1:
            raise RuntimeError("renderer failed on purpose")
        return real(split, index, *args)

    monkeypatch.setattr(splits_module, "generate_video", fail_on_second)
    out = tmp_path / "split"
    with pytest.raises(RuntimeError, match="on purpose"):
        write_split(out, workers=2, **SMALL)
    # no manifest, list or table: the split is not there, and no temporary folder is left
    assert not (out / "synth_train.json").exists()
    assert not (out / "ImageSets").exists() and not (out / "objects_train.csv").exists()
    assert not list(out.rglob(".*"))
    # the videos that finished are whole; the failed one has no folder at all
    second = split_names("train")[1]
    for kind, ext in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
        folder = out / kind / "32p"
        assert not (folder / second).exists()
        for video in folder.iterdir() if folder.exists() else ():
            assert len(list(video.glob(f"*{ext}"))) == N_FRAMES


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        write_split(tmp_path / "split", workers=0, **SMALL)
    assert not (tmp_path / "split").exists()
