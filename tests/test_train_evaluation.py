"""gsfm.evaluation: a trained checkpoint and the trivial baselines scored on a DAVIS folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from gsfm.evaluation import default_eval_dir, evaluate_baseline, evaluate_checkpoint
from gsfm.inference import InferenceSettings

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny_val(tmp_path_factory):
    from gsfm.data.synthetic import write_split

    return write_split(
        tmp_path_factory.mktemp("val"), "val", limit=1, height=64, width=96, progress=False
    )


@pytest.mark.slow
def test_evaluate_a_training_checkpoint_and_the_baselines(tmp_path, tiny_val):
    from gsfm.training.api import train

    result = train(
        "gsfm", "smoke", ["synth"], tmp_path / "run", iterations=1, epoch_samples=4,
        progress=False,
    )  # fmt: skip
    row = evaluate_checkpoint(result.final, tiny_val, device="cpu")
    assert len(row) == 1
    r = row.iloc[0]
    assert r["model"] == "gsfm" and r["iteration"] == 1
    assert 0.0 <= r["J&F-Mean"] <= 1.0 and r["frames"] > 0 and r["fps"] > 0
    assert (r["top_k"], r["mem_every"]) == (50, 3)  # GSFM's inference defaults
    out = default_eval_dir(result.final, tiny_val)
    assert out == tmp_path / "run" / "eval" / f"{tiny_val.name}-final"
    for name in ("global.csv", "per_sequence.csv", "per_object.csv"):
        assert (out / name).is_file()
    assert list(out.glob("*/*.png"))  # the predictions are kept
    again = evaluate_checkpoint(
        result.final, tiny_val, tmp_path / "e2", settings=InferenceSettings(top_k=5, mem_every=2)
    )
    assert (again.iloc[0]["top_k"], again.iloc[0]["mem_every"]) == (5, 2)

    copy = evaluate_baseline(tiny_val, tmp_path / "copy", "copy-first").iloc[0]
    empty = evaluate_baseline(tiny_val, tmp_path / "empty", "empty").iloc[0]
    assert copy["model"] == "copy-first" and empty["model"] == "empty"
    assert copy["J&F-Mean"] > empty["J&F-Mean"] and math.isfinite(copy["J&F-Mean"])


def test_missing_data_folder_is_a_clear_error(tmp_path):
    from _toy import ToyVOS

    from gsfm.evaluation import evaluate_model

    with pytest.raises(FileNotFoundError, match="evaluation data folder not found"):
        evaluate_model(ToyVOS(), tmp_path / "nope", tmp_path / "out")


def _masks(folder: Path) -> dict[str, bytes]:
    """Every predicted PNG under ``folder`` (relative path -> decoded pixels)."""
    return {
        p.relative_to(folder).as_posix(): np.asarray(Image.open(p)).tobytes()
        for p in sorted(folder.glob("*/*.png"))
    }


def test_predict_then_score_give_the_masks_and_scores_of_evaluate_checkpoint(
    tmp_path, tiny_val, capsys
):
    """``gsfm predict`` + ``gsfm score`` are the library's evaluate_checkpoint split in two:
    the same PNGs and the same J&F."""
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main
    from gsfm.model import build_model

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    row = evaluate_checkpoint(ckpt, tiny_val, tmp_path / "lib", device="cpu").iloc[0]
    pred = tmp_path / "p"
    argv = ["--checkpoint", str(ckpt), "--data", str(tiny_val), "--device", "cpu", "--quiet"]
    assert main(["predict", *argv, "--out", str(pred)]) == 0
    assert main(["score", "--gt", str(tiny_val), "--pred", str(pred), "--quiet"]) == 0
    assert _masks(pred) == _masks(tmp_path / "lib") and _masks(pred)
    table = pd.read_csv(pred / "results.csv")
    assert table["J&F-Mean"].mean() == pytest.approx(row["J&F-Mean"], abs=1e-12)
    assert f"J&F-Mean {100 * row['J&F-Mean']:.2f}" in capsys.readouterr().out
    marker = json.loads((pred / "gsfm_eval.json").read_text())
    assert (marker["settings"]["top_k"], marker["settings"]["mem_every"]) == (20, 5)
    assert main(["predict", "--checkpoint", str(tmp_path / "missing.pt"), "--data",
                 str(tiny_val), "--out", str(tmp_path / "q")]) == 2  # fmt: skip
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(ckpt), "--out", str(tmp_path / "q")]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()


def test_eval_alias_names_the_new_commands_and_does_their_job(tmp_path, tiny_val, capsys):
    """``gsfm eval`` (kept for one release) says on stderr which command to use, then runs
    it: ``--checkpoint`` predicts and scores (into ``--pred`` or the default folder),
    ``--gt --pred`` scores."""
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main
    from gsfm.model import build_model

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    argv = ["--checkpoint", str(ckpt), "--data", str(tiny_val), "--device", "cpu", "--quiet"]
    assert main(["predict", *argv, "--out", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    pred = tmp_path / "old"
    assert main(["eval", *argv, "--pred", str(pred)]) == 0
    captured = capsys.readouterr()
    assert "deprecated" in captured.err and "gsfm predict" in captured.err
    assert "gsfm score --gt" in captured.err
    assert "Global (object-weighted, x100): J&F-Mean" in captured.out
    assert _masks(pred) == _masks(tmp_path / "new") and (pred / "results.csv").is_file()

    assert main(["eval", "--gt", str(tiny_val), "--pred", str(pred), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "use `python -m gsfm score --gt" in captured.err and "predict" not in captured.err
    assert "J&F-Mean" in captured.out

    assert main(["eval", *argv]) == 0  # without --pred: the default folder, as before
    assert (default_eval_dir(ckpt, tiny_val) / "results.csv").is_file()
    assert main(["eval", "--checkpoint", str(ckpt)]) == 2
    assert "error: --checkpoint needs --data" in capsys.readouterr().err
