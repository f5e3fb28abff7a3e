"""Shipped weights: export (float16 safetensors + manifest), verified loading, run folders.

Every test but the last two works on a run folder made here from an untrained smoke-profile
network, so the suite needs no trained model. The last two check the weights in ``weights/``
when they are there (and skip, saying why, when they are not): their SHA-256, their
configuration, and the committed J&F they reproduce.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from gsfm.checkpoint import load_model, save_checkpoint
from gsfm.cli import main
from gsfm.experiments import EvalRun, run_config, run_name
from gsfm.model import build_model
from gsfm.runtime import project_root
from gsfm.weights import (
    DOC_END,
    DOC_START,
    WeightsError,
    export_weights,
    load_shipped,
    manifest_markdown,
    read_manifest,
    reference_row,
    shipped_names,
    shipped_run,
    update_doc,
)

ROOT = project_root(Path(__file__).parent)


def _finished_run(folder: Path, model: str = "gsfm") -> Path:
    """A finished run folder as the trainer writes it (config.json with provenance, log.csv,
    checkpoints/final.pt), holding a seeded untrained smoke network."""
    config = run_config(model, "smoke", seed=0)
    run = folder / run_name(config)
    torch.manual_seed(0)
    net = build_model(model, "smoke")
    with torch.no_grad():  # non-default BatchNorm statistics, so that their dtype is visible
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    save_checkpoint(run / "checkpoints" / "final.pt", net)
    provenance = {"git_commit": "0" * 40, "torch": torch.__version__, "device": "cpu", "seed": 0,
                  "torch_threads": 1, "command": ["gsfm/__main__.py", "train", "--model", model]}  # fmt: skip
    (run / "config.json").write_text(json.dumps({**config, "provenance": provenance}))
    (run / "log.csv").write_text("iteration,loss,time_s\n2,1.5,1.0\n4,1.2,2.0\n")
    return run


def _results(folder: Path) -> Path:
    """A small_objects.csv with a smoke-profile GSFM and STCN row of seed 0 on val."""
    rows = pd.DataFrame(
        {"study": "small_objects", "variant": ["GSFM", "STCN"], "model": ["gsfm", "stcn"],
         "inference": '{"mem_every": 3, "top_k": 50}', "seed": 0, "split": "val",
         "profile": "smoke", "JF": [41.5, 30.25], "run": ["gsfm-run", "stcn-run"]}
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / "small_objects.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(run folder, results folder, weights folder) after exporting the run as "gsfm"."""
    base = tmp_path_factory.mktemp("weights")
    run, results = _finished_run(base / "runs"), _results(base / "results")
    export_weights(run, "gsfm", base / "weights", results_dir=results)
    return run, results, base / "weights"


def test_export_stores_half_parameters_and_buffers_at_their_dtype(exported) -> None:
    from safetensors.torch import load_file

    run, _, weights = exported
    original = load_model(run / "checkpoints" / "final.pt").state_dict()
    stored = load_file(weights / "gsfm.safetensors")
    assert set(stored) == set(original)
    net = build_model("gsfm", "smoke")
    params = {n for n, _ in net.named_parameters()}
    for key, value in stored.items():
        want = torch.float16 if key in params else original[key].dtype
        assert value.dtype == want, key
    assert stored["key_encoder.bn1.num_batches_tracked"].dtype == torch.int64
    bn = "key_encoder.bn1.running_var"
    assert torch.equal(stored[bn], original[bn])  # buffers are kept exactly
    size = (weights / "gsfm.safetensors").stat().st_size
    n_params = sum(original[k].numel() for k in params)
    assert (
        2 * n_params
        <= size
        < 2 * n_params + 4 * sum(original[k].numel() for k in set(original) - params) + 200_000
    )


def test_manifest_records_digest_config_provenance_and_row(exported) -> None:
    import hashlib

    run, results, weights = exported
    entry = read_manifest(weights)["models"]["gsfm"]
    data = (weights / "gsfm.safetensors").read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    saved = json.loads((run / "config.json").read_text())
    assert entry["config"] == {k: saved[k] for k in entry["config"]}
    assert entry["config"]["model"]["sigma"] == 7.0 and entry["config"]["train"]["seed"] == 0
    assert entry["provenance"]["git_commit"] == "0" * 40
    assert entry["iterations"] == saved["train"]["iterations"] and entry["run"] == run.name
    assert entry["reproduces"] == {
        "study": "small_objects", "variant": "GSFM", "seed": 0, "split": "val", "profile": "smoke",
        "run": "gsfm-run", "inference": {"mem_every": 3, "top_k": 50}, "JF": 41.5,
        "results": str(results), "data_hash": "",
    }  # fmt: skip
    assert (weights / "gsfm.log.csv").read_bytes() == (run / "log.csv").read_bytes()
    assert shipped_names(weights) == ["gsfm"]
    assert entry["sha256"] in manifest_markdown(weights)


def test_load_shipped_gives_the_float16_rounded_network(exported) -> None:
    run, _, weights = exported
    original = load_model(run / "checkpoints" / "final.pt")
    net = load_shipped("gsfm", weights_dir=weights)
    assert not net.training and net.config == original.config
    params = {n for n, _ in original.named_parameters()}
    for key, value in net.state_dict().items():
        ref = original.state_dict()[key]
        want = ref.half().float() if key in params else ref
        assert value.dtype == ref.dtype and torch.equal(value, want), key


def test_load_refuses_an_altered_file_naming_it(exported, tmp_path: Path) -> None:
    _, _, weights = exported
    copy = tmp_path / "w"
    copy.mkdir()
    for f in weights.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    data = bytearray((copy / "gsfm.safetensors").read_bytes())
    data[-10] ^= 0xFF  # one byte of one tensor
    (copy / "gsfm.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"gsfm\.safetensors: SHA-256 .* does not match") as err:
        load_shipped("gsfm", weights_dir=copy)
    assert "\n" not in str(err.value)


def test_missing_folder_and_unknown_name_are_clear_errors(exported, tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="weights folder not found: .*nowhere"):
        load_shipped("gsfm", weights_dir=tmp_path / "nowhere")
    with pytest.raises(WeightsError, match="no shipped weights named 'stcn'.*shipped: gsfm"):
        load_shipped("stcn", weights_dir=exported[2])
    (tmp_path / "empty").mkdir()
    assert shipped_names(tmp_path / "empty") == []


def test_export_refuses_to_replace_shipped_weights_without_force(exported, tmp_path) -> None:
    run, results, weights = exported
    before = (weights / "gsfm.safetensors").read_bytes()
    with pytest.raises(ValueError, match="already shipped.*--force"):
        export_weights(run, "gsfm", weights, results_dir=results)
    assert (weights / "gsfm.safetensors").read_bytes() == before
    # the command line: one line, exit status 2, nothing changed; --force replaces
    args = ["export-weights", "--run", str(run), "--name", "gsfm", "--out", str(weights),
            "--results", str(results), "--doc", ""]  # fmt: skip
    assert main(args) == 2
    assert main([*args, "--force"]) == 0
    assert read_manifest(weights)["models"]["gsfm"]["sha256"]  # still one consistent entry
    assert sorted(p.name for p in weights.iterdir()) == ["gsfm.log.csv", "gsfm.safetensors", "manifest.json"]  # fmt: skip


def test_export_errors_leave_nothing_behind(tmp_path: Path, capsys) -> None:
    run, results = _finished_run(tmp_path / "runs", "stcn"), _results(tmp_path / "results")
    assert main(["export-weights", "--run", str(tmp_path / "no-run"), "--name", "stcn",
                 "--out", str(tmp_path / "w"), "--doc", ""]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a finished run" in err and err.count("\n") == 1
    gsfm_run = _finished_run(tmp_path / "g", "gsfm")
    with pytest.raises(ValueError, match="the STCN row is a stcn model, the run a gsfm"):
        export_weights(gsfm_run, "gsfm", tmp_path / "w", reproduces=("small_objects", "STCN"),
                       results_dir=results)  # fmt: skip
    with pytest.raises(ValueError, match="has no Nope row of seed 0, smoke profile, val"):
        export_weights(run, "stcn", tmp_path / "w", reproduces=("small_objects", "Nope"),
                       results_dir=results)  # fmt: skip
    assert not (tmp_path / "w").exists()


def test_the_doc_table_is_generated_from_the_manifest(exported, tmp_path: Path) -> None:
    _, _, weights = exported
    doc = tmp_path / "weights.md"
    doc.write_text(f"# Weights\n\n{DOC_START}\nold table\n{DOC_END}\n\nAfter.\n")
    update_doc(doc, weights)
    text = doc.read_text()
    assert "old table" not in text and text.startswith("# Weights") and text.endswith("After.\n")
    assert manifest_markdown(weights) in text
    assert "python -m gsfm train --model gsfm" in text  # the run's recorded command
    (tmp_path / "bare.txt").write_text("no block")
    with pytest.raises(ValueError, match="lacks the markers"):
        update_doc(tmp_path / "bare.txt", weights)
    # the project's page holds exactly the table of what weights/ ships
    page = (ROOT / "docs" / "weights.md").read_text(encoding="utf-8")
    block = page.split(DOC_START, 1)[1].split(DOC_END, 1)[0]
    assert block == "\n" + manifest_markdown(ROOT / "weights")


def test_shipped_run_is_an_ordinary_run_folder(exported, tmp_path: Path) -> None:
    _, _, weights = exported
    run = shipped_run("gsfm", tmp_path / "runs", weights_dir=weights)
    assert (run / "log.csv").read_bytes() == (weights / "gsfm.log.csv").read_bytes()
    net = load_model(run / "checkpoints" / "final.pt")
    shipped = load_shipped("gsfm", weights_dir=weights)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), shipped.state_dict().values(), strict=True))  # fmt: skip
    mtime = (run / "checkpoints" / "final.pt").stat().st_mtime_ns
    assert shipped_run("gsfm", tmp_path / "runs", weights_dir=weights) == run  # reused
    assert (run / "checkpoints" / "final.pt").stat().st_mtime_ns == mtime
    foreign = tmp_path / "mine" / run.name
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("my work")
    with pytest.raises(WeightsError, match="not a run written from shipped weights"):
        shipped_run("gsfm", tmp_path / "mine", weights_dir=weights)
    assert (foreign / "notes.txt").read_text() == "my work"


# --- the weights in weights/, when they are there -------------------------------------------

SHIPPED = shipped_names(ROOT / "weights")
FULL = "scores all of synth-v1 val (minutes per model): `make test-weights` runs it"
NO_WEIGHTS = "weights/ holds no shipped weights yet (python -m gsfm export-weights writes them)"


def _score_shipped(
    name: str, data_dir: Path, limit: int | None, videos: list[str] | None = None
) -> EvalRun:
    """Shipped ``name`` scored on synth-v1 val (its first ``limit`` videos, of them
    ``videos``) with the inference settings of the row it reproduces."""
    from gsfm.data.synthetic import ensure_split
    from gsfm.experiments import eval_split_settings, evaluated_run

    entry = read_manifest(ROOT / "weights")["models"][name]
    ref = entry["reproduces"]
    split = eval_split_settings(ref["profile"]) | ({"limit": limit} if limit else {})
    root = ensure_split(data_dir, "val", **split)
    run = shipped_run(name, data_dir / "runs", weights_dir=ROOT / "weights")
    ev = evaluated_run(run, root, device="cpu", top_k=ref["inference"].get("top_k", "config"),
                       mem_every=ref["inference"].get("mem_every"), videos=videos)  # fmt: skip
    return ev


@pytest.mark.numerics
@pytest.mark.skipif(not SHIPPED, reason=NO_WEIGHTS)
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_match_their_manifest_and_committed_videos(name: str, tmp_path) -> None:
    entry = read_manifest(ROOT / "weights")["models"][name]
    net = load_shipped(name)  # verifies the SHA-256
    assert net.config.name == entry["config"]["model_name"] == name
    assert entry["config"]["profile"] == "cpu" and entry["config"]["train"]["seed"] == 0
    total = sum((ROOT / "weights" / e["file"]).stat().st_size for e in read_manifest(ROOT / "weights")["models"].values())  # fmt: skip
    assert total < 60e6
    expected = reference_row(name, videos=True)["JF"]  # the rows the manifest names
    # two of the first three videos (the second, a small object, scores 0 at seed 0): seconds
    videos = ["val_000_lookalike", "val_002_thin"]
    ev = _score_shipped(name, tmp_path, limit=3, videos=videos)
    got = 100 * ev.per_sequence.set_index("sequence")["J&F-Mean"]
    assert sorted(got.index) == videos and min(expected[videos]) > 10
    for video, jf in got.items():
        assert abs(jf - expected[video]) <= 0.1, (
            f"{name} {video}: {jf:.3f} vs committed {expected[video]:.3f}"
        )


@pytest.mark.slow
@pytest.mark.numerics
@pytest.mark.skipif(not SHIPPED, reason=NO_WEIGHTS)
@pytest.mark.skipif(not os.environ.get("GSFM_TEST_SHIPPED_FULL"), reason=FULL)
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_weights_reproduce_the_committed_jf_on_all_of_val(name: str, tmp_path) -> None:
    """The whole synth-v1 val split (24 videos, minutes): J&F within 0.1 of the committed row."""
    row = reference_row(name)
    ev = _score_shipped(name, tmp_path, limit=None)
    assert abs(100 * ev.jf - float(row["JF"])) <= 0.1, (
        f"{name}: {100 * ev.jf:.3f} vs {row['JF']:.3f}"
    )
