"""Design (b) of the ablations: every variant of a seed starts from one shared state
(gsfm.training.start), and the runner keeps designs apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from gsfm.ablation.runner import plan, run_ablation
from gsfm.ablation.store import check_one_start
from gsfm.ablation.studies import STUDIES, get_studies
from gsfm.config import TrainConfig
from gsfm.model.network import build_model
from gsfm.runtime import seed_everything
from gsfm.training.api import train
from gsfm.training.start import apply_shared_start, identity_residual_modules

# the components study's twin pair: one network, up to the key encoder's conv biases
TWIN_A = ("gsfm", {})
TWIN_B = ("stcn", {"lfm": "low", "hfm": "high", "boundary": True})


def _built(model: str, options: dict, *, shared: bool, seed: int = 3):
    seed_everything(seed)
    net = build_model(model, "smoke", **options)
    report = apply_shared_start(net, "smoke", seed, "random") if shared else None
    return net, report


def test_the_twins_draw_different_weights_on_their_own_and_the_same_when_shared() -> None:
    (a, _), (b, _) = (_built(m, o, shared=False) for m, o in (TWIN_A, TWIN_B))
    sa, sb = a.state_dict(), b.state_dict()
    assert set(sb) < set(sa)  # GSFM holds 15 more tensors: the key encoder's conv biases
    differ = [k for k in sb if not torch.equal(sa[k], sb[k])]
    # the biases consume the seed's random stream, so everything built after them differs
    assert "lfm.conv1.weight" in differ and "key_proj.weight" in differ
    (a, ra), (b, rb) = (_built(m, o, shared=True) for m, o in (TWIN_A, TWIN_B))
    sa, sb = a.state_dict(), b.state_dict()
    assert [k for k in sb if not torch.equal(sa[k], sb[k])] == []
    assert ra.own == () and rb.own == () and len(rb.copied) == len(sb)
    assert ra.identity == rb.identity == ("lfm", "decoder.hfm")


def test_a_variant_keeps_its_own_draw_only_where_the_shared_state_has_no_match() -> None:
    net, report = _built("gsfm", {"lfm": "attention"}, shared=True)
    assert report.own and all(k.startswith("lfm.") for k in report.own)
    assert "lfm" in report.identity  # the non-local block adds nothing at first either
    stcn, report = _built("stcn", {}, shared=True)
    assert report.identity == () and report.own == ()


@pytest.mark.numerics
def test_shared_frequency_modules_start_as_the_identity() -> None:
    net, _ = _built("gsfm", {}, shared=True)
    x = torch.randn(2, net.lfm.channels, 6, 7)
    assert torch.equal(net.lfm(x), x)
    y = torch.randn(2, net.decoder.hfm.channels, 8, 8)
    assert torch.equal(net.decoder.hfm(y), y)
    own, _ = _built("gsfm", {}, shared=False)
    assert not torch.allclose(own.lfm(x), x)


def test_a_one_conv_frequency_module_cannot_start_as_the_identity() -> None:
    net = build_model("gsfm", "smoke", spectral_convs=1)
    with pytest.raises(ValueError, match="lfm: a one-conv frequency module"):
        identity_residual_modules(net)


def test_start_is_checked_and_does_not_mix_with_init(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="start must be one of"):
        TrainConfig(start="common")
    with pytest.raises(ValueError, match="--init and start=shared"):
        train(
            "gsfm", "smoke", out=tmp_path / "run", init=tmp_path / "x.pt", start="shared",
            iterations=1, progress=False,
        )  # fmt: skip
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def _losses(tmp: Path, model: str, options: dict, start: str) -> pd.Series:
    out = tmp / f"{model}-{start}"
    train(
        model, "smoke", out=out, seed=5, iterations=3, log_every=1, start=start,
        progress=False, device="cpu", model_options={**options, "freeze_bn": False},
    )  # fmt: skip
    return pd.read_csv(out / "log.csv")["total"]


@pytest.mark.numerics
def test_twins_from_one_shared_start_train_alike_under_trained_batch_norm(tmp_path: Path) -> None:
    """Under trained BN the key encoder's conv biases are cancelled, so from one shared start
    the twin pair takes the same steps (to float rounding); from their own draws they do not."""
    shared = [_losses(tmp_path, m, o, "shared") for m, o in (TWIN_A, TWIN_B)]
    torch.testing.assert_close(
        torch.tensor(shared[0].to_numpy()), torch.tensor(shared[1].to_numpy()), rtol=1e-4, atol=0
    )
    own = [_losses(tmp_path, m, o, "own") for m, o in (TWIN_A, TWIN_B)]
    assert abs(own[0].iloc[0] - own[1].iloc[0]) > 1e-3 * abs(own[0].iloc[0])


def test_one_results_folder_holds_one_design(tmp_path: Path) -> None:
    studies = get_studies(["components"])
    check_one_start(tmp_path, studies, "shared")  # no file yet: fine
    committed = Path(__file__).resolve().parents[1] / "results" / "ablations" / "components.csv"
    rows = pd.read_csv(committed, dtype=str, keep_default_na=False).head(2)
    assert "start" not in rows  # rows from before rows recorded their start: the own start
    rows.to_csv(tmp_path / "components.csv", index=False)
    check_one_start(tmp_path, studies, "own")
    with pytest.raises(ValueError, match="start='own' design.*ablations-shared"):
        check_one_start(tmp_path, studies, "shared")
    rows.assign(start=["shared", ""]).to_csv(tmp_path / "components.csv", index=False)
    with pytest.raises(ValueError, match="start='own' design"):  # an empty cell is the own start
        check_one_start(tmp_path, studies, "shared")
    (tmp_path / "components.csv").write_bytes(b"")
    with pytest.raises(ValueError, match="components.csv: not a readable"):  # names the file
        check_one_start(tmp_path, studies, "shared")
    with pytest.raises(ValueError, match="start must be one of"):
        check_one_start(tmp_path, studies, "both")


def test_the_variant_filter_plans_only_those_variants(tmp_path: Path) -> None:
    study = STUDIES["components"]
    tasks = plan([study], [0, 1], "smoke", tmp_path, variants=["GSFM", "+LFM+HFM+boundary"])
    assert [(t.variant.label, t.seed) for t in tasks] == [
        ("+LFM+HFM+boundary", 0), ("GSFM", 0), ("+LFM+HFM+boundary", 1), ("GSFM", 1),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="no variant 'gsfm'; its variants"):
        plan([study], [0], "smoke", tmp_path, variants=["gsfm"])


def test_shared_rows_say_so_and_their_runs_are_new(tmp_path: Path) -> None:
    kw = dict(
        profile="smoke", device="cpu", progress=False, runs_dir=tmp_path / "runs",
        data_dir=tmp_path / "data", variants=["sigma=7"],
    )  # fmt: skip
    run_ablation(["sigma"], [0], results_dir=tmp_path / "own", **kw)
    run_ablation(["sigma"], [0], results_dir=tmp_path / "shared", start="shared", **kw)
    own = pd.read_csv(tmp_path / "own" / "sigma.csv")
    shared = pd.read_csv(tmp_path / "shared" / "sigma.csv")
    assert set(own["start"]) == {"own"} and set(shared["start"]) == {"shared"}
    assert set(own["run"]).isdisjoint(shared["run"])  # a shared run is never reused as own
    with pytest.raises(ValueError, match="another folder"):
        run_ablation(["sigma"], [1], results_dir=tmp_path / "own", start="shared", **kw)


def test_the_pilot_script_plans_both_designs_seed_by_seed(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PILOT_SEEDS": "0 1",
        "PILOT_RESULTS": str(tmp_path),
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", str(root / "scripts" / "design_pilot.sh"), "--profile", "smoke", "--dry-run",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    blocks = [b for b in done.stdout.split("task(s) to do") if "components" in b]
    assert len(blocks) == 4  # seed 0 own, seed 0 shared, seed 1 own, seed 1 shared
    seeds = [
        sorted({line.split()[-1] for line in b.splitlines() if "components" in line})
        for b in blocks
    ]
    assert seeds == [["0"], ["0"], ["1"], ["1"]]
    assert all(b.count("components") == 3 for b in blocks)  # GSFM, its twin and STCN
    assert not any(tmp_path.glob("ablations*/*.csv"))  # a dry run writes no rows


def test_the_pilot_script_takes_each_designs_folder(tmp_path: Path) -> None:
    """PILOT_OWN names design (a)'s folder outright: the committed seed-3 rows there leave
    nothing to do for design (a), while design (b)'s empty folder needs all three runs."""
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PILOT_SEEDS": "3",
        "PILOT_OWN": str(root / "results" / "ablations-render-1ab04f1f"),
        "PILOT_SHARED": str(tmp_path / "shared"),
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        ["bash", str(root / "scripts" / "design_pilot.sh"), "--dry-run"],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )  # fmt: skip
    assert "nothing to do: every cpu-profile row" in done.stdout
    assert done.stdout.count("components") == 3 and "3 task(s) to do" in done.stdout
    assert not (tmp_path / "shared").exists()


@pytest.mark.slow
def test_an_interrupted_shared_start_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    """A resumed run keeps the shared-start record it was saved with (config.json and the
    checkpoint's configuration), so it resumes instead of refusing, and ends where an
    uninterrupted run ends."""
    from gsfm.checkpoint import load_state

    kwargs = dict(
        iterations=4, checkpoint_every=1, log_every=1, epoch_samples=8, start="shared",
        progress=False, device="cpu",
    )  # fmt: skip
    ref = train("stcn", "smoke", ["synth"], tmp_path / "ref", **kwargs)
    part = train("stcn", "smoke", ["synth"], tmp_path / "split", stop_at=2, **kwargs)
    assert not part.finished
    done = train("stcn", "smoke", ["synth"], tmp_path / "split", resume=True, **kwargs)
    assert done.finished and done.iteration == 4
    a, b = load_state(ref.final)["model"], load_state(done.final)["model"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    split, whole = (
        json.loads((tmp_path / r / "config.json").read_text()) for r in ("split", "ref")
    )
    assert split["shared_start"] == whole["shared_start"]
    assert split["shared_start"]["copied_tensors"] > 0
    assert [r["iteration"] for r in split["resumes"]] == [2]
