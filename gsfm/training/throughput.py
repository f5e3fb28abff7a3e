"""How fast the two halves of training run, each alone: is the loader or the step the limit?

* :func:`loader_rate`: samples per second that a :class:`~gsfm.training.data.BatchStream`
  (the trainer's own loader: seeded samples, workers, collation) delivers from a dataset with
  N workers, timed after a warm-up, with nothing consuming the batches.
* :func:`step_rate`: samples per second of the training step alone (forward, loss, backward,
  optimizer step, AMP as the trainer does it) of a profile's model and loss on a device, on
  one fixed batch repeated, timed after a warm-up with CUDA synchronised.

Training keeps the GPU busy when the loader rate is comfortably above the step rate (e.g. 1.2x;
:func:`compare` says so). Both return plain dicts (JSON-ready) for benchmark scripts.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import torch
from torch.utils.data import Dataset

from gsfm.config import TrainConfig, train_config
from gsfm.losses import GSFMLoss
from gsfm.model import build_model
from gsfm.runtime import fast_cuda_kernels
from gsfm.training.data import BatchStream, to_device
from gsfm.training.loop import amp_dtype

__all__ = ["compare", "fixed_batch", "loader_rate", "step_rate"]


class _Cycle(Dataset):
    """``dataset`` repeated to ``length`` items (a small data set still fills a batch)."""

    def __init__(self, dataset: Dataset, length: int) -> None:
        self.dataset, self.length = dataset, int(length)
        self.n = len(dataset)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index % self.n]


def loader_rate(
    dataset: Dataset,
    cfg: TrainConfig,
    *,
    workers: int | None = None,
    batches: int = 20,
    warmup: int = 2,
    pin_memory: bool = False,
) -> dict[str, Any]:
    """Samples per second of a :class:`BatchStream` over ``dataset`` (``cfg``'s batch size,
    ``workers`` or ``cfg.num_workers`` worker processes), over ``batches`` batches after
    ``warmup`` batches (worker start-up and first fetches are not counted). A data set smaller
    than a batch is cycled. ``samples_per_s_per_worker`` divides by the workers (by 1 without:
    then the main process loads)."""
    if batches < 1 or warmup < 0:
        raise ValueError(f"batches must be >= 1 and warmup >= 0, got {batches} and {warmup}")
    n_workers = cfg.num_workers if workers is None else int(workers)
    if n_workers < 0:
        raise ValueError(f"workers must be >= 0, got {n_workers}")
    run_cfg = replace(cfg, num_workers=n_workers, iterations=max(cfg.iterations, batches + warmup))
    if len(dataset) < cfg.batch_size:  # type: ignore[arg-type]
        dataset = _Cycle(dataset, cfg.batch_size * (batches + warmup))
    stream = BatchStream(dataset, run_cfg, seed=cfg.seed, curriculum=False, pin_memory=pin_memory)
    try:
        start = time.perf_counter()
        for _ in range(warmup):
            next(stream)
        warm, cpu = time.perf_counter(), time.process_time()
        for _ in range(batches):
            next(stream)
        seconds = time.perf_counter() - warm
        cpu_seconds = time.process_time() - cpu
    finally:
        stream.close()
    samples = batches * cfg.batch_size
    rate = samples / seconds
    return {
        "workers": n_workers,
        "batch_size": cfg.batch_size,
        "crop_size": cfg.crop_size,
        "batches": batches,
        "warmup_batches": warmup,
        "warmup_s": round(warm - start, 3),
        "seconds": round(seconds, 3),
        "samples_per_s": round(rate, 2),
        "samples_per_s_per_worker": round(rate / max(n_workers, 1), 2),
        # without workers, this process did all the work: samples per CPU second is what one
        # worker delivers on a core of its own, however busy the machine is
        "samples_per_cpu_s": round(samples / cpu_seconds, 2) if n_workers == 0 else None,
    }


def fixed_batch(cfg: TrainConfig, seed: int = 0) -> dict[str, Any]:
    """A batch of ``cfg``'s shape (batch size, frames, crop) in the sample format of
    :func:`gsfm.data.triplets.make_sample`: noise frames, a square target moving across the
    frames and a second object in half the samples. Its content does not matter for speed."""
    gen = torch.Generator().manual_seed(seed)
    b, t, s = cfg.batch_size, cfg.num_frames, cfg.crop_size
    gt = torch.zeros(b, t, 1, s, s)
    sec = torch.zeros(b, t, 1, s, s)
    side = max(s // 4, 1)
    for i in range(b):
        y, x = (int(v) for v in torch.randint(0, s - side + 1, (2,), generator=gen))
        for f in range(t):
            dx = min(x + f, s - side)
            gt[i, f, 0, y : y + side, dx : dx + side] = 1
            if i % 2:
                sec[i, f, 0, :side, -side:] = 1 - gt[i, f, 0, :side, -side:]
    cls = (gt[:, :, 0] + 2 * sec[:, :, 0]).long()
    selector = torch.tensor([[1.0, float(i % 2)] for i in range(b)])
    rgb = torch.randn(b, t, 3, s, s, generator=gen) * 0.5 + gt - sec
    return {"rgb": rgb, "gt": gt, "sec_gt": sec, "cls_gt": cls, "selector": selector}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_rate(
    model: str = "gsfm",
    profile: str = "smoke",
    *,
    device: str | torch.device = "cpu",
    steps: int = 5,
    warmup: int = 2,
    amp: bool | None = None,
    **train_overrides: Any,
) -> dict[str, Any]:
    """Samples per second of ``profile``'s training step for ``model`` on ``device``.

    The model (random weights: speed does not depend on them) and :class:`gsfm.losses.GSFMLoss`
    of the profile, Adam (fused on CUDA), and AMP on CUDA when ``amp`` (default: the
    profile's ``amp``) is on (bfloat16 where supported, else float16 with a GradScaler), with
    cuDNN's autotuner and TF32, and no host sync inside the timed steps, as in
    :class:`~gsfm.training.Trainer`; one :func:`fixed_batch`
    moved to the device once and reused, ``warmup`` steps untimed, then ``steps`` timed with
    CUDA synchronised before and after. ``peak_memory_mb`` (CUDA only, else None) is the peak
    allocated during the timed steps: the warm-up, where cuDNN's autotuner tries algorithms
    with large workspaces, is not counted. ``train_overrides`` change the profile's
    :class:`~gsfm.config.TrainConfig` (``batch_size=...``, ``crop_size=...``).
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f"steps must be >= 1 and warmup >= 0, got {steps} and {warmup}")
    dev = torch.device(device)
    cfg = train_config(profile, **train_overrides)
    use_amp = bool((cfg.amp if amp is None else amp) and dev.type == "cuda")
    torch.manual_seed(cfg.seed)
    net = build_model(model, profile).to(dev)
    net.train()
    loss_fn = GSFMLoss(cfg)
    params = [p for p in net.parameters() if p.requires_grad]
    cuda = dev.type == "cuda"
    fast_cuda_kernels(dev)
    optimizer = torch.optim.Adam(
        params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True if cuda else None,
        foreach=None if cuda else True,
    )  # fmt: skip
    dtype = amp_dtype(dev)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)
    batch = to_device(fixed_batch(cfg), dev)
    losses: list[torch.Tensor] = []

    def one_step(iteration: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=dtype, enabled=use_amp):
            out = net.forward_train(batch)
            total = loss_fn(out, batch, iteration)["total"]
        losses.append(total.detach())  # read after the timing, as the trainer reads at log time
        scaler.scale(total).backward()
        scaler.step(optimizer)
        scaler.update()

    for i in range(warmup):
        one_step(i)
    _sync(dev)
    if dev.type == "cuda":  # the warm-up's autotuning workspaces are not part of the peak
        torch.cuda.reset_peak_memory_stats(dev)
    start = time.perf_counter()
    for i in range(steps):
        one_step(warmup + i)
    _sync(dev)
    seconds = time.perf_counter() - start
    per_step = seconds / steps
    peak = torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else None
    return {
        "model": model,
        "profile": profile,
        "device": str(dev),
        "batch_size": cfg.batch_size,
        "crop_size": cfg.crop_size,
        "amp": use_amp,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "warmup_steps": warmup,
        "seconds_per_step": round(per_step, 4),
        "samples_per_s": round(cfg.batch_size / per_step, 2),
        "amp_dtype": str(dtype).removeprefix("torch.") if use_amp else None,
        "losses_finite": all(math.isfinite(float(v)) for v in losses),
        "peak_memory_mb": None if peak is None else round(peak, 1),
    }


def compare(loader: dict[str, Any], step: dict[str, Any], margin: float = 1.2) -> dict[str, Any]:
    """Loader rate vs step rate (results of :func:`loader_rate` and :func:`step_rate`): their
    ratio and whether the loader keeps ahead of the step by ``margin``."""
    ratio = loader["samples_per_s"] / step["samples_per_s"]
    return {
        "loader_samples_per_s": loader["samples_per_s"],
        "step_samples_per_s": step["samples_per_s"],
        "loader_over_step": round(ratio, 3),
        "margin": margin,
        "loader_keeps_up": ratio >= margin,
    }
