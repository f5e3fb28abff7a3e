"""``python -m gsfm predict --weights gsfm|stcn``: the shipped weights by name, on the command
line. The masks are those of ``--checkpoint`` on the same weights written as a run folder
(:func:`gsfm.weights.shipped_run`), and the marker records the weights' name and SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from _cli import one_error, tree

from gsfm.cli import main
from gsfm.runtime import project_root
from gsfm.weights import read_manifest, shipped_names, shipped_run

pytestmark = pytest.mark.usefixtures("one_thread")

WEIGHTS = project_root(Path(__file__).parent) / "weights"
SHIPPED = shipped_names(WEIGHTS)
NO_WEIGHTS = "weights/ holds no shipped weights in this checkout"


@pytest.fixture(scope="module")
def gt(tmp_path_factory) -> Path:
    """One synthetic video of 24 small frames."""
    out = tmp_path_factory.mktemp("gt") / "val"
    argv = ["synth", "--out", str(out), "--limit", "1", "--height", "32", "--width", "48"]
    assert main([*argv, "--quiet"]) == 0
    return out


def _masks(pred: Path) -> dict[str, str]:
    return {k: v for k, v in tree(pred).items() if k.endswith(".png")}


@pytest.mark.skipif(not SHIPPED, reason=NO_WEIGHTS)
@pytest.mark.parametrize("name", ["gsfm", "stcn"])
def test_predict_with_shipped_weights_matches_their_checkpoint(gt, tmp_path, capsys, name):
    common = ["--data", str(gt), "--device", "cpu", "--quiet"]
    by_name, by_file = tmp_path / "by_name", tmp_path / "by_file"
    assert main(["predict", "--weights", name, *common, "--out", str(by_name)]) == 0
    assert f"gsfm score --gt {gt} --pred {by_name}" in capsys.readouterr().out
    checkpoint = shipped_run(name, tmp_path / "runs", weights_dir=WEIGHTS) / "checkpoints/final.pt"
    assert main(["predict", "--checkpoint", str(checkpoint), *common, "--out", str(by_file)]) == 0
    masks = _masks(by_name)
    assert len(masks) == 24 and masks == _masks(by_file)
    marker = json.loads((by_name / "gsfm_eval.json").read_text())
    digest = hashlib.sha256((WEIGHTS / f"{name}.safetensors").read_bytes()).hexdigest()
    assert digest == read_manifest(WEIGHTS)["models"][name]["sha256"]
    assert marker["weights"] == {"name": name, "sha256": digest}
    assert marker["source"] == f"shipped weights {name}"
    assert marker["settings"] == json.loads((by_file / "gsfm_eval.json").read_text())["settings"]


@pytest.mark.skipif(not SHIPPED, reason=NO_WEIGHTS)
def test_an_unknown_weights_name_is_one_line_listing_the_known_ones(gt, tmp_path, capsys):
    pred = tmp_path / "p"
    assert main(["predict", "--weights", "nope", "--data", str(gt), "--out", str(pred)]) == 2
    one_error(capsys, "'nope'", ", ".join(SHIPPED))
    assert not pred.exists()


@pytest.mark.parametrize(
    "source",
    [
        ["--weights", "gsfm", "--checkpoint", "model.pt"],
        ["--weights", "gsfm", "--baseline", "empty"],
        ["--checkpoint", "model.pt", "--baseline", "copy-first"],
        [],
    ],
)
def test_exactly_one_of_checkpoint_weights_baseline(gt, tmp_path, capsys, source):
    pred = tmp_path / "p"
    assert main(["predict", *source, "--data", str(gt), "--out", str(pred)]) == 2
    one_error(capsys, "give one of --checkpoint", "--weights", "--baseline")
    assert not pred.exists()
