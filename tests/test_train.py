"""The trainer with a tiny stand-in model: schedules, data position, run folder, accumulation,
non-finite losses (the real network is exercised in test_resume.py / test_ddp.py)."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from _toy import RandomClips, ToyLoss, ToyVOS

from gsfm.config import train_config
from gsfm.training import (
    LOG_COLUMNS,
    EpochPlan,
    NonFiniteLossError,
    Trainer,
    load_training_state,
    lr_at,
    max_skip_for_epoch,
)
from gsfm.training.data import BatchStream
from gsfm.training.schedule import skip_switch_epochs

# bit-exact resume / float tolerances: rerun under other CPU capabilities (make test-numerics)
# `numerics` (rerun under ATEN_CPU_CAPABILITY=default by `make test`) marks only the tests
# whose float comparisons a kernel's rounding can move; the others check shapes, logic and
# errors, which no capability changes.
pytestmark = pytest.mark.usefixtures("one_thread")


def toy_trainer(run_dir, nan_at=None, clips=8, **overrides) -> Trainer:
    cfg = train_config("smoke", **{"iterations": 6, "log_every": 2, **overrides})
    torch.manual_seed(0)
    return Trainer(ToyVOS(), ToyLoss(nan_at), RandomClips(clips), cfg, run_dir, progress=False)


# --- schedules -----------------------------------------------------------------------------


def test_lr_at_matches_multisteplr_stepped_every_iteration():
    cfg = train_config("smoke", lr=1e-3, lr_steps=(3, 5), lr_gamma=0.1, iterations=8)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.lr_steps), cfg.lr_gamma)
    seen = []
    for it in range(8):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        assert seen[-1] == pytest.approx(lr_at(it, cfg))
    assert seen == pytest.approx([1e-3] * 3 + [1e-4] * 2 + [1e-5] * 3)


def test_skip_switches_follow_the_authors_epoch_rounding():
    # docs/paper_vs_code.md §4: 518 epochs switch at 52, 104, 155, 207, 466.
    cfg = train_config("paper")
    assert skip_switch_epochs(518, cfg.skip_fractions) == [52, 104, 155, 207, 466]
    skips = [max_skip_for_epoch(e, 518, cfg) for e in (0, 51, 52, 104, 155, 207, 465, 466, 517)]
    assert skips == [5, 5, 10, 15, 20, 25, 25, 5, 5]


def test_epoch_plan_counts_micro_batches():
    cfg = train_config("smoke", iterations=10, grad_accum=3)
    plan = EpochPlan.for_run(7, cfg)
    assert plan.total_epochs == math.ceil(30 / 7)
    assert (plan.epoch_of(13), plan.offset_of(13)) == (1, 6)
    with pytest.raises(ValueError, match="no full batch"):
        EpochPlan.for_run(0, cfg)


def test_batch_stream_seek_reproduces_the_same_batches_and_curriculum():
    cfg = train_config("smoke", iterations=12, batch_size=2)
    clips = RandomClips(length=6)
    full = BatchStream(clips, cfg, seed=3)
    assert full.plan.batches_per_epoch == 3 and full.plan.total_epochs == 4
    batches = [next(full) for _ in range(12)]
    skips = []
    again = BatchStream(RandomClips(length=6), cfg, seed=3)
    for start in (0, 4, 7):  # a fresh stream positioned mid-epoch
        again.seek(start)
        for k in range(start, start + 3):
            b = next(again)
            assert torch.equal(b["rgb"], batches[k]["rgb"])
            assert torch.equal(b["cls_gt"], batches[k]["cls_gt"])
            skips.append((again.plan.epoch_of(k), again.max_skip))
    # epochs differ in content (new augmentation per epoch)
    assert not torch.equal(batches[0]["rgb"], batches[3]["rgb"])
    # 4 epochs: switches at round(4*f) = 0, 1, 1, 2, 4 -> epoch 0: 10, epoch 1: 20, epoch 2+: 25
    assert dict(skips) == {0: 10, 1: 20, 2: 25, 3: 25}
    assert clips.max_skip == 25


def test_batch_stream_leaves_global_rng_alone():
    cfg = train_config("smoke", batch_size=2)
    stream = BatchStream(RandomClips(length=4), cfg, seed=1)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    next(stream)
    assert torch.equal(torch.rand(3), expected)


# --- the run folder -----------------------------------------------------------------------


def test_run_folder_contents(tmp_path):
    run = tmp_path / "run"
    result = toy_trainer(run, iterations=6, checkpoint_every=4, lr_steps=(3,)).run()
    assert result.finished and result.iteration == 6
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["final.pt", "latest.pt"]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["iterations"] == 6
    prov = config["provenance"]
    for key in ("git_commit", "torch", "device", "seed", "world_size", "started"):
        assert key in prov
    assert prov["torch"] == torch.__version__ and prov["device"] == "cpu"
    with (run / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == LOG_COLUMNS
    assert [int(r["iteration"]) for r in rows] == [2, 4, 6]
    cfg = train_config("smoke", iterations=6, lr_steps=(3,))
    for r in rows:  # the logged lr is the one of the interval's last step
        assert float(r["lr"]) == pytest.approx(lr_at(int(r["iteration"]) - 1, cfg))
        assert math.isfinite(float(r["total"])) and 0 <= float(r["iou"]) <= 1
    assert float(rows[-1]["time_s"]) >= float(rows[0]["time_s"]) > 0
    state = load_training_state(run / "checkpoints" / "final.pt")  # weights_only=True inside
    assert state["iteration"] == 6 and state["trainer"]["consumed"] == 6
    assert no_temp_files(run)


def no_temp_files(folder) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_existing_run_needs_resume_and_resume_needs_a_checkpoint(tmp_path):
    run = tmp_path / "run"
    toy_trainer(run, iterations=2).run()
    with pytest.raises(FileExistsError, match="--resume"):
        toy_trainer(run, iterations=2).run()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        toy_trainer(tmp_path / "other", iterations=2).run(resume=True)


def test_resume_with_another_config_is_refused(tmp_path):
    run = tmp_path / "run"
    toy_trainer(run, iterations=4).run(stop_at=2)
    with pytest.raises(ValueError, match=r"train\.lr"):
        toy_trainer(run, iterations=4, lr=1.0).run(resume=True)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "latest.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_training_state(bad)


def test_cpu_ignores_amp_and_uses_a_disabled_scaler(tmp_path):
    trainer = toy_trainer(tmp_path / "run", amp=True)
    assert not trainer.use_amp and not trainer.scaler.is_enabled()


# --- non-finite loss ------------------------------------------------------------------------


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    trainer = toy_trainer(run, nan_at=4, iterations=8, checkpoint_every=2)
    with pytest.raises(NonFiniteLossError, match=r"iteration 5 of 8") as info:
        trainer.run()
    assert info.value.iteration == 5
    assert info.value.checkpoint == run / "checkpoints" / "latest.pt"
    assert "last good checkpoint" in str(info.value)
    state = load_training_state(run / "checkpoints" / "latest.pt")
    assert state["iteration"] == 4
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert not (run / "checkpoints" / "final.pt").exists()
    assert no_temp_files(run)


def test_non_finite_loss_before_any_checkpoint_says_so(tmp_path):
    with pytest.raises(NonFiniteLossError, match="no checkpoint had been written"):
        toy_trainer(tmp_path / "run", nan_at=0, iterations=4, checkpoint_every=2).run()


# --- gradient accumulation ------------------------------------------------------------------


@pytest.mark.numerics
def test_grad_accumulation_equals_the_full_batch(tmp_path):
    """accum 2 x batch 1 gives the gradient of batch 2 (the model has no batch-dependent layer)."""
    trainer = toy_trainer(tmp_path / "run")
    clips = RandomClips(length=2)
    torch.manual_seed(1)
    samples = [clips[0], clips[1]]
    collate = torch.utils.data.default_collate
    grads = []
    for micro in ([collate(samples)], [collate(samples[:1]), collate(samples[1:])]):
        trainer.optimizer.zero_grad(set_to_none=True)
        stats = trainer.accumulate(micro, iteration=0)
        assert stats[-1] == len(micro)  # micro-batches counted
        grads.append([p.grad.clone() for p in trainer.params])
    for full, acc in zip(*grads, strict=True):
        torch.testing.assert_close(acc, full, rtol=1e-5, atol=1e-7)
    assert any(g.abs().sum() > 0 for g in grads[0])


def test_grad_accum_run_consumes_accum_batches_per_step(tmp_path):
    trainer = toy_trainer(tmp_path / "run", iterations=3, grad_accum=2)
    trainer.run()
    assert trainer.stream.consumed == 6
    assert trainer.scheduler.last_epoch == 3


@pytest.mark.numerics
@pytest.mark.slow
def test_grad_accumulation_equals_the_full_batch_for_the_real_smoke_model(tmp_path):
    """Frozen BatchNorm and a per-sample loss make GSFM batch-independent, so accumulation is exact
    up to float rounding."""
    from gsfm.data.synthetic import SyntheticTrainSet
    from gsfm.losses import GSFMLoss
    from gsfm.model import build_model

    cfg = train_config("smoke", iterations=2)
    torch.manual_seed(0)
    model = build_model("gsfm", "smoke")
    data = SyntheticTrainSet(crop_size=cfg.crop_size, length=2, seed=1)
    trainer = Trainer(model, GSFMLoss(cfg), data, cfg, tmp_path / "run", progress=False)
    model.train()
    samples = [data[0], data[1]]
    collate = torch.utils.data.default_collate
    grads = []
    for micro in ([collate(samples)], [collate(samples[:1]), collate(samples[1:])]):
        trainer.optimizer.zero_grad(set_to_none=True)
        trainer.accumulate(micro, iteration=cfg.end_warm)  # bootstrapped CE at top-p
        grads.append([p.grad.clone() for p in trainer.params if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) > 0
    for full, acc in zip(*grads, strict=True):
        torch.testing.assert_close(acc, full, rtol=1e-4, atol=1e-6)


def test_non_finite_loss_is_found_at_the_next_log_row_and_named_by_its_iteration(tmp_path):
    """No sync per step: the NaN of step 2 is read at the row of step 4, which names step 2
    and writes nothing (no row, no checkpoint of the bad weights)."""
    run = tmp_path / "run"
    trainer = toy_trainer(run, nan_at=1, iterations=8, log_every=4, checkpoint_every=8)
    with pytest.raises(NonFiniteLossError, match=r"iteration 2 of 8") as info:
        trainer.run()
    assert info.value.iteration == 2 and trainer.iteration == 4
    assert not (run / "checkpoints" / "latest.pt").exists()
    assert not (run / "log.csv").exists() or len((run / "log.csv").read_text().splitlines()) <= 1


def test_a_training_step_reads_nothing_back_from_the_device(tmp_path):
    """Trainer.step queues its work without a host sync (``.item()``, ``bool(t)``): counted
    with a dispatch mode; the log row's read happens in ``_log`` only. (Adam reads its step
    counts, tensors that stay on the CPU in a GPU run too: not a device sync, not counted.)"""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Syncs(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            host = args and any(args[0] is s for s in steps)
            if (
                func.overloadpacket.__name__ in ("_local_scalar_dense", "nonzero", "equal")
                and not host
            ):
                self.seen.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    trainer = toy_trainer(tmp_path / "run", grad_accum=2)
    trainer.model.train()
    trainer.step(0)  # Adam's state is created outside the counted step
    steps = [state["step"] for state in trainer.optimizer.state.values()]
    assert steps
    mode = Syncs()
    with mode:
        sums = trainer.step(1)
    assert mode.seen == []
    assert float(sums[-1]) == 2 and bool(torch.isfinite(sums).all())


def test_ddp_broadcasts_buffers_only_when_batchnorm_trains():
    """Frozen BatchNorm (the authors' setting) never changes its buffers: DDP need not
    re-broadcast them every step; a model whose BatchNorm trains still needs it."""
    from gsfm.model import build_model
    from gsfm.training.loop import _has_trained_buffers

    frozen = build_model("stcn", "smoke").eval()  # smoke: freeze_bn=True
    assert frozen.config.freeze_bn and not _has_trained_buffers(frozen)
    assert not frozen.training  # the check leaves the mode as it was
    trained = build_model("stcn", "cpu")  # cpu profile: freeze_bn=False
    assert not trained.config.freeze_bn and _has_trained_buffers(trained)
