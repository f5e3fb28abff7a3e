"""The training loop shared by every profile and stage (``docs/paper_vs_code.md`` §4).

One optimizer step ("iteration") draws ``grad_accum`` micro-batches of ``batch_size`` samples per
process, runs ``model.forward_train`` and the loss on each (under autocast on CUDA when the
config asks for AMP: bfloat16 where the GPU supports it, else float16 with a GradScaler),
back-propagates ``loss / grad_accum`` and then steps Adam and the per-iteration
``MultiStepLR``. With DDP the gradients are averaged over processes on the last
micro-batch only (``no_sync`` before), so the effective batch is
``batch_size x grad_accum x world_size``. The loss receives the iteration so that its
bootstrapped-CE warm-up follows the schedule.

No host sync per step: the loss statistics are summed on the device and read only when a log row
is written, so the CPU queues kernels ahead of the GPU. Finiteness is checked then too, and
before every checkpoint: with float16 AMP the GradScaler has already skipped the steps whose
gradients were not finite (their losses are left out of the row, and a warning says how many);
without a scaler (float32, bfloat16) a non-finite loss or gradient stops the run there with
:class:`NonFiniteLossError`, naming the first bad iteration, before anything is written, so the
last checkpoint stays the last good one. On CUDA the trainer turns on cuDNN's autotuner and
TF32 matmuls (:func:`gsfm.runtime.fast_cuda_kernels`) and uses the fused Adam, which takes
the GradScaler's verdict on the device.

Exact resume: a checkpoint holds the model, optimizer, scheduler and grad-scaler states, the
iteration, the data position (batches consumed), the wall time so far, and per process the RNG
states and the partial sums of the current logging interval. Restoring all of it continues the
run bit for bit (on the CPU; cuDNN/atomics can break this on GPUs).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from gsfm.checkpoint import save_checkpoint
from gsfm.config import TrainConfig, json_roundtrip
from gsfm.files import read_torch_file
from gsfm.runtime import fast_cuda_kernels, seed_everything
from gsfm.training.data import BatchStream, to_device
from gsfm.training.distributed import DistContext
from gsfm.training.run_folder import RunFolder, provenance
from gsfm.training.state import capture_rng, restore_rng

__all__ = ["amp_dtype", "NonFiniteLossError", "TrainResult", "Trainer", "load_training_state"]

LossFn = Callable[[Mapping[str, Any], Mapping[str, Any], int], Mapping[str, Any]]
_STATS: tuple[str, ...] = ("total", "ce", "boundary", "iou", "p")
CHECKPOINT_FORMAT = "gsfm-train-1"


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stopped and kept its last good checkpoint."""

    def __init__(self, message: str, iteration: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.checkpoint = checkpoint


@dataclass(frozen=True)
class TrainResult:
    """What a call to :meth:`Trainer.run` did."""

    run_dir: Path
    iteration: int  # optimizer steps completed so far
    finished: bool  # reached cfg.iterations
    latest: Path | None
    final: Path | None
    seconds: float  # wall time of the whole run, resumes included
    rank: int = 0  # of the process that returns it (only rank 0 should report)


class _ForwardTrain(nn.Module):
    """Routes ``forward`` to ``model.forward_train`` so that DDP sees the training pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Mapping[str, Any]) -> Any:
        return self.model.forward_train(batch)


def _jsonable(obj: Any) -> Any:
    return asdict(obj) if is_dataclass(obj) and not isinstance(obj, type) else obj


def _save_checkpoint(path: Path, model: nn.Module, state: dict[str, Any]) -> None:
    """Write a training checkpoint atomically, readable by :func:`gsfm.checkpoint.load_model`."""
    save_checkpoint(path, model, **state)


def load_training_state(path: str | Path) -> dict[str, Any]:
    """A training checkpoint's contents (``weights_only=True``), with a clear error if unusable."""
    path = Path(path)
    state = read_torch_file(path, expected="a gsfm training checkpoint")
    trainer = state.get("trainer") if isinstance(state, dict) else None
    if not isinstance(trainer, dict) or trainer.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a gsfm training checkpoint (no resumable trainer state)")
    return state


def _model_state(state: Mapping[str, Any]) -> Mapping[str, torch.Tensor]:
    for key in ("model", "state_dict", "model_state"):
        if key in state:
            return state[key]
    raise ValueError("checkpoint holds no model state dict")


class Trainer:
    """Trains ``model`` on ``dataset`` with ``loss_fn`` under ``cfg``, writing to ``run_dir``.

    ``model`` must have ``forward_train(batch) -> dict`` and a ``config`` (a
    :class:`~gsfm.config.ModelConfig`, saved in config.json and checkpoints); ``loss_fn(out, batch, iteration)``
    must return a dict with at least ``"total"`` (also logged when present: ``ce``, ``boundary``,
    ``iou``, ``p``). ``describe`` adds entries (model/data description) to config.json; those
    entries must match when resuming.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        dataset: Dataset,
        cfg: TrainConfig,
        run_dir: str | Path,
        *,
        dist: DistContext | None = None,
        describe: Mapping[str, Any] | None = None,
        curriculum: bool | None = None,
        progress: bool = True,
        find_unused_parameters: bool = False,
    ) -> None:
        self.ctx = dist or DistContext()
        self.device = self.ctx.device
        self.cfg = cfg
        self.model = model.to(self.device)
        self.loss_fn = loss_fn
        self.folder = RunFolder(run_dir)
        self.describe = dict(describe or {})
        self.progress = progress
        self.use_amp = bool(cfg.amp and self.device.type == "cuda")
        self.amp_dtype = amp_dtype(self.device)
        fast_cuda_kernels(self.device)
        self.stream = BatchStream(
            dataset,
            cfg,
            seed=cfg.seed,
            rank=self.ctx.rank,
            world_size=self.ctx.world_size,
            curriculum=(cfg.stage == "main") if curriculum is None else curriculum,
            pin_memory=self.device.type == "cuda",
        )
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no parameter that requires grad")
        self.params = params
        self.optimizer = torch.optim.Adam(
            params,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            # CUDA: one fused kernel that also takes the GradScaler's verdict on the device;
            # elsewhere the multi-tensor form (a few kernels for all parameters, not a sequence
            # per parameter; the same update up to float rounding)
            fused=True if self.device.type == "cuda" else None,
            foreach=None if self.device.type == "cuda" else True,
        )
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(cfg.lr_steps), gamma=cfg.lr_gamma
        )
        self.scaler = torch.amp.GradScaler(
            "cuda", enabled=self.use_amp and self.amp_dtype == torch.float16
        )
        wrapped = _ForwardTrain(self.model)
        if self.ctx.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward: nn.Module = DistributedDataParallel(
                wrapped,
                device_ids=ids,
                find_unused_parameters=find_unused_parameters,
                broadcast_buffers=_has_trained_buffers(self.model),
            )
        else:
            self.forward = wrapped
        self.iteration = 0
        self.elapsed = 0.0
        # sums + count of the logging interval, on the device (read at log time only)
        self._pending = torch.zeros(len(_STATS) + 1, dtype=torch.float64, device=self.device)
        # non-finite micro-batches since the last check, and the first bad iteration (1-based)
        self._bad = torch.zeros(2, dtype=torch.float64, device=self.device)
        self._interval_start: tuple[float, int] = (0.0, 0)  # (time_s, consumed)

    # --- configuration and checkpoints ---------------------------------------------------

    def resolved_config(self) -> dict[str, Any]:
        """The config.json content without provenance (must match on resume)."""
        out = {"train": _jsonable(self.cfg), **self.describe}
        out.setdefault("model", _jsonable(self.model.config))
        return json_roundtrip(out)

    def _state(self) -> dict[str, Any]:
        """Everything needed to continue the run exactly (collective: call on every rank)."""
        per_rank = self.ctx.gather_objects(
            {"rng": capture_rng(self.device), "pending": self._pending.cpu()}
        )
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "iteration": self.iteration,
            "trainer": {
                "format": CHECKPOINT_FORMAT,
                "consumed": self.stream.consumed,
                "elapsed": self.elapsed,
                "world_size": self.ctx.world_size,
                "ranks": per_rank,
                "interval_start": list(self._interval_start),
                "config": self.resolved_config(),
            },
        }

    def _save(self, *paths: Path) -> None:
        self.check_finite()  # never write a checkpoint of weights trained on a bad step
        state = self._state()
        if self.ctx.is_main:
            for path in paths:
                _save_checkpoint(path, self.model, state)
        self.ctx.barrier()

    def _restore(self, path: Path) -> None:
        state = load_training_state(path)
        saved_cfg = state["trainer"].get("config")
        if saved_cfg is not None and saved_cfg != self.resolved_config():
            diff = _diff_keys(saved_cfg, self.resolved_config())
            raise ValueError(
                f"cannot resume {self.folder.path}: the configuration differs from the saved "
                f"run in {diff}"
            )
        self.model.load_state_dict(_model_state(state))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        trainer = state["trainer"]
        self.iteration = int(state["iteration"])
        self.elapsed = float(trainer["elapsed"])
        self.stream.seek(int(trainer["consumed"]))
        self._interval_start = (
            float(trainer["interval_start"][0]),
            int(trainer["interval_start"][1]),
        )
        ranks = trainer["ranks"]
        if trainer["world_size"] == self.ctx.world_size:
            mine = ranks[self.ctx.rank]
            restore_rng(mine["rng"], self.device)
            self._pending = mine["pending"].to(self.device, torch.float64)
        else:
            print(
                f"warning: resuming a run of {trainer['world_size']} process(es) with "
                f"{self.ctx.world_size}: the data shards and random streams differ from the "
                "original run",
                file=sys.stderr,
            )
            seed_everything(self.cfg.seed + 1000 * self.iteration + self.ctx.rank)

    # --- one optimizer step --------------------------------------------------------------

    def accumulate(self, micro_batches: list[Any], iteration: int) -> torch.Tensor:
        """Forward + backward over the micro-batches of one step; returns their summed stats
        (on the device; non-finite micro-batches are counted in ``_bad``, not in the sums).

        Each micro-batch's loss is divided by the number of micro-batches, so the accumulated
        gradient is that of the mean loss over the step's samples. Nothing is read back from
        the device: a bad loss is found by :meth:`check_finite`.
        """
        n = len(micro_batches)
        sums = torch.zeros(len(_STATS) + 1, dtype=torch.float64, device=self.device)
        for i, batch in enumerate(micro_batches):
            batch = to_device(batch, self.device)
            last = i == n - 1
            sync = (
                contextlib.nullcontext() if last or not self.ctx.enabled else self.forward.no_sync()  # type: ignore[operator]
            )
            with sync:
                with torch.autocast(
                    device_type=self.device.type, dtype=self.amp_dtype, enabled=self.use_amp
                ):
                    out = self.forward(batch)
                    losses = self.loss_fn(out, batch, iteration)
                stats = _stat_vector(losses, self.device)
                self.scaler.scale(losses["total"] / n).backward()
            finite = torch.isfinite(stats[0])
            sums += torch.where(finite, stats, 0.0)
            self._flag(~finite, iteration)
        return sums

    def step(self, iteration: int) -> torch.Tensor:
        """One optimizer step (draws its micro-batches from the stream); its summed stats."""
        self.optimizer.zero_grad(set_to_none=True)
        sums = self.accumulate(self.stream.take(self.cfg.grad_accum), iteration)
        if not self.scaler.is_enabled():  # the GradScaler checks its own gradients
            grads = [p.grad for p in self.params if p.grad is not None]
            if grads:
                self._flag(~torch.isfinite(torch.nn.utils.get_total_norm(grads)), iteration)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return sums

    def _flag(self, bad: torch.Tensor, iteration: int) -> None:
        """Count a non-finite value (a 0-d bool tensor) on the device; remember where it was."""
        first = bad & (self._bad[0] == 0)  # the first bad one since the last check
        self._bad = self._bad + torch.stack([bad, first * (iteration + 1)])

    def check_finite(self) -> None:
        """Read the non-finite count (one sync; at log time and before a checkpoint).

        Without a GradScaler any non-finite loss or gradient stops the run
        (:class:`NonFiniteLossError`). With one, its skipped steps are only reported, unless
        every micro-batch since the last row was bad: then training makes no progress and stops.
        """
        bad = self.ctx.mean(self._bad.clone()) * self.ctx.world_size
        count, first = float(bad[0]), float(self._bad[1])
        if count == 0:
            return
        if self.scaler.is_enabled() and float(self.ctx.mean(self._pending)[-1]) > 0:
            if self.ctx.is_main:
                print(
                    f"warning: {count:g} micro-batch(es) with a non-finite loss or gradient "
                    f"up to iteration {self.iteration}: the GradScaler skipped those steps",
                    file=sys.stderr,
                )
            self._bad.zero_()
            return
        self._nonfinite(int(first) if first > 0 else self.iteration)

    def _nonfinite(self, iteration: int) -> None:
        latest = self.folder.latest if self.folder.latest.exists() else None
        if latest is not None:
            kept = f"the last good checkpoint is kept: {latest}"
        else:
            kept = "no checkpoint had been written yet"
        msg = (
            f"non-finite loss or gradient at iteration {iteration} of {self.cfg.iterations}; "
            f"training stopped, {kept}. Try a lower learning rate, AMP off (--no-amp), or "
            "resume from the checkpoint with another seed."
        )
        raise NonFiniteLossError(msg, iteration, latest)

    # --- the run ---------------------------------------------------------------------------

    def run(self, *, resume: bool = False, stop_at: int | None = None) -> TrainResult:
        """Train to ``cfg.iterations`` (or stop, with a checkpoint, after ``stop_at`` steps).

        ``resume`` continues from ``run_dir/checkpoints/latest.pt`` exactly where it stopped;
        without it the run folder must be new or empty (:meth:`RunFolder.check_new`).
        """
        cfg, folder = self.cfg, self.folder
        if resume:
            if not folder.latest.exists():
                raise FileNotFoundError(
                    f"cannot resume: no checkpoint {folder.latest} (start without --resume)"
                )
            self._restore(folder.latest)
            if self.iteration >= cfg.iterations and folder.final.exists():
                return TrainResult(  # already complete: nothing to do, nothing rewritten
                    folder.path, self.iteration, True, folder.latest, folder.final,
                    self.elapsed, self.ctx.rank,
                )  # fmt: skip
            if self.ctx.is_main:
                folder.truncate_log(self.iteration)
                config = folder.read_config()
                config.setdefault("resumes", []).append(
                    {
                        "iteration": self.iteration,
                        **provenance(self.device, cfg.seed, self.ctx.world_size),
                    }
                )
                folder.write_config(config)
        else:
            folder.check_new()  # no earlier run, nothing unrelated
            self.ctx.barrier()  # every rank checked before rank 0 writes
            if self.ctx.is_main:
                config = {
                    **self.resolved_config(),
                    "provenance": provenance(self.device, cfg.seed, self.ctx.world_size),
                }
                folder.write_config(config)
            seed_everything(cfg.seed + self.ctx.rank)
        self.ctx.barrier()

        self.model.train()
        target = cfg.iterations if stop_at is None else min(stop_at, cfg.iterations)
        bar = self._progress_bar()
        t0 = time.perf_counter() - self.elapsed
        try:
            while self.iteration < target:
                lr = self.optimizer.param_groups[0]["lr"]
                self._pending += self.step(self.iteration)
                self.iteration += 1
                self.elapsed = time.perf_counter() - t0
                if bar is not None:
                    bar.update(1)
                if self.iteration % cfg.log_every == 0 or self.iteration == cfg.iterations:
                    self._log(lr, bar)
                if self.iteration % cfg.checkpoint_every == 0 and self.iteration < target:
                    self._save(folder.latest)
        finally:
            if bar is not None:
                bar.close()
            self.stream.close()  # persistent loader workers end with the run
        finished = self.iteration >= cfg.iterations
        if finished:
            self._save(folder.final, folder.latest)
        else:
            self._save(folder.latest)
        return TrainResult(
            run_dir=folder.path,
            iteration=self.iteration,
            finished=finished,
            latest=folder.latest,
            final=folder.final if finished else None,
            seconds=self.elapsed,
            rank=self.ctx.rank,
        )

    def _progress_bar(self) -> Any:
        if not (self.progress and self.ctx.is_main):
            return None
        return tqdm(
            total=self.cfg.iterations,
            initial=self.iteration,
            desc=f"train {self.folder.path.name}",
            unit="it",
            dynamic_ncols=True,
        )

    def _log(self, lr: float, bar: Any) -> None:
        """Average the interval's stats over micro-batches and processes; rank 0 writes a row."""
        self.check_finite()
        mean = self.ctx.mean(self._pending).cpu()  # the one read of the interval's stats
        count = max(float(mean[-1]), 1e-12)
        stats = {name: float(mean[i]) / count for i, name in enumerate(_STATS)}
        t_prev, consumed_prev = self._interval_start
        dt = max(self.elapsed - t_prev, 1e-9)
        samples = (self.stream.consumed - consumed_prev) * self.cfg.batch_size * self.ctx.world_size
        row = {
            "iteration": self.iteration,
            "epoch": self.stream.plan.epoch_of(max(self.stream.consumed - 1, 0)),
            **stats,
            "lr": lr,
            "max_skip": self.stream.max_skip if self.stream.max_skip is not None else "",
            "time_s": round(self.elapsed, 3),
            "samples_per_s": round(samples / dt, 3),
        }
        self._pending.zero_()
        self._interval_start = (self.elapsed, self.stream.consumed)
        if self.ctx.is_main:
            self.folder.append_log([row])
            if bar is not None:
                bar.set_postfix(
                    loss=f"{stats['total']:.4f}", iou=f"{stats['iou']:.3f}", refresh=False
                )


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float)) or (isinstance(v, torch.Tensor) and v.numel() == 1)


def _stat_vector(losses: Mapping[str, Any], device: torch.device) -> torch.Tensor:
    """[total, ce, boundary, iou, p, 1] of one micro-batch, float64 on ``device`` (missing
    entries: NaN); built without reading anything back from the device."""
    values: list[torch.Tensor] = []
    with torch.no_grad():  # statistics only: no graph, no detach per entry
        for k in _STATS:
            v = losses.get(k)
            if v is None or not _is_scalar(v):
                v = math.nan
            if isinstance(v, torch.Tensor):
                values.append((v if v.dim() == 0 else v.reshape(())).to(device))
            else:
                values.append(torch.tensor(float(v), dtype=torch.float64, device=device))
        values.append(torch.ones((), dtype=torch.float64, device=device))
        # one stack (promoting to a common dtype, exactly) and one cast, not one per entry
        return torch.stack(values).to(torch.float64)


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast type on ``device``: bfloat16 where the GPU supports it (no GradScaler
    needed), else float16."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def _has_trained_buffers(model: nn.Module) -> bool:
    """Whether training changes a buffer (a BatchNorm in train mode): only then must DDP
    broadcast the buffers from rank 0 at every step; frozen BatchNorm does not need it."""
    was_training = model.training
    model.train()
    trained = any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats
        for m in model.modules()
    )
    model.train(was_training)
    return trained


def _diff_keys(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(a) | set(b))
    out: list[str] = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            out += _diff_keys(va, vb, f"{prefix}{k}.")
        elif va != vb:
            out.append(f"{prefix}{k} (saved {va!r}, now {vb!r})")
    return out
