"""Exact resume: a run stopped after k iterations and resumed ends with the very same weights
(and log) as an uninterrupted run, on the CPU."""

from __future__ import annotations

import csv

import pytest
import torch
from _toy import RandomClips, ToyLoss, ToyVOS

from gsfm.config import train_config
from gsfm.training import Trainer

# bit-exact resume / float tolerances: rerun under other CPU capabilities (make test-numerics)
pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.numerics]


class _CrashAt(ToyLoss):
    """Simulates a kill: raises in the middle of 0-based iteration ``at``."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def __call__(self, out, batch, iteration):
        if iteration == self.at:
            raise KeyboardInterrupt
        return super().__call__(out, batch, iteration)


def _toy(run_dir, loss=None) -> Trainer:
    # 8 clips / batch 2 = 4 batches per epoch; 7 steps x accum 2 = 14 batches: 4 epochs, so the
    # resumes below land mid-epoch and cross epoch (and max-skip) boundaries.
    cfg = train_config(
        "smoke", iterations=7, grad_accum=2, log_every=1, checkpoint_every=2, lr_steps=(3,)
    )
    torch.manual_seed(0)
    return Trainer(ToyVOS(), loss or ToyLoss(), RandomClips(8), cfg, run_dir, progress=False)


def _log(run_dir) -> list[dict[str, str]]:
    with (run_dir / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        del r["time_s"], r["samples_per_s"]
    return rows


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name


def test_stop_and_resume_gives_identical_weights_and_log(tmp_path):
    ref = _toy(tmp_path / "ref")
    ref.run()
    first = _toy(tmp_path / "split")
    result = first.run(stop_at=3)  # stops with a checkpoint after 3 of 7 steps
    assert not result.finished and result.final is None and result.iteration == 3
    second = _toy(tmp_path / "split")  # a new process would start like this
    result = second.run(resume=True)
    assert result.finished and result.iteration == 7
    _assert_same_weights(second.model, ref.model)
    assert (
        second.optimizer.state_dict()["state"].keys() == ref.optimizer.state_dict()["state"].keys()
    )
    assert _log(tmp_path / "split") == _log(tmp_path / "ref")
    assert second.stream.consumed == ref.stream.consumed == 14


def test_crash_then_resume_from_the_last_periodic_checkpoint(tmp_path):
    ref = _toy(tmp_path / "ref")
    ref.run()
    with pytest.raises(KeyboardInterrupt):
        _toy(tmp_path / "split", loss=_CrashAt(5)).run()  # latest.pt holds iteration 4
    assert len(_log(tmp_path / "split")) == 5  # rows 1..5, row 5 after the checkpoint
    resumed = _toy(tmp_path / "split")
    resumed.run(resume=True)
    _assert_same_weights(resumed.model, ref.model)
    assert _log(tmp_path / "split") == _log(tmp_path / "ref")  # row 5 rewritten, not doubled


@pytest.mark.slow
def test_real_smoke_model_resumes_bit_for_bit(tmp_path):
    """The acceptance test: GSFM, smoke profile, synthetic stream, CPU; stop after 3 of 6."""
    from gsfm.checkpoint import load_state
    from gsfm.training.api import train

    kwargs = dict(iterations=6, checkpoint_every=2, log_every=1, epoch_samples=8, progress=False)
    ref = train("gsfm", "smoke", ["synth"], tmp_path / "ref", **kwargs)
    part = train("gsfm", "smoke", ["synth"], tmp_path / "split", stop_at=3, **kwargs)
    assert not part.finished
    done = train("gsfm", "smoke", ["synth"], tmp_path / "split", resume=True, **kwargs)
    assert done.finished and done.iteration == 6
    a = load_state(ref.final)["model"]
    b = load_state(done.final)["model"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert _log(tmp_path / "split") == _log(tmp_path / "ref")
    skips = {r["max_skip"] for r in _log(tmp_path / "ref")}
    assert len(skips) > 1  # the run crossed a max-skip switch (epoch boundary)
