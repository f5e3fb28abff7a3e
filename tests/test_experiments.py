"""gsfm.experiments (train once, evaluate once, reuse with provenance) and
gsfm.analysis.comparison (result tables, the conclusion sentence, qualitative picks)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gsfm import experiments
from gsfm.analysis import comparison
from gsfm.checkpoint import save_checkpoint
from gsfm.data import layout
from gsfm.data.synthetic import ensure_split
from gsfm.model import build_model

# --- trained_run ---------------------------------------------------------------------------


def _fake_train(calls: list[dict]):
    """A stand-in for gsfm.training.api.train that writes what a finished run leaves behind."""

    def train(model, profile, data, out, *, resume, device, progress, model_options, **train_opts):
        calls.append({"model": model, "out": Path(out), "resume": resume, **train_opts})
        seed = train_opts.pop("seed")
        cfg = experiments.run_config(
            model, profile, seed=seed, data=data, **model_options, **train_opts
        )
        out = Path(out)
        (out / "checkpoints").mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps({**cfg, "provenance": {"device": "cpu"}}))
        (out / "checkpoints" / "latest.pt").write_bytes(b"x")
        (out / "checkpoints" / "final.pt").write_bytes(b"x")
        return SimpleNamespace(finished=True)

    return train


def test_trained_run_trains_once_then_reuses(tmp_path: Path, monkeypatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("gsfm.experiments.train", _fake_train(calls))
    run = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, device="cpu")
    assert run.parent == tmp_path and run.name.startswith("stcn-smoke-seed3-")
    assert len(calls) == 1 and calls[0]["seed"] == 3 and not calls[0]["resume"]
    again = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, device="cpu")
    assert again == run and len(calls) == 1  # reused, not retrained
    experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, retrain=True, device="cpu")
    assert len(calls) == 2
    # another seed, model option or training option is another run (another folder)
    other = experiments.trained_run("stcn", "smoke", seed=4, runs_dir=tmp_path, device="cpu")
    opt = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, sigma=5.0, lr=1e-3)
    assert len({run, other, opt}) == 3 and len(calls) == 4


def test_trained_run_reuses_a_run_saved_before_fields_were_added(
    tmp_path: Path, monkeypatch
) -> None:
    """A finished run whose config.json predates ModelConfig.name / TrainConfig.dice (so its
    folder has another hash) is reused when nothing it was trained with changed."""
    calls: list[dict] = []
    monkeypatch.setattr("gsfm.experiments.train", _fake_train(calls))
    run = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, device="cpu")
    config = json.loads((run / "config.json").read_text())
    del config["model"]["name"], config["train"]["dice"]  # as an earlier version wrote it
    old = run.with_name("stcn-smoke-seed3-0ld0ld00")
    run.rename(old)
    (old / "config.json").write_text(json.dumps(config))
    again = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, device="cpu")
    assert again == old and len(calls) == 1  # reused, not retrained
    config["model"]["lfm"] = "low"  # a real difference: trained again, into its own folder
    (old / "config.json").write_text(json.dumps(config))
    fresh = experiments.trained_run("stcn", "smoke", seed=3, runs_dir=tmp_path, device="cpu")
    assert fresh == run and len(calls) == 2


def test_trained_run_resumes_an_interrupted_run_and_replaces_a_foreign_one(
    tmp_path: Path, monkeypatch
) -> None:
    calls: list[dict] = []
    monkeypatch.setattr("gsfm.experiments.train", _fake_train(calls))
    run = experiments.trained_run("gsfm", "smoke", seed=0, runs_dir=tmp_path, device="cpu")
    (run / "checkpoints" / "final.pt").unlink()  # as if stopped after a checkpoint
    experiments.trained_run("gsfm", "smoke", seed=0, runs_dir=tmp_path, device="cpu")
    assert calls[-1]["resume"] is True
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["lr"] = 0.5  # a folder of our name holding another configuration
    (run / "config.json").write_text(json.dumps(cfg))
    experiments.trained_run("gsfm", "smoke", seed=0, runs_dir=tmp_path, device="cpu")
    assert calls[-1]["resume"] is False and len(calls) == 3
    assert json.loads((run / "config.json").read_text())["train"]["lr"] != 0.5


def test_unknown_option_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown option"):
        experiments.trained_run("gsfm", "smoke", seed=0, runs_dir=tmp_path, no_such=1)
    with pytest.raises(ValueError, match="unknown model"):
        experiments.run_config("nope", "smoke", seed=0)


@pytest.mark.slow
def test_run_config_matches_what_the_trainer_saves(tmp_path: Path, monkeypatch) -> None:
    """One real smoke run: its config.json is what run_config predicts, so it is reused."""
    run = experiments.trained_run(
        "stcn", "smoke", seed=1, runs_dir=tmp_path, device="cpu", progress=False, iterations=1
    )
    saved = json.loads((run / "config.json").read_text())
    expected = experiments.run_config("stcn", "smoke", seed=1, iterations=1)
    assert {k: saved[k] for k in expected} == expected
    assert (run / "checkpoints" / "final.pt").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("a finished run must not be trained again")

    monkeypatch.setattr("gsfm.experiments.train", boom)
    assert (
        experiments.trained_run(
            "stcn", "smoke", seed=1, runs_dir=tmp_path, device="cpu", iterations=1
        )
        == run
    )


# --- ensure_split, trivial_baselines --------------------------------------------------

SMALL = {"limit": 1, "height": 32, "width": 48}


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    return ensure_split(tmp_path_factory.mktemp("synth"), "val", **SMALL)


def test_ensure_split_writes_once_and_repairs(split: Path, monkeypatch) -> None:
    assert split.name == "val-32x48-first1"
    video = (split / "ImageSets" / "synth-v1" / "val.txt").read_text().split()
    assert video == ["val_000_lookalike"]
    frames = split / "JPEGImages" / "32p" / "val_000_lookalike"
    assert len(list(frames.glob("*.jpg"))) == 24

    def boom(*args, **kwargs):
        raise AssertionError("a complete split must not be written again")

    with monkeypatch.context() as m:
        m.setattr("gsfm.data.synthetic.splits.write_split", boom)
        assert ensure_split(split.parent, "val", **SMALL) == split
    (frames / "00007.jpg").unlink()  # incomplete: written again
    assert ensure_split(split.parent, "val", **SMALL) == split
    assert (frames / "00007.jpg").is_file()
    with pytest.raises(ValueError, match="limit"):
        ensure_split(split.parent, "val", limit=0)
    with pytest.raises(ValueError, match="unknown split"):
        ensure_split(split.parent, "nope")


def test_trivial_baselines(split: Path, tmp_path: Path) -> None:
    table = experiments.trivial_baselines(split, out_dir=tmp_path / "b")
    assert list(table["model"]) == ["empty", "copy-first"]
    jf = table.set_index("model")["J&F-Mean"]
    assert jf["empty"] == 0.0 and 0.0 < jf["copy-first"] < 1.0
    assert (tmp_path / "b" / "copy-first" / "val_000_lookalike" / "00005.png").is_file()


# --- evaluated_run ---------------------------------------------------------------------------


def _run_with_checkpoint(folder: Path, seed: int = 0) -> Path:
    import torch

    torch.manual_seed(seed)
    save_checkpoint(folder / "checkpoints" / "final.pt", build_model("stcn", "smoke"))
    return folder


def test_evaluated_run_caches_and_recomputes_on_change(
    split: Path, tmp_path: Path, monkeypatch
) -> None:
    calls: list[Path] = []

    def fake_eval(ckpt, root, out, **kwargs):
        calls.append(Path(out))
        for name, rows in (("global.csv", 1), ("per_sequence.csv", 1), ("per_object.csv", 1)):
            pd.DataFrame({"sequence": ["v"] * rows, "J&F-Mean": [0.5]}).to_csv(
                Path(out) / name, index=False
            )
        return pd.DataFrame([{"J&F-Mean": 0.5, "fps": 10.0, "predictions": str(out)}])

    monkeypatch.setattr("gsfm.experiments.evaluate_checkpoint", fake_eval)
    run = _run_with_checkpoint(tmp_path / "run")
    first = experiments.evaluated_run(run, split, device="cpu")
    assert not first.reused and first.jf == 0.5 and first.fps == 10.0
    assert first.pred_dir.parent == run / "eval" and (first.pred_dir / "provenance.json").is_file()
    prov = json.loads((first.pred_dir / "provenance.json").read_text())
    assert {"checkpoint_sha256", "code_sha256", "git_commit", "libraries", "data_sha256"} <= set(
        prov
    )
    assert not list((run / "eval").glob(".*.tmp"))  # the temporary folder was renamed
    second = experiments.evaluated_run(run, split, device="cpu")
    assert second.reused and len(calls) == 1 and second.pred_dir == first.pred_dir
    experiments.evaluated_run(run, split, device="cpu", recompute=True)
    assert len(calls) == 2
    _run_with_checkpoint(run, seed=1)  # new weights: the cache no longer matches
    third = experiments.evaluated_run(run, split, device="cpu")
    assert not third.reused and len(calls) == 3
    other = experiments.evaluated_run(run, split, device="cpu", top_k=5)  # other settings
    assert other.pred_dir != first.pred_dir
    from gsfm.training import run_folder

    real = run_folder.provenance
    monkeypatch.setattr(  # another commit that leaves the inference code alone: still reused
        "gsfm.experiments.provenance", lambda *a: {**real(*a), "git_commit": "f" * 40}
    )
    assert experiments.evaluated_run(run, split, device="cpu").reused and len(calls) == 4
    monkeypatch.setattr(experiments, "inference_code_digest", lambda: "0" * 64)  # code changed
    assert not experiments.evaluated_run(run, split, device="cpu").reused and len(calls) == 5


def test_the_inference_code_digest_leaves_out_plotting_and_training_only() -> None:
    digest = experiments.inference_code_digest()
    assert len(digest) == 64 and digest == experiments.inference_code_digest()
    package = Path(experiments.__file__).parent
    counted = [
        p
        for p in package.rglob("*.py")
        if not p.relative_to(package).as_posix().startswith(experiments._NOT_INFERENCE)
    ]
    names = {p.relative_to(package).as_posix() for p in counted}  # fmt: skip
    assert {"inference.py", "evaluation.py", "metrics.py", "model/network.py"} <= names
    assert not any(n.startswith(("viz/", "training/")) for n in names)


def test_evaluated_run_failure_leaves_no_half_written_cache(
    split: Path, tmp_path: Path, monkeypatch
) -> None:
    def failing(ckpt, root, out, **kwargs):
        (Path(out) / "partial.png").write_bytes(b"x")
        raise RuntimeError("inference crashed")

    monkeypatch.setattr("gsfm.experiments.evaluate_checkpoint", failing)
    run = _run_with_checkpoint(tmp_path / "run")
    with pytest.raises(RuntimeError, match="crashed"):
        experiments.evaluated_run(run, split, device="cpu")
    assert not (run / "eval").exists()  # not even the folder this call created
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        experiments.evaluated_run(tmp_path / "nothing", split)


@pytest.mark.slow
def test_evaluated_run_real_inference(split: Path, tmp_path: Path) -> None:
    run = _run_with_checkpoint(tmp_path / "run")
    ev = experiments.evaluated_run(run, split, device="cpu")
    assert 0.0 <= ev.jf <= 1.0 and ev.fps > 0
    assert list(ev.per_sequence["sequence"]) == ["val_000_lookalike"]
    assert len(list((ev.pred_dir / "val_000_lookalike").glob("*.png"))) == 24
    assert experiments.evaluated_run(run, split, device="cpu").reused


def test_data_fingerprint_changes_with_the_data(split: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(split, copy)
    a = layout.data_fingerprint(copy, ["val_000_lookalike"])
    assert a == layout.data_fingerprint(split, ["val_000_lookalike"])
    ann = copy / "Annotations" / "32p" / "val_000_lookalike" / "00003.png"
    shutil.copy(copy / "Annotations" / "32p" / "val_000_lookalike" / "00004.png", ann)
    assert layout.data_fingerprint(copy, ["val_000_lookalike"]) != a
    with pytest.raises(FileNotFoundError):
        layout.data_fingerprint(copy, ["no_such_video"])


def test_device_overrides_and_eval_split_settings() -> None:
    assert experiments.device_overrides("cpu") == {}
    assert experiments.eval_split_settings("smoke")["limit"] == 3
    assert experiments.eval_split_settings("cpu") == {}


# --- comparison ------------------------------------------------------------------------------


def _summary(gsfm: list[float], stcn: list[float], copy: float = 30.0) -> pd.DataFrame:
    rows = [
        {"method": "GSFM", "seed": i, "J&F": v, "J": v, "F": v, "FPS": 5.0}
        for i, v in enumerate(gsfm)
    ]
    rows += [
        {"method": "STCN", "seed": i, "J&F": v, "J": v, "F": v, "FPS": 8.0}
        for i, v in enumerate(stcn)
    ]
    rows.append(
        {"method": "copy-first", "seed": None, "J&F": copy, "J": copy, "F": copy, "FPS": math.nan}
    )
    return comparison.summarise(pd.DataFrame(rows))


def test_summarise_means_and_spread() -> None:
    s = _summary([60.0, 70.0], [50.0, 52.0]).set_index("method")
    assert s.loc["GSFM", "J&F"] == 65.0 and s.loc["GSFM", "n_seeds"] == 2
    assert s.loc["GSFM", "J&F std"] == pytest.approx(np.std([60, 70], ddof=1))
    assert math.isnan(s.loc["copy-first", "J&F std"]) and s.loc["copy-first", "n_seeds"] == 0


def test_conclusion_says_what_was_measured() -> None:
    worse = comparison.conclusion(_summary([55.0], [60.0]))
    assert "does NOT beat" in worse and "55.0 vs 60.0" in worse
    better = comparison.conclusion(_summary([62.0], [60.0]))
    assert better.startswith("GSFM beats STCN by 2.0")
    level = comparison.conclusion(_summary([61.0, 65.0], [60.0, 64.0]))  # within the spread
    assert "are level" in level
    assert "GSFM clears it (+33.0)" in comparison.conclusion(_summary([63.0], [40.0]))
    assert "STCN misses it (+10.0)" in comparison.conclusion(_summary([63.0], [40.0]))
    with pytest.raises(ValueError, match="not in the summary"):
        comparison.conclusion(_summary([1.0], [1.0]), trivial="empty")


def test_results_table_from_evaluations(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"train": {"seed": 7}}))
    scores = pd.DataFrame(
        [
            {
                "J&F-Mean": 0.5,
                "J-Mean": 0.4,
                "F-Mean": 0.6,
                "fps": 3.0,
                "n_objects": 2,
                "n_sequences": 1,
            }
        ]
    )
    ev = SimpleNamespace(scores=scores, run_dir=tmp_path)
    base = pd.DataFrame(
        [
            {
                "model": "empty",
                "J&F-Mean": 0.0,
                "J-Mean": 0.0,
                "F-Mean": 0.0,
                "n_objects": 2,
                "n_sequences": 1,
            }
        ]
    )
    table = comparison.results_table({"GSFM": [ev]}, base)
    assert list(table["method"]) == ["GSFM", "empty"]
    row = table.iloc[0]
    assert row["seed"] == 7 and row["J&F"] == 50.0 and row["J"] == 40.0 and row["FPS"] == 3.0
    assert math.isnan(table.iloc[1]["FPS"])
    with pytest.raises(ValueError, match="no results"):
        comparison.results_table({})


def test_pick_videos_shows_both_directions() -> None:
    a = pd.DataFrame({"sequence": ["x", "y", "z"], "J&F-Mean": [0.9, 0.2, 0.5]})
    b = pd.DataFrame({"sequence": ["x", "y", "z"], "J&F-Mean": [0.5, 0.6, 0.5]})
    picks = comparison.pick_videos({"GSFM": a, "STCN": b}, n=1)
    assert [v for v, _ in picks] == ["x", "y"]
    assert "+40.0" in picks[0][1] and "−40.0" in picks[1][1]


def test_qualitative_frames_reads_gt_and_predictions(split: Path, tmp_path: Path) -> None:
    from gsfm.baselines import write_baseline

    pred = write_baseline(split, tmp_path / "copy", "copy-first")
    vids = comparison.qualitative_frames(
        split, {"copy": pred}, [("val_000_lookalike", "why")], n_frames=3
    )
    (v,) = vids
    assert v.frames == [0, 12, 23] and v.images.shape == (3, 32, 48, 3)
    assert list(v.masks) == ["GT", "copy"] and v.masks["copy"].shape == (3, 32, 48)
    np.testing.assert_array_equal(v.masks["copy"][0], v.masks["GT"][0])  # frame 0 is copied
    with pytest.raises(ValueError, match="n_frames"):
        comparison.qualitative_frames(split, {}, [("val_000_lookalike", "")], n_frames=0)


def test_seed_interval_is_the_student_t_interval() -> None:
    # three seeds 47, 49, 51: mean 49, sd 2, sem 2/sqrt(3), t(0.975, 2) = 4.302653
    mean, half = comparison.seed_interval([47.0, 49.0, 51.0])
    assert mean == pytest.approx(49.0)
    assert half == pytest.approx(4.302653 * 2 / math.sqrt(3), rel=1e-6)
    assert comparison.seed_interval([1.0, 1.0, 1.0])[1] == 0.0
    assert math.isnan(comparison.seed_interval([3.0])[1])
    wide = comparison.seed_interval([47.0, 49.0, 51.0], confidence=0.99)[1]
    assert wide > half
    with pytest.raises(ValueError, match="no values"):
        comparison.seed_interval([])
    with pytest.raises(ValueError, match="confidence"):
        comparison.seed_interval([1.0, 2.0], confidence=95)
    s = _summary([60.0, 70.0], [50.0, 52.0]).set_index("method")
    assert s.loc["GSFM", "J&F ci95"] == pytest.approx(12.706205 * np.std([60, 70], ddof=1) / 2**0.5)
