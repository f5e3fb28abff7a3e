"""``python -m gsfm synth``, ``predict --baseline`` and ``score`` end to end (in process)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from gsfm.cli import main


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "a"
    assert main(["synth", "--out", str(out), "--limit", "4", "--workers", "2", "--quiet"]) == 0
    return out


def test_synth_writes_the_davis_layout(synth_dir):
    names = (synth_dir / "ImageSets/synth-v1/val.txt").read_text().split()
    assert names == ["val_000_lookalike", "val_001_small", "val_002_thin", "val_003_occlusion"]
    for n in names:
        assert len(list((synth_dir / "JPEGImages/160p" / n).glob("*.jpg"))) == 24
        assert len(list((synth_dir / "Annotations/160p" / n).glob("*.png"))) == 24
    table = pd.read_csv(synth_dir / "objects_val.csv")
    assert {
        "video",
        "object_id",
        "first_frame",
        "lookalikes",
        "area_per_frame",
        "small",
        "tiny",
    } <= set(table.columns)
    assert set(table["video"]) == set(names)
    assert not list(synth_dir.rglob(".*"))  # no temporary leftovers


def test_synth_twice_gives_identical_trees(synth_dir, tmp_path):
    out = tmp_path / "b"  # one video after the other; synth_dir was rendered by 2 processes
    assert main(["synth", "--out", str(out), "--limit", "4", "--workers", "1", "--quiet"]) == 0
    assert _tree(out) == _tree(synth_dir)


def test_baselines_predicted_and_scored(synth_dir, tmp_path, capsys):
    csv = tmp_path / "scores.csv"
    copy = tmp_path / "copy"
    argv = ["predict", "--data", str(synth_dir), "--out", str(copy), "--quiet"]
    assert main([*argv, "--baseline", "copy-first"]) == 0
    assert f"gsfm score --gt {synth_dir} --pred {copy}" in capsys.readouterr().out
    rc = main(["score", "--gt", str(synth_dir), "--pred", str(copy), "--csv", str(csv), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "J&F-Mean" in out and "< 0.5%" in out
    table = pd.read_csv(csv)
    assert len(table) == len(pd.read_csv(synth_dir / "objects_val.csv"))
    assert table["J&F-Mean"].mean() < 0.5  # copying the first mask is poor: motion matters
    empty = tmp_path / "empty"
    argv = ["--data", str(synth_dir), "--out", str(empty), "--split", "val", "--quiet"]
    assert main(["predict", "--baseline", "empty", *argv]) == 0
    assert main(["score", "--gt", str(synth_dir), "--pred", str(empty), "--split", "val"]) == 0
    empty_table = pd.read_csv(empty / "results.csv")
    assert empty_table["J&F-Mean"].mean() < table["J&F-Mean"].mean()


def test_score_bad_input_is_one_clear_error(synth_dir, tmp_path, capsys):
    assert main(["score", "--gt", str(tmp_path / "missing"), "--pred", str(tmp_path)]) == 2
    assert "missing" in capsys.readouterr().err
    pred = tmp_path / "pred"
    pred.mkdir()
    assert main(["score", "--gt", str(synth_dir), "--pred", str(pred), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "val_000_lookalike" in err and err.count("\n") == 1
    assert main(["score", "--pred", str(pred)]) == 2
    assert capsys.readouterr().err == "error: --gt is required (the ground-truth folder)\n"


def test_synth_bad_parameters(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:  # refused when the command line is parsed
        main(["synth", "--out", str(tmp_path / "x"), "--limit", "0", "--quiet"])
    assert exc.value.code == 2 and "limit" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--out", str(tmp_path / "x"), "--workers", "0", "--quiet"])
    assert exc.value.code == 2 and "--workers" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("x")
    assert main(["synth", "--out", str(tmp_path / "file"), "--limit", "1", "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err
