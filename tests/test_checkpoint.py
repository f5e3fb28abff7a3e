"""Tests of gsfm.checkpoint: atomic save, weights_only load, exact rebuild, clear errors."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from gsfm.checkpoint import CheckpointError, load_model, load_state, load_weights, save_checkpoint
from gsfm.model import build_model


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("gsfm", "smoke", lfm="attention", sigma=5.0).eval()


def test_roundtrip_rebuilds_config_and_outputs(tmp_path, model) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    path = save_checkpoint(
        tmp_path / "run" / "ckpt.pth",
        model,
        optimizer=opt.state_dict(),
        iteration=12,
        rng={"torch": torch.get_rng_state(), "python": random.getstate()},
    )
    assert path.is_file()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    state = load_state(path)
    assert state["iteration"] == 12 and state["config"]["lfm"] == "attention"
    assert isinstance(state["rng"]["torch"], torch.Tensor)
    loaded = load_model(path)
    assert loaded.config == model.config
    assert not loaded.training
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a, b = model.encode_key(x), loaded.encode_key(x)
    torch.testing.assert_close(a.key, b.key, rtol=0, atol=0)
    torch.testing.assert_close(a.f16, b.f16, rtol=0, atol=0)
    assert load_model(path, top_k=7).config.top_k == 7


def test_non_plain_extra_is_rejected_before_writing(tmp_path, model) -> None:
    with pytest.raises(TypeError, match="ndarray"):
        save_checkpoint(tmp_path / "x.pth", model, rng=np.random.get_state())
    assert not (tmp_path / "x.pth").exists()
    assert not list(tmp_path.iterdir())  # no temp file left behind
    with pytest.raises(ValueError, match="may not be named"):
        save_checkpoint(tmp_path / "x.pth", model, config={})


def test_mismatching_checkpoint_error_names_file(tmp_path, model) -> None:
    path = save_checkpoint(tmp_path / "gsfm.pth", model)
    stcn = build_model("stcn", "smoke")
    with pytest.raises(CheckpointError, match="gsfm.pth") as info:
        load_weights(stcn, load_state(path)["model"], f"checkpoint {path}")
    msg = str(info.value)
    assert "unexpected keys" in msg and "lfm.* 8" in msg and "key_encoder.*" in msg
    other = build_model("gsfm", "smoke", value_dim=32)
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_weights(other, load_state(path)["model"], "ckpt")


def test_bad_files(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_state(tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="junk.pth"):
        load_model(junk)
    plain = tmp_path / "plain.pth"
    torch.save({"a": torch.zeros(1)}, plain)
    with pytest.raises(CheckpointError, match="neither a gsfm checkpoint"):
        load_model(plain)
    with pytest.raises(ValueError, match="overridden"):
        load_model(plain, lfm="off")


def test_checkpoints_without_a_model_name_get_one_from_their_switches(tmp_path) -> None:
    """Checkpoints written before ModelConfig had a name still load, named by what they are."""
    for name in ("stcn", "gsfm"):
        path = save_checkpoint(tmp_path / f"{name}.pt", build_model(name, "smoke"))
        state = torch.load(path, weights_only=True)
        del state["config"]["name"]
        torch.save(state, path)
        assert load_model(path).config.name == name
