"""The pre-rendered synthetic train split as training data (``synth-train``) and the loader
around it: the spec, the write-once step, triplets read from the split (from disk or decoded
into memory), and samples that stay a pure function of (seed, epoch, index, max skip) with
persistent worker processes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from gsfm.config import train_config
from gsfm.data.synthetic import DATA_DIR_ENV, VERSIONS, ensure_split, split_names, synth_data_dir
from gsfm.data.triplets import VOSTripletDataset
from gsfm.runtime import project_root
from gsfm.training.api import DataSpec, build_train_data, parse_data_spec
from gsfm.training.data import BatchStream, SampleKey

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {"limit": 2, "height": 48, "width": 80}  # 2 videos of 40 frames at 48x80
FIRST, SECOND = split_names("train")[:2]


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory) -> Path:
    return ensure_split(tmp_path_factory.mktemp("synth"), "train", **TINY)


def _triplets(root: Path, **kw) -> VOSTripletDataset:
    sets = root / "ImageSets" / "synth-v1" / "train.txt"
    return VOSTripletDataset(root, split_file=sets, crop_size=32, seed=5, **kw)


# --- the data specification ------------------------------------------------------------------


def test_synth_train_spec_parses_without_a_path():
    spec = parse_data_spec("synth-train")
    assert spec == DataSpec("synth-train") and str(spec) == "synth-train"
    assert str(parse_data_spec(" synth-train:v1*3 ")) == "synth-train:v1*3"
    assert parse_data_spec("synth-train*2").repeat == 2
    for bad in ("synth-train:v9", "synth:v0"):
        with pytest.raises(ValueError, match=r"unknown synthetic benchmark version .*known: v1"):
            parse_data_spec(bad)
    for scoring_only in ("synth-train:small-v1", "synth:small-v1"):
        with pytest.raises(ValueError, match=r"synth-small-v1 is for scoring only"):
            parse_data_spec(scoring_only)
    with pytest.raises(ValueError, match="expected synth, synth-train, davis:PATH"):
        parse_data_spec("synth-test")


def test_the_run_records_synth_train_not_a_folder():
    from gsfm.experiments import run_config

    cfg = run_config("gsfm", "gpu", seed=0, data=["synth-train"])
    assert cfg["data"] == ["synth-train"]


def test_the_data_folder_is_the_project_or_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert synth_data_dir() == project_root() / "data" / "synth"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert synth_data_dir() == tmp_path


def test_build_train_data_writes_the_split_once_under_the_data_folder(monkeypatch, tmp_path):
    """With a shrunken v1 (2 videos of 6 frames at 48x80) the whole path runs in a second."""
    monkeypatch.setitem(
        VERSIONS, "v1", replace(VERSIONS["v1"], train_videos=2, train_frames=6, height=48, width=80)
    )
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    cfg = train_config("smoke", crop_size=32)
    data = build_train_data(["synth-train*2"], cfg, seed=3)
    assert (tmp_path / "train" / "synth_train.json").is_file()
    assert isinstance(data, VOSTripletDataset) and len(data) == 4
    assert data.videos == [FIRST, SECOND]
    sample = data[1]
    assert sample["rgb"].shape == (3, 3, 32, 32) and sample["cls_gt"].shape == (3, 32, 32)

    def boom(*args, **kwargs):
        raise AssertionError("a complete split must not be written again")

    monkeypatch.setattr("gsfm.data.synthetic.splits.write_split", boom)
    again = build_train_data(["synth-train"], cfg, seed=3)
    assert torch.equal(again[1]["rgb"], data[1]["rgb"])  # same folder, same samples
    with pytest.raises(ValueError, match="static"):
        build_train_data(["synth-train"], train_config("smoke", stage="static"), seed=3)


# --- triplets from the written split -----------------------------------------------------------


def test_triplets_from_the_split_with_and_without_preloading(tiny_split: Path):
    assert tiny_split.name == "train-48x80-first2"
    disk, memory = _triplets(tiny_split), _triplets(tiny_split, preload=True)
    assert len(disk) == 2 and disk.videos == [FIRST, SECOND]
    images, masks = memory._decoded[SECOND]  # type: ignore[index]
    assert images.shape == (40, 48, 80, 3) and masks.shape == (40, 48, 80)
    assert images.dtype == masks.dtype == np.uint8
    for i in range(2):
        a, b = disk[i], memory[i]
        assert a["rgb"].shape == (3, 3, 32, 32) and a["gt"].shape == (3, 1, 32, 32)
        assert a["cls_gt"].dtype == torch.int64 and a["selector"].shape == (2,)
        assert a["info"] == b["info"]
        for key in ("rgb", "gt", "sec_gt", "cls_gt", "selector"):
            assert torch.equal(a[key], b[key]), key


# --- persistent workers: the epoch state travels with the keys -------------------------------


class _Probe(Dataset):
    """Returns what it saw: the index, its epoch and max skip, and a draw from torch's global
    generator (seeded per sample by SeededSamples)."""

    def __init__(self, n: int = 6) -> None:
        self.n, self.epoch, self.max_skip = n, -1, -1

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def set_max_skip(self, n: int) -> None:
        self.max_skip = n

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.tensor([index, self.epoch, self.max_skip, int(torch.randint(0, 10**6, ()))])


def _batches(data: Dataset, workers: int, count: int, start: int = 0) -> list:
    cfg = train_config("smoke", batch_size=2, iterations=9, num_workers=workers)
    stream = BatchStream(data, cfg, seed=11)
    try:
        stream.seek(start)
        out = [next(stream) for _ in range(count)]
        stream.seek(start + 1)  # a seek resets the live workers; the stream goes on exactly
        out.append(next(stream))
        return out
    finally:
        stream.close()


def test_probe_sees_each_keys_epoch_and_skip_in_persistent_workers():
    # 6 samples / batch 2 = 3 batches per epoch, 9 iterations = 3 epochs; the curriculum
    # switches at epochs round(3 * f) = 0, 1, 1, 1, 3: skip 10 in epoch 0, then 25
    alone, workers = _batches(_Probe(), 0, 9), _batches(_Probe(), 2, 9)
    for a, b in zip(alone, workers, strict=True):
        assert torch.equal(a, b)
    seen = torch.cat(workers[:9])
    assert seen[:, 1].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert seen[:, 2].tolist() == [10] * 6 + [25] * 12
    assert sorted(seen[:6, 0].tolist()) == list(range(6))  # every sample once per epoch
    assert torch.equal(workers[-1], workers[1])  # after the seek: batch 1 again


def test_triplets_identical_with_zero_and_two_persistent_workers(tiny_split: Path):
    """Two epochs of 2 batches (2 videos x 2) and a resume mid-way: same bytes either way."""
    data = _triplets(tiny_split, repeat=2, preload=True)
    alone, workers = _batches(data, 0, 4, start=1), _batches(data, 2, 4, start=1)
    assert len(alone) == len(workers) == 5
    for a, b in zip(alone, workers, strict=True):
        assert a["info"] == b["info"]
        for key in ("rgb", "cls_gt", "selector"):
            assert torch.equal(a[key], b[key]), key
    assert not torch.equal(alone[0]["rgb"], alone[2]["rgb"])  # another epoch, other samples


def test_sample_keys_carry_the_curriculum():
    stream = BatchStream(_Probe(4), train_config("smoke", batch_size=2, iterations=4), seed=1)
    keys = list(stream.sampler.epoch_keys(1))
    assert len(keys) == 4 and all(isinstance(k, SampleKey) for k in keys)
    assert {(k.epoch, k.max_skip) for k in keys} == {(1, stream.plan.max_skip(1, stream.cfg))}
    assert stream.samples[keys[0]][1:3].tolist() == [1, keys[0].max_skip]


# --- a damaged or stale folder ---------------------------------------------------------------


def test_a_damaged_split_is_completed_video_by_video(tmp_path, monkeypatch, capsys):
    root = ensure_split(tmp_path, "train", **TINY)
    frame = root / "JPEGImages" / "48p" / SECOND / "00007.jpg"
    kept = root / "JPEGImages" / "48p" / FIRST
    before = kept.stat().st_ino
    frame.unlink()

    def boom(*args, **kwargs):
        raise AssertionError("only the damaged video is written again")

    with monkeypatch.context() as m:
        m.setattr("gsfm.data.synthetic.splits.write_split", boom)
        assert ensure_split(tmp_path, "train", **TINY) == root
    assert frame.is_file() and kept.stat().st_ino == before
    err = capsys.readouterr().err
    assert f"{SECOND}/00007.jpg is missing" in err and "1 video(s)" in err


def test_a_stale_split_is_replaced_and_said_so(tmp_path, capsys):
    root = ensure_split(tmp_path, "train", **TINY)
    record = root / "synth_train.json"
    record.write_text(record.read_text().replace('"seed": 0', '"seed": 4'))
    assert ensure_split(tmp_path, "train", **TINY) == root
    assert '"seed": 0' in record.read_text()
    assert "synth_train.json records seed 4, not 0" in capsys.readouterr().err


def test_a_split_that_cannot_be_completed_is_reported(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        ensure_split(tmp_path / "file", "train", **TINY)
    monkeypatch.setattr("gsfm.data.synthetic.splits._write_video", lambda *a, **k: None)
    with pytest.raises(RuntimeError, match=r"train-48x80-first2 left it incomplete: .* missing"):
        ensure_split(tmp_path / "data", "train", **TINY)


# --- throughput measurement (the loader only: the network is never built here) ---------------


def test_loader_rate_reports_a_plain_dict():
    from gsfm.training.throughput import loader_rate

    cfg = train_config("smoke", batch_size=4)
    row = loader_rate(_Probe(1), cfg, workers=0, batches=3, warmup=1)  # cycled to fill a batch
    assert row["workers"] == 0 and row["batches"] == 3 and row["batch_size"] == 4
    assert row["samples_per_s"] > 0 and row["samples_per_cpu_s"] > 0
    assert row["samples_per_s_per_worker"] == row["samples_per_s"]
    with pytest.raises(ValueError, match="workers"):
        loader_rate(_Probe(), cfg, workers=-1)


def test_fixed_batch_has_the_sample_format():
    from gsfm.training.throughput import compare, fixed_batch

    cfg = train_config("smoke", batch_size=3, crop_size=32)
    b = fixed_batch(cfg)
    assert b["rgb"].shape == (3, 3, 3, 32, 32) and b["cls_gt"].shape == (3, 3, 32, 32)
    assert b["gt"].sum() > 0 and b["selector"][:, 1].tolist() == [0.0, 1.0, 0.0]
    assert set(b["cls_gt"].unique().tolist()) == {0, 1, 2}
    assert torch.equal(fixed_batch(cfg)["rgb"], b["rgb"])
    verdict = compare({"samples_per_s": 150.0}, {"samples_per_s": 115.0})
    assert verdict["loader_over_step"] == pytest.approx(1.304, abs=1e-3)
    assert verdict["loader_keeps_up"]
    assert not compare({"samples_per_s": 100.0}, {"samples_per_s": 115.0})["loader_keeps_up"]


def test_bench_loader_prints_json(tmp_path):
    """benchmarks/bench_loader.py at tiny sizes (one train video, one batch, no step timing)."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(project_root() / "benchmarks" / "bench_loader.py"),
         "--limit", "1", "--batches", "1", "--warmup", "0", "--workers", "0",
         "--step-profiles", "", "--profile", "smoke", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    names = [row["data"] for row in report["loader"]]
    assert names == ["synth", "synth-train", "synth-train (disk)"]
    assert all(row["samples_per_s"] > 0 and row["crop_size"] == 64 for row in report["loader"])
    assert report["one_time"]["split_was_complete"] is False and report["step"] == []
    assert (tmp_path / "train-160x288-first1" / "synth_train.json").is_file()
