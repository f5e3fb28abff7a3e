"""No command mixes its output into, or overwrites, a user's data; a bad checkpoint is one line.

* ``synth``: a non-empty ``--out`` is refused unless it already holds the same split with the
  same settings (then verified, nothing written) or ``--force`` is given.
* ``train --out``: a folder holding anything but a resumable run is refused.
* ``predict``: predictions go only into a new/empty folder or an earlier ``gsfm predict``
  output; ``score``: a ``results.csv`` that is not ours is never overwritten.
* ``notebooks --out``: never the notebooks' folder, never a folder holding other files.
* ``--checkpoint`` / ``--init`` with a corrupt or foreign file: one line naming the file, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _cli import one_error, tree
from PIL import Image

from gsfm.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ["--limit", "1", "--height", "32", "--width", "48", "--quiet"]
VIDEO = "val_000_lookalike"


def _user_davis(root: Path) -> Path:
    """A tiny DAVIS-layout data set of the user's (one video, one frame)."""
    for sub in ("JPEGImages/480p/bear", "Annotations/480p/bear", "ImageSets/2017"):
        (root / sub).mkdir(parents=True)
    Image.fromarray(np.full((8, 12, 3), 90, np.uint8)).save(root / "JPEGImages/480p/bear/0.jpg")
    Image.fromarray(np.eye(8, 12, dtype=np.uint8)).save(root / "Annotations/480p/bear/0.png")
    (root / "ImageSets/2017/val.txt").write_text("bear\n")
    return root


@pytest.fixture(scope="module")
def gt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gt") / "val"
    assert main(["synth", "--out", str(out), *SMALL]) == 0
    return out


# --- synth ---------------------------------------------------------------------------------


def test_synth_refuses_a_folder_holding_another_data_set(tmp_path, capsys):
    user = _user_davis(tmp_path / "davis")
    before = tree(user)
    assert main(["synth", "--out", str(user), *SMALL]) == 2
    one_error(capsys, str(user), "DAVIS-layout data set", "Annotations/480p", "--force")
    assert tree(user) == before


def test_synth_refuses_another_split_or_size_of_synth(gt, tmp_path, capsys):
    before = tree(gt)
    argv = ["synth", "--out", str(gt), "--limit", "1", "--height", "64", "--width", "96"]
    assert main([*argv, "--quiet"]) == 2
    one_error(capsys, "holds synth-v1 val (seed 0, 32x48, 1 video)", "64x96")
    assert main(["synth", "--out", str(gt), "--split", "small", *SMALL]) == 2
    one_error(capsys, "synth-v1 small")
    assert tree(gt) == before


def test_synth_twice_with_the_same_settings_is_a_verified_no_op(gt, capsys):
    before = tree(gt)
    mtimes = {p: p.stat().st_mtime_ns for p in gt.rglob("*")}
    assert main(["synth", "--out", str(gt), *SMALL]) == 0
    assert "complete and intact: nothing written" in capsys.readouterr().out
    assert tree(gt) == before
    assert {p: p.stat().st_mtime_ns for p in gt.rglob("*")} == mtimes


def test_synth_same_split_with_a_missing_frame_is_reported_then_forced(gt, tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["synth", "--out", str(out), *SMALL]) == 0
    capsys.readouterr()
    (out / "JPEGImages/32p" / VIDEO / "00007.jpg").unlink()
    (out / "Annotations/32p" / VIDEO / "00003.png").write_bytes(b"")
    assert main(["synth", "--out", str(out), *SMALL]) == 2
    one_error(
        capsys,
        "incomplete or damaged",
        f"JPEGImages/32p/{VIDEO}/00007.jpg is missing",
        f"Annotations/32p/{VIDEO}/00003.png is not a readable image",
        "--force",
    )
    assert main(["synth", "--out", str(out), *SMALL, "--force"]) == 0
    assert "replaced" in capsys.readouterr().out
    assert tree(out) == tree(gt)  # repaired: the same bytes as a fresh write


def test_synth_force_writes_beside_user_data_without_touching_it(tmp_path, capsys):
    user = _user_davis(tmp_path / "davis")
    before = tree(user)
    assert main(["synth", "--out", str(user), *SMALL, "--force"]) == 0
    assert "nothing else in the folder was changed" in capsys.readouterr().out
    after = tree(user)
    assert {k: after[k] for k in before} == before
    from gsfm.data.synthetic import split_problems, split_settings

    assert split_problems(user, split_settings("val", limit=1, height=32, width=48)) == []


def test_synth_force_removes_the_earlier_copy_of_the_split(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["synth", "--out", str(out), *SMALL]) == 0
    (out / "notes.txt").write_text("mine")
    argv = ["synth", "--out", str(out), "--limit", "1", "--height", "64", "--width", "96"]
    assert main([*argv, "--quiet", "--force"]) == 0
    assert "removed the earlier synth-v1 val (seed 0, 32x48, 1 video)" in capsys.readouterr().out
    assert not (out / "JPEGImages/32p").exists() and not (out / "Annotations/32p").exists()
    assert len(list((out / "JPEGImages/64p" / VIDEO).glob("*.jpg"))) == 24
    assert (out / "notes.txt").read_text() == "mine"
    assert main([*argv, "--quiet"]) == 0  # now the same settings: verified
    assert "nothing written" in capsys.readouterr().out


# --- train ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"notes.txt": "mine"}, "is not empty and holds no gsfm run (1 entry: notes.txt)"),
        ({"config.json": "{}"}, "holds no gsfm run"),  # someone else's config.json
        ({"config.json": '{"train": {}}'}, "stopped before its first checkpoint"),
    ],
)
def test_train_refuses_a_used_out_folder(tmp_path, capsys, content, needle):
    out = tmp_path / "run"
    out.mkdir()
    for name, text in content.items():
        (out / name).write_text(text)
    before = tree(out)
    assert main(["train", "--profile", "smoke", "--out", str(out), "--no-progress"]) == 2
    one_error(capsys, str(out), needle)
    assert tree(out) == before


def test_train_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["train", "--profile", "smoke", "--out", str(tmp_path / "f")]) == 2
    one_error(capsys, "is not a folder")


# --- predict / score ------------------------------------------------------------------------


def _baseline(gt: Path, out: Path, kind: str) -> int:
    return main(["predict", "--baseline", kind, "--data", str(gt), "--out", str(out), "--quiet"])


def _score(gt: Path, pred: Path, *argv: str) -> int:
    return main(["score", "--gt", str(gt), "--pred", str(pred), "--quiet", *argv])


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_predict_baseline_refuses_someone_elses_predictions(gt, tmp_path, capsys):
    mine = tmp_path / "mine"
    assert _baseline(gt, tmp_path / "p", "copy-first") == 0
    (tmp_path / "p").rename(mine)
    (mine / "gsfm_eval.json").unlink()  # now they are the user's predictions
    before = tree(mine)
    capsys.readouterr()
    assert _baseline(gt, mine, "empty") == 2
    one_error(capsys, str(mine), "not written by gsfm predict", "1 entry: val_000_lookalike/")
    assert tree(mine) == before
    _no_leftovers(tmp_path)


def test_predict_baseline_replaces_its_own_earlier_output(gt, tmp_path, capsys):
    pred = tmp_path / "p"
    assert _baseline(gt, pred, "copy-first") == 0
    marker = json.loads((pred / "gsfm_eval.json").read_text())
    assert marker["source"] == "baseline copy-first"
    assert _score(gt, pred) == 0  # our results.csv beside the masks: still ours to replace
    assert _baseline(gt, pred, "empty") == 0
    assert json.loads((pred / "gsfm_eval.json").read_text())["source"] == "baseline empty"
    mask = np.asarray(Image.open(pred / VIDEO / "00005.png"))
    assert not mask.any()  # the empty baseline, not a mix with copy-first
    assert not (pred / "results.csv").exists()  # scores of the old masks went with them
    _no_leftovers(tmp_path)


def test_predict_baseline_refuses_inference_options(gt, tmp_path, capsys):
    argv = ["predict", "--baseline", "empty", "--data", str(gt), "--out", str(tmp_path / "p")]
    assert main([*argv, "--amp", "bf16"]) == 2
    one_error(capsys, "--amp applies to --checkpoint")
    assert main(["predict", "--data", str(gt), "--out", str(tmp_path / "p")]) == 2
    one_error(capsys, "--checkpoint", "--baseline")
    assert not (tmp_path / "p").exists()


def test_score_keeps_a_results_csv_that_is_not_ours(gt, tmp_path, capsys):
    pred = tmp_path / "p"
    assert _baseline(gt, pred, "empty") == 0
    assert _score(gt, pred) == 0
    assert _score(gt, pred) == 0  # our own results.csv: replaced
    (pred / "results.csv").write_text("my,notes\n1,2\n")
    capsys.readouterr()
    assert _score(gt, pred) == 2
    one_error(capsys, str(pred / "results.csv"), "--csv")
    assert (pred / "results.csv").read_text() == "my,notes\n1,2\n"
    assert _score(gt, pred, "--csv", str(tmp_path / "t.csv")) == 0
    assert (tmp_path / "t.csv").read_text().startswith("sequence,object,J&F-Mean,")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    from gsfm.checkpoint import save_checkpoint
    from gsfm.model import build_model

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run")
    return save_checkpoint(run / "checkpoints" / "final.pt", build_model("stcn", "smoke"))


def test_predict_checkpoint_writes_predictions_safely(gt, checkpoint, tmp_path, capsys):
    ckpt = ["predict", "--checkpoint", str(checkpoint), "--data", str(gt), "--device", "cpu"]
    user = _user_davis(tmp_path / "user")
    before = tree(user)
    assert main([*ckpt, "--out", str(user)]) == 2
    one_error(capsys, str(user), "not written by gsfm predict")
    assert tree(user) == before
    pred = tmp_path / "p"
    assert main([*ckpt, "--out", str(pred), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert str(pred) in out  # the final folder, not the temporary one
    assert f"gsfm score --gt {gt} --pred {pred}" in out  # what to run next
    assert (pred / "gsfm_eval.json").is_file() and (pred / VIDEO / "00005.png").is_file()
    (pred / "notes.txt").write_text("mine")
    assert main([*ckpt, "--out", str(pred)]) == 2  # a file gsfm did not write: refused
    one_error(capsys, str(pred), "notes.txt", "nothing was changed")
    (pred / "notes.txt").unlink()
    assert main([*ckpt, "--out", str(pred), "--quiet"]) == 0  # its own output: replaced
    _no_leftovers(tmp_path)
    assert main(["predict", "--checkpoint", str(checkpoint), "--data", str(gt)]) == 2
    one_error(capsys, "--out is required")


def test_predict_with_a_bad_checkpoint_leaves_nothing_behind(gt, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00 not a checkpoint")
    pred = tmp_path / "new" / "pred"
    argv = ["predict", "--checkpoint", str(bad), "--data", str(gt), "--out", str(pred)]
    assert main(argv) == 2
    one_error(capsys, str(bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]


# --- notebooks -----------------------------------------------------------------------------


def test_notebooks_out_must_not_hold_other_files(tmp_path, capsys):
    from gsfm.runtime import project_root

    assert main(["notebooks", "--out", str(project_root() / "notebooks"), "zz"]) == 2
    one_error(capsys, "the notebooks' own folder")
    out = tmp_path / "nb"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "01_x.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    assert main(["notebooks", "--out", str(out), "zz"]) == 2
    one_error(capsys, str(out), "2 entries that are not executed notebooks", "01_x.ipynb")
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    (out / "01_x.ipynb").write_text(json.dumps({"cells": [], "metadata": {"papermill": {}}}))
    (out / ".ipynb_checkpoints").mkdir()
    assert main(["notebooks", "--out", str(out), "zz"]) == 2  # accepted: no notebook "zz"
    one_error(capsys, "no notebook matches")


# --- bad checkpoint files ------------------------------------------------------------------


class _Custom:
    """An arbitrary Python object: a weights-only load must refuse it."""


def _bad_file(kind: str, folder: Path, good: Path) -> Path:
    path = folder / f"{kind}.pt"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(512))
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "custom-object":
        torch.save({"model": _Custom()}, path)
    elif kind == "set":
        torch.save({"ids": {1, 2}}, path)
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "unrelated-keys":
        torch.save({"weights": torch.zeros(3), "epoch": 3}, path)
    elif kind == "empty":
        path.write_bytes(b"")
    # "missing": not written
    return path


BAD = [
    "random",
    "truncated",
    "custom-object",
    "set",
    "tensor",
    "unrelated-keys",
    "empty",
    "missing",
]
EXPECTED = {
    "random": "or corrupt",
    "truncated": "or corrupt",
    "custom-object": "Python objects other than tensors",
    "set": "neither a gsfm checkpoint nor a state dict in the authors' STCN/GSFM layout",
    "tensor": "is not a gsfm or authors' (STCN/GSFM) checkpoint: it holds a Tensor",
    "unrelated-keys": "neither a gsfm checkpoint",
    "empty": "the file is empty",
    "missing": "not found",
}


def _check_bad_checkpoint_error(capsys, path: Path, kind: str) -> None:
    err = one_error(capsys, str(path), EXPECTED[kind])
    for advice in ("weights_only=False", "weights_only` set to `False", "trust", "safe_globals"):
        assert advice not in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", BAD)
def test_predict_checkpoint_bad_file_is_one_line(gt, checkpoint, tmp_path, capsys, kind):
    path = _bad_file(kind, tmp_path, checkpoint)
    argv = ["predict", "--checkpoint", str(path), "--data", str(gt), "--out", str(tmp_path / "p")]
    assert main([*argv, "--device", "cpu"]) == 2
    _check_bad_checkpoint_error(capsys, path, kind)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("kind", BAD)
def test_train_init_bad_file_is_one_line(checkpoint, tmp_path, capsys, kind):
    path = _bad_file(kind, tmp_path, checkpoint)
    out = tmp_path / "run"
    argv = ["train", "--profile", "smoke", "--init", str(path), "--out", str(out)]
    assert main([*argv, "--no-progress", "--device", "cpu"]) == 2
    _check_bad_checkpoint_error(capsys, path, kind)
    assert not out.exists()
