"""gsfm.evaluation: a trained checkpoint and the trivial baselines scored on a DAVIS folder."""

from __future__ import annotations

import math

import pytest

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


def test_eval_command_with_a_checkpoint(tmp_path, tiny_val, capsys):
    """``python -m gsfm eval --checkpoint FILE --data DIR`` segments, scores and prints."""
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main
    from gsfm.model import build_model

    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    csv = tmp_path / "row.csv"
    code = main(
        ["eval", "--checkpoint", str(ckpt), "--data", str(tiny_val), "--pred", str(tmp_path / "p"),
         "--device", "cpu", "--csv", str(csv)]
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "J&F-Mean" in out and "stcn" in out
    assert csv.is_file() and list((tmp_path / "p").glob("*/*.png"))
    assert (
        main(["eval", "--checkpoint", str(tmp_path / "missing.pt"), "--data", str(tiny_val)]) == 2
    )
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(ckpt)]) == 2
    assert "needs --data" in capsys.readouterr().err
