"""``python -m gsfm train``: argument errors are one clear line (exit 2); a smoke run works."""

from __future__ import annotations

import json

import pytest

from gsfm.cli import main
from gsfm.training.api import parse_data_spec

pytestmark = pytest.mark.usefixtures("one_thread")


def _fails(argv, capsys, needle: str) -> None:
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--data", "imagenet"], "bad data specification"),
        (["--data", "davis"], "needs a path"),
        (["--data", "davis:/no/such/folder"], "davis data folder not found"),
        (["--set", "no_such_field=1"], "unknown training option"),
        (["--set", "batch_size=0"], "batch_size must be >= 1"),
        (["--model-option", "lfm=sideways"], "lfm must be one of"),
        (["--num-workers", "-1"], "--num-workers"),
    ],
)
def test_bad_arguments_are_one_clear_error(tmp_path, capsys, argv, needle):
    _fails(["--profile", "smoke", "--out", str(tmp_path / "run"), *argv], capsys, needle)
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.parametrize(
    "argv", [["--iterations", "0"], ["--model", "unet"], ["--profile", "huge"], []]
)
def test_argparse_rejects_bad_values_and_a_missing_out(tmp_path, argv):
    out = [] if not argv else ["--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as info:
        main(["train", *out, *argv])
    assert info.value.code == 2


def test_resume_without_a_run_is_a_clear_error(tmp_path, capsys):
    _fails(["--out", str(tmp_path / "none"), "--resume"], capsys, "no config.json")


@pytest.fixture
def captured_train(monkeypatch):
    """Replace the training entry point: record what ``train`` is called with, train nothing."""
    import types

    import gsfm.training.api

    calls = []

    def fake_train(model, profile, data, out, **kwargs):
        calls.append({"model": model, "profile": profile, "data": list(data), **kwargs})
        return types.SimpleNamespace(final=None, rank=0)

    monkeypatch.setattr(gsfm.training.api, "train", fake_train)
    return calls


@pytest.mark.parametrize(
    ("profile", "data"),
    [(None, ["synth"]), ("smoke", ["synth"]), ("cpu", ["synth"]), ("gpu", ["synth-train"]),
     ("paper", ["synth"])],
)  # fmt: skip
def test_default_data_is_the_profiles(tmp_path, captured_train, profile, data):
    from gsfm.config import default_data

    argv = ["train", "--out", str(tmp_path / "run")]
    argv += [] if profile is None else ["--profile", profile]
    assert main(argv) == 0
    assert captured_train[-1]["data"] == data == list(default_data(profile or "cpu"))
    assert main([*argv, "--data", "synth", "--data", "synth-train*2"]) == 0  # explicit: as given
    assert captured_train[-1]["data"] == ["synth", "synth-train*2"]


def test_resume_takes_the_runs_data(tmp_path, captured_train):
    run = tmp_path / "run"
    run.mkdir()
    config = {
        "model_name": "gsfm",
        "profile": "gpu",
        "data": ["synth*3"],
        "train": {"stage": "main"},
    }
    (run / "config.json").write_text(json.dumps(config))
    assert main(["train", "--out", str(run), "--resume"]) == 0
    call = captured_train[-1]
    assert (call["profile"], call["data"], call["resume"]) == ("gpu", ["synth*3"], True)


def test_help_names_every_profile():
    from gsfm.commands.train import HELP
    from gsfm.config import PROFILE_NAMES

    assert "|".join(PROFILE_NAMES) in HELP


def test_data_spec_repeat_and_paths(tmp_path):
    spec = parse_data_spec(f"davis:{tmp_path}*5")
    assert (spec.kind, spec.arg, spec.repeat) == ("davis", str(tmp_path), 5)
    assert parse_data_spec("synth").arg is None
    assert str(parse_data_spec("synth:v1")) == "synth:v1"


@pytest.mark.slow
def test_smoke_run_then_refuse_overwrite_then_resume_finished(tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--profile", "smoke", "--model", "stcn", "--out", out, "--no-progress"]
    assert main([*argv, "--iterations", "2", "--set", "epoch_samples=8", "--seed", "3"]) == 0
    assert "trained 2 iterations" in capsys.readouterr().out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model_name"] == "stcn" and config["profile"] == "smoke"
    assert config["train"]["seed"] == 3 and config["train"]["epoch_samples"] == 8
    assert config["model"]["lfm"] == "off" and config["data"] == ["synth"]
    _fails(argv[1:], capsys, "already holds a run")
    before = (tmp_path / "run" / "checkpoints" / "final.pt").stat().st_mtime_ns
    assert main(["train", "--out", out, "--resume", "--no-progress"]) == 0  # settings from config
    assert (tmp_path / "run" / "checkpoints" / "final.pt").stat().st_mtime_ns == before


@pytest.mark.slow
def test_static_stage_then_main_stage_from_its_weights(tmp_path, capsys):
    """Stage 'static' on image+mask pairs (pseudo-videos, one object), then --init main."""
    import numpy as np
    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(images / f"{i}.jpg")
        mask = np.zeros((48, 64), np.uint8)
        mask[10:30, 15 + i : 40 + i] = 255
        Image.fromarray(mask).save(images / f"{i}.png")
    static = str(tmp_path / "static")
    common = ["train", "--profile", "smoke", "--iterations", "1", "--no-progress"]
    assert (
        main([*common, "--stage", "static", "--data", f"static:{images}*2", "--out", static]) == 0
    )
    config = json.loads((tmp_path / "static" / "config.json").read_text())
    assert config["train"]["stage"] == "static" and config["train"]["max_objects"] == 1
    assert config["data"] == [f"static:{images}*2"]
    init = str(tmp_path / "static" / "checkpoints" / "final.pt")
    main_run = str(tmp_path / "main")
    args = [*common, "--init", init, "--out", main_run, "--set", "epoch_samples=4"]
    assert main(args) == 0
    assert json.loads((tmp_path / "main" / "config.json").read_text())["init"] == init
    _fails([*common[1:], "--stage", "static", "--data", "davis:" + str(images), "--out",
            str(tmp_path / "x")], capsys, "not videos")  # fmt: skip
