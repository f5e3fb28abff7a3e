"""DDP on the CPU: two gloo processes train a few smoke iterations and end with the same weights."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from gsfm.config import train_config
from gsfm.training import Trainer, init_distributed
from gsfm.training.toy import RandomClips, ToyLoss, ToyVOS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _RecordingClips(RandomClips):
    """RandomClips that remembers which indices this process loaded."""

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.seen: list[int] = []

    def __getitem__(self, index: int):
        self.seen.append(index)
        return super().__getitem__(index)


def _toy_worker(rank: int, world: int, port: int, run_dir: str, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    ctx = init_distributed("cpu")
    try:
        torch.manual_seed(100 + rank)  # different initial weights: DDP must broadcast rank 0's
        model = ToyVOS()
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        cfg = train_config("smoke", iterations=4, grad_accum=2, log_every=2, checkpoint_every=2)
        clips = _RecordingClips(16)
        trainer = Trainer(model, ToyLoss(), clips, cfg, run_dir, dist=ctx, progress=False)
        trainer.run()
        torch.save(
            {"final": model.state_dict(), "initial": initial, "indices": clips.seen},
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        ctx.close()


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_parameters(tmp_path):
    run = tmp_path / "run"
    mp.spawn(_toy_worker, args=(2, _free_port(), str(run), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name, p0 in r0["final"].items():
        assert torch.equal(p0, r1["final"][name]), name
        assert not torch.equal(p0, r0["initial"][name]), f"{name} did not train"
    assert any(not torch.equal(r0["initial"][k], r1["initial"][k]) for k in r0["initial"])
    # each rank drew its own shard: 4 steps x 2 micro-batches x 2 samples, no overlap per epoch
    assert len(r0["indices"]) == len(r1["indices"]) == 16
    assert not set(r0["indices"][:8]) & set(r1["indices"][:8])
    # only rank 0 wrote, once
    config = json.loads((run / "config.json").read_text())
    assert config["provenance"]["world_size"] == 2
    lines = (run / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["iteration", "2", "4"]
