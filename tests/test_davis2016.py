"""DAVIS 2016: one object per video stored as 0/255 grayscale masks (``--binary``)."""

from __future__ import annotations

import numpy as np
import torch
from _data_fixtures import write_davis2017

from gsfm.model import build_model


def test_predict_and_score_commands_on_davis_2016_masks_with_binary(tmp_path, capsys) -> None:
    """DAVIS 2016 (0/255 grayscale masks): --binary predicts and scores one object, id 1;
    without it the 255s are void and the run ends in one clear error."""
    from gsfm.checkpoint import save_checkpoint
    from gsfm.cli import main
    from gsfm.data.io import read_mask, write_mask

    data = write_davis2017(tmp_path / "davis2016", {"a": 5}, h=24, w=40)
    for png in sorted((data / "Annotations" / "480p" / "a").glob("*.png")):
        write_mask(png, np.where(read_mask(png) > 0, 255, 0).astype(np.uint8), palette=None)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("stcn", "smoke"))
    argv = ["predict", "--checkpoint", str(ckpt), "--data", str(data), "--device", "cpu"]
    assert main([*argv, "--out", str(tmp_path / "p"), "--binary"]) == 0
    score = ["score", "--gt", str(data), "--pred", str(tmp_path / "p"), "--binary"]
    assert main(score) == 0
    assert "J&F-Mean" in capsys.readouterr().out
    ids = set().union(
        *(np.unique(read_mask(p)).tolist() for p in (tmp_path / "p" / "a").glob("*.png"))
    )
    assert ids <= {0, 1}
    assert main([*argv, "--out", str(tmp_path / "q")]) == 2
    assert "255" in capsys.readouterr().err
