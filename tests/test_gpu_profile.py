"""The ``gpu`` profile's code paths on the CPU, at smoke scale: the paper network trained by the
real trainer from the pre-rendered split's data spec, and notebook 04's profile choice."""

from __future__ import annotations

import json
from pathlib import Path

from gsfm.config import auto_profile, default_data, model_config, train_config
from gsfm.experiments import run_config
from gsfm.training.api import train


def test_a_run_config_of_the_gpu_profile_uses_its_own_data_and_init() -> None:
    cfg = run_config("gsfm", "gpu", seed=0)
    assert cfg["data"] == list(default_data("gpu")) == ["synth-train"]
    assert cfg["train"]["encoder_init"] == "imagenet" and cfg["train"]["amp"] is True
    assert cfg["model"] == json.loads(json.dumps(cfg["model"]))  # JSON as config.json stores it
    assert run_config("gsfm", "cpu", seed=0)["data"] == ["synth"]


def test_the_gpu_profile_trains_end_to_end_at_smoke_scale(tmp_path: Path) -> None:
    # the paper network (ResNet-50 key encoder), one iteration of one small sample: the profile's
    # trainer path on a CPU, with random encoders (no weights here) and the in-memory stream
    # (the pre-rendered split's own tests are in tests/test_prerendered.py)
    result = train(
        "gsfm", "gpu", ["synth"], tmp_path / "run", device="cpu", progress=False,
        iterations=1, batch_size=1, crop_size=64, encoder_init="random", num_workers=0,
        log_every=1, checkpoint_every=1,
    )  # fmt: skip
    assert result.finished and (tmp_path / "run" / "checkpoints" / "final.pt").is_file()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["profile"] == "gpu"
    assert saved["model"]["key_encoder"] == model_config("gsfm", "gpu").key_encoder == "resnet50"
    assert saved["encoders"] == {"key_encoder": "random", "value_encoder": "random"}
    assert saved["train"]["amp"] is True  # the profile asks for AMP; it applies on CUDA only


def test_notebook_04_picks_the_cpu_profile_without_cuda() -> None:
    assert auto_profile("auto", "cpu") == "cpu"
    assert train_config(auto_profile("auto", "cpu")).encoder_init == "random"
