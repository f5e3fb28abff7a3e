"""DDP on the CPU: two gloo processes train a few smoke iterations and end with the same weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from gsfm.config import train_config
from gsfm.training import Trainer, init_distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _recording_synth(length: int, crop: int, seed: int):
    """The synthetic stream, remembering which indices this process loaded."""
    from gsfm.data.synthetic import SyntheticTrainSet

    class Recording(SyntheticTrainSet):
        def __getitem__(self, index: int):
            self.seen.append(index)
            return super().__getitem__(index)

    data = Recording(crop_size=crop, length=length, seed=seed)
    data.seen = []
    return data


def _worker(rank: int, world: int, port: int, run_dir: str, out_dir: str) -> None:
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
        from gsfm.losses import GSFMLoss
        from gsfm.model import build_model

        torch.manual_seed(100 + rank)  # different initial weights: DDP must broadcast rank 0's
        model = build_model("gsfm", "smoke")
        cfg = train_config("smoke", iterations=4, grad_accum=2, log_every=2, checkpoint_every=2)
        data = _recording_synth(16, cfg.crop_size, cfg.seed)
        loss = GSFMLoss(cfg)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        trainer = Trainer(model, loss, data, cfg, run_dir, dist=ctx, progress=False)
        trainer.run()
        seen = data.seen
        torch.save(
            {"final": model.state_dict(), "initial": initial, "indices": seen},
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        ctx.close()


@pytest.mark.slow
def test_two_cpu_processes_end_with_identical_parameters(tmp_path):
    run = tmp_path / "run"
    mp.spawn(_worker, args=(2, _free_port(), str(run), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    trained = 0
    for name, p0 in r0["final"].items():
        assert torch.equal(p0, r1["final"][name]), name
        trained += not torch.equal(p0, r0["initial"][name])
    assert trained > len(r0["final"]) // 2  # most tensors changed (BN statistics are frozen)
    assert any(not torch.equal(r0["initial"][k], r1["initial"][k]) for k in r0["initial"])
    # each rank drew its own shard: 4 steps x 2 micro-batches x 2 samples = 2 epochs of 8
    assert len(r0["indices"]) == len(r1["indices"]) == 16
    assert not set(r0["indices"][:8]) & set(r1["indices"][:8])
    assert set(r0["indices"][:8]) | set(r1["indices"][:8]) == set(range(16))
    # only rank 0 wrote, once
    config = json.loads((run / "config.json").read_text())
    assert config["provenance"]["world_size"] == 2
    lines = (run / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["iteration", "2", "4"]


@pytest.mark.slow
def test_torchrun_cli_smoke(tmp_path):
    """``torchrun --nproc_per_node 2 -m gsfm train`` (gloo on the CPU) completes a smoke run."""
    run = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        f"--master_port={_free_port()}", "-m", "gsfm", "train", "--profile", "smoke",
        "--model", "stcn", "--out", str(run), "--iterations", "2", "--no-progress",
        "--set", "epoch_samples=8", "--device", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((run / "config.json").read_text())
    assert config["provenance"]["world_size"] == 2 and config["model_name"] == "stcn"
    assert (run / "checkpoints" / "final.pt").is_file()
    assert proc.stdout.count("trained 2 iterations") == 1  # only rank 0 reports
