"""Nothing silently wrong (data, synth, scoring, training data): each test names what used to
happen without a word, and checks that it now is one clear error naming the file, or is done
and said.

* synth: a split's manifest records a SHA-256 per file, so content is verified, not only
  presence; frame sizes are checked when the command line is parsed;
* scoring refuses a missing ground-truth frame (``--allow-missing-gt`` scores without it and
  says how many frames were skipped);
* training checks its data set's file lists and headers once, before the first step;
* ``eval --checkpoint`` names the input file at fault, never a temporary prediction file; a
  0/255 first frame is void for inference as for scoring; an RGB prediction is called one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gsfm.cli import main
from gsfm.data.io import read_mask, write_mask
from gsfm.errors import DataError, GsfmError, MissingFileError
from gsfm.metrics import score_folders

sys.path.insert(0, str(Path(__file__).parent))
from _data_fixtures import write_davis2017  # noqa: E402

SYNTH = ["--limit", "1", "--height", "32", "--width", "48", "--quiet"]
VIDEO = "val_000_lookalike"


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def small_split(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "split"
    assert main(["synth", "--out", str(out), *SYNTH]) == 0
    return out


def _copy(split: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(split, out)
    return out


# --- item 8: synth --height 0 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "option", [("--height", "0"), ("--width", "-5"), ("--height", "8"), ("--seed", "-1"),
               ("--limit", "0"), ("--height", "x")],
)  # fmt: skip
def test_synth_bad_sizes_are_refused_when_parsed(tmp_path, capsys, option):
    # was: --height 0 quietly wrote 160-pixel frames (0 is falsy: "or the default")
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--out", str(out), "--limit", "1", "--quiet", *option])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option[0]}" in err and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_split_settings_refuse_a_zero_size():
    from gsfm.data.synthetic import split_settings

    with pytest.raises(ValueError, match="height"):
        split_settings("val", height=0)


# --- item 4: synth verifies content ----------------------------------------------------------


def test_synth_manifest_holds_a_digest_per_file(small_split):
    record = json.loads((small_split / "synth_val.json").read_text())
    digests = record["digests"]
    files = {
        str(p.relative_to(small_split))
        for p in small_split.rglob("*")
        if p.is_file() and p.name != "synth_val.json"
    }
    assert set(digests) == files
    assert len([f for f in files if f.endswith(".png")]) == 24
    for rel, digest in digests.items():
        assert hashlib.sha256((small_split / rel).read_bytes()).hexdigest() == digest


def test_synth_calls_a_mask_replaced_by_a_valid_empty_png_tampered(small_split, tmp_path, capsys):
    # was: "complete and intact" (only missing or unreadable files were caught)
    root = _copy(small_split, tmp_path)
    mask = root / "Annotations" / "32p" / VIDEO / "00003.png"
    assert read_mask(mask).any()
    write_mask(mask, np.zeros((32, 48), np.uint8))  # a valid PNG of the right size
    before = _tree(root)
    assert main(["synth", "--out", str(root), *SYNTH]) == 2
    err = _one_line_error(capsys)
    assert f"Annotations/32p/{VIDEO}/00003.png" in err and "changed" in err
    assert _tree(root) == before  # refused: nothing written
    assert main(["synth", "--out", str(root), *SYNTH, "--force"]) == 0
    capsys.readouterr()
    assert main(["synth", "--out", str(root), *SYNTH]) == 0
    assert "complete and intact" in capsys.readouterr().out
    assert _tree(root) == _tree(small_split)  # rewritten bit-identically


def test_ensure_split_repairs_a_tampered_video(small_split, tmp_path, capsys):
    from gsfm.data.synthetic import ensure_split, split_folder, split_problems, split_settings

    kw = {"limit": 1, "height": 32, "width": 48}
    target = split_folder(tmp_path, **kw)
    shutil.copytree(small_split, target)
    frame = target / "JPEGImages" / "32p" / VIDEO / "00005.jpg"
    Image.new("RGB", (48, 32)).save(frame, quality=90)  # a valid black JPEG
    identity = split_settings(**kw)
    assert any("00005.jpg" in p for p in split_problems(target, identity))
    assert ensure_split(tmp_path, **kw) == target
    assert "00005.jpg" in capsys.readouterr().err  # said what it repaired
    assert split_problems(target, identity) == []
    assert _tree(target) == _tree(small_split)


def test_split_without_digests_is_reported_unverified(small_split, tmp_path, capsys):
    # a split written before manifests held digests: complete, but its content is unverified
    root = _copy(small_split, tmp_path)
    meta = root / "synth_val.json"
    record = json.loads(meta.read_text())
    del record["digests"]
    meta.write_text(json.dumps(record, indent=1) + "\n")
    before = _tree(root)
    assert main(["synth", "--out", str(root), *SYNTH]) == 0
    out = capsys.readouterr().out
    assert "unverified" in out and "--force" in out and "complete and intact" not in out
    assert _tree(root) == before


# --- item 5: scoring refuses missing ground-truth frames --------------------------------------


@pytest.fixture
def davis_perfect(tmp_path) -> tuple[Path, Path]:
    """A DAVIS-layout folder (one video of 6 frames) and a perfect prediction of it."""
    root = write_davis2017(tmp_path / "data", {"a": 6})
    pred = tmp_path / "pred"
    shutil.copytree(root / "Annotations" / "480p", pred)
    return root, pred


def test_missing_ground_truth_frame_is_refused(davis_perfect, capsys):
    # was: scored without a word over the frames left (J-Recall over 3 frames instead of 4)
    root, pred = davis_perfect
    gt = root / "Annotations" / "480p" / "a" / "00003.png"
    gt.unlink()
    with pytest.raises(MissingFileError) as exc:
        score_folders(root, pred)
    assert str(gt) in str(exc.value) and "'a'" in str(exc.value) and exc.value.path == str(gt)
    assert main(["score", "--gt", str(root), "--pred", str(pred), "--quiet"]) == 2
    err = _one_line_error(capsys)
    assert str(gt) in err and "--allow-missing-gt" in err
    assert not (pred / "results.csv").exists()


def test_missing_ground_truth_is_refused_even_without_its_prediction(davis_perfect):
    # the frame is in JPEGImages: the DAVIS toolkit fails on it too
    root, pred = davis_perfect
    (root / "Annotations" / "480p" / "a" / "00002.png").unlink()
    (pred / "a" / "00002.png").unlink()
    with pytest.raises(MissingFileError, match="00002.png"):
        score_folders(root, pred)


def test_allow_missing_gt_scores_the_rest_and_says_how_many(davis_perfect, capsys):
    root, pred = davis_perfect
    (root / "Annotations" / "480p" / "a" / "00003.png").unlink()
    result = score_folders(root, pred, allow_missing_gt=True)
    assert [Path(p).name for p in result.missing_gt] == ["00003.png"]
    assert set(result.per_object["n_frames"]) == {3}  # 5 annotated frames, first and last dropped
    rc = main(["score", "--gt", str(root), "--pred", str(pred), "--quiet", "--allow-missing-gt"])
    assert rc == 0
    assert "1 frame without ground truth" in capsys.readouterr().out


# --- item 6: training checks its data before the first step ----------------------------------


def test_training_data_refuses_a_missing_jpeg(tmp_path):
    # was: the frame was skipped and training ran (40 iterations, rc 0)
    from gsfm.data.triplets import VOSTripletDataset

    root = write_davis2017(tmp_path / "d", {"a": 5, "b": 5})
    jpg = root / "JPEGImages" / "480p" / "a" / "00002.jpg"
    jpg.unlink()
    with pytest.raises(MissingFileError) as exc:
        VOSTripletDataset(root)
    assert str(jpg) in str(exc.value)


@pytest.mark.parametrize("part", ["jpg", "png"])
def test_training_data_refuses_a_corrupt_file_before_the_first_sample(tmp_path, part):
    # was: found only when the file was sampled (iteration 8)
    from gsfm.data.triplets import VOSTripletDataset

    root = write_davis2017(tmp_path / "d", {"a": 5, "b": 5})
    kind = "JPEGImages" if part == "jpg" else "Annotations"
    bad = root / kind / "480p" / "b" / f"00004.{part}"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(GsfmError) as exc:
        VOSTripletDataset(root, seed=0)
    assert str(bad) in str(exc.value)


def test_training_data_refuses_a_missing_annotation_and_a_wrong_size(tmp_path):
    from gsfm.data.triplets import VOSTripletDataset

    root = write_davis2017(tmp_path / "d", {"a": 5})
    png = root / "Annotations" / "480p" / "a" / "00001.png"
    png.unlink()
    with pytest.raises(MissingFileError, match="00001.png"):
        VOSTripletDataset(root)
    write_mask(png, np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match="00001.png"):
        VOSTripletDataset(root)


def test_train_cli_refuses_a_data_set_with_a_missing_jpeg(tmp_path, capsys):
    root = write_davis2017(tmp_path / "d", {"a": 5, "b": 5})
    jpg = root / "JPEGImages" / "480p" / "b" / "00003.jpg"
    jpg.unlink()
    out = tmp_path / "run"
    argv = ["train", "--model", "stcn", "--profile", "smoke", "--data", f"davis:{root}"]
    rc = main([*argv, "--out", str(out), "--iterations", "2", "--no-progress"])
    assert rc == 2
    assert str(jpg) in _one_line_error(capsys)
    assert not out.exists()  # refused before anything was written


# --- eval --checkpoint: name the input, one rule for void, say "prediction" -------------------


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    """A file that is no checkpoint: the inputs are checked before it is read, so these tests
    fail (naming it) if they are not, and no model is built."""
    path = tmp_path / "never-read.pt"
    path.write_bytes(b"checked after the data")
    return path


def _predict(checkpoint: Path, data: Path, pred: Path, *more: str) -> int:
    argv = ["predict", "--checkpoint", str(checkpoint), "--data", str(data), "--out", str(pred)]
    return main([*argv, "--quiet", *more])


def test_predict_names_the_missing_jpeg(checkpoint, tmp_path, capsys):
    # was: "missing frame: <pred>/.pred.xxxx.tmp/a/00002.png", a deleted temporary file
    root = write_davis2017(tmp_path / "d", {"a": 5})
    jpg = root / "JPEGImages" / "480p" / "a" / "00002.jpg"
    jpg.unlink()
    assert _predict(checkpoint, root, tmp_path / "pred") == 2
    err = _one_line_error(capsys)
    assert str(jpg) in err and ".tmp" not in err
    assert not (tmp_path / "pred").exists()


def test_predict_names_a_first_frame_without_object(checkpoint, tmp_path, capsys):
    root = write_davis2017(tmp_path / "d", {"a": 5})
    first = root / "Annotations" / "480p" / "a" / "00000.png"
    write_mask(first, np.zeros((24, 40), np.uint8))
    assert _predict(checkpoint, root, tmp_path / "pred") == 2
    err = _one_line_error(capsys)
    assert str(first) in err and "no object" in err and ".tmp" not in err


def test_void_first_frame_is_void_for_inference_as_for_scoring(checkpoint, tmp_path, capsys):
    # was: inference tracked "object 255", scoring called it void and refused the prediction
    root = write_davis2017(tmp_path / "d", {"a": 5})
    ann = root / "Annotations" / "480p" / "a"
    for t in range(5):
        m = read_mask(ann / f"{t:05d}.png")
        write_mask(ann / f"{t:05d}.png", np.where(m > 0, 255, 0).astype(np.uint8))
    assert _predict(checkpoint, root, tmp_path / "pred") == 2
    err = _one_line_error(capsys)
    assert str(ann / "00000.png") in err and "void" in err and "--binary" in err
    # the model is given no object 255, and with --binary (DAVIS 2016) the folder is fine
    from gsfm.evaluation import check_inputs
    from gsfm.prediction import read_annotations

    stems = [f"{t:05d}" for t in range(5)]
    anns = read_annotations(ann, stems, (24, 40), "appearance", binary=True)
    assert set(np.unique(anns[0]).tolist()) == {0, 1}
    with pytest.raises(ValueError, match="no object"):
        read_annotations(ann, stems, (24, 40), "first")
    check_inputs(root, None, None, binary=True)  # no error


def test_rgb_prediction_is_called_a_prediction(davis_perfect):
    root, pred = davis_perfect
    bad = pred / "a" / "00002.png"
    Image.new("RGB", (40, 24)).save(bad)
    with pytest.raises(DataError) as exc:
        score_folders(root, pred)
    assert str(exc.value).startswith(f"prediction {bad}") and "annotation" not in str(exc.value)
