"""The training loop shared by every profile and stage (``docs/paper_vs_code.md`` §4).

One optimizer step ("iteration") draws ``grad_accum`` micro-batches of ``batch_size`` samples per
process, runs ``model.forward_train`` and the loss on each (under fp16 autocast on CUDA when the
config asks for AMP), back-propagates ``loss / grad_accum`` and then steps Adam and the
per-iteration ``MultiStepLR``. With DDP the gradients are averaged over processes on the last
micro-batch only (``no_sync`` before), so the effective batch is
``batch_size x grad_accum x world_size``. The loss receives the iteration so that its
bootstrapped-CE warm-up follows the schedule.

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

from gsfm.checkpoint import save_checkpoint
from gsfm.config import TrainConfig
from gsfm.files import read_torch_file
from gsfm.runtime import seed_everything
from gsfm.training.data import BatchStream, to_device
from gsfm.training.distributed import DistContext
from gsfm.training.run_folder import RunFolder, provenance
from gsfm.training.state import capture_rng, restore_rng

__all__ = ["NonFiniteLossError", "TrainResult", "Trainer", "load_training_state"]

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
        self.optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(cfg.lr_steps), gamma=cfg.lr_gamma
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        wrapped = _ForwardTrain(self.model)
        if self.ctx.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forward: nn.Module = DistributedDataParallel(
                wrapped, device_ids=ids, find_unused_parameters=find_unused_parameters
            )
        else:
            self.forward = wrapped
        self.iteration = 0
        self.elapsed = 0.0
        self._pending = torch.zeros(len(_STATS) + 1, dtype=torch.float64)  # sums + count
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
            {"rng": capture_rng(self.device), "pending": self._pending.clone()}
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
            self._pending = mine["pending"].clone()
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
        """Forward + backward over the micro-batches of one step; returns their summed stats.

        Each micro-batch's loss is divided by the number of micro-batches, so the accumulated
        gradient is that of the mean loss over the step's samples. Raises
        :class:`NonFiniteLossError` (on every process) before any backward of a bad loss.
        """
        n = len(micro_batches)
        sums = torch.zeros(len(_STATS) + 1, dtype=torch.float64)
        for i, batch in enumerate(micro_batches):
            batch = to_device(batch, self.device)
            last = i == n - 1
            sync = (
                contextlib.nullcontext() if last or not self.ctx.enabled else self.forward.no_sync()  # type: ignore[operator]
            )
            with sync:
                with torch.autocast(
                    device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp
                ):
                    out = self.forward(batch)
                    losses = self.loss_fn(out, batch, iteration)
                stats = _stat_vector(losses)  # one device->host copy per micro-batch
                finite = math.isfinite(float(stats[0]))
                if self.ctx.any_true(not finite):
                    self._nonfinite(iteration, losses)
                self.scaler.scale(losses["total"] / n).backward()
            sums += stats
        return sums

    def step(self, iteration: int) -> torch.Tensor:
        """One optimizer step (draws its micro-batches from the stream)."""
        self.optimizer.zero_grad(set_to_none=True)
        sums = self.accumulate(self.stream.take(self.cfg.grad_accum), iteration)
        if not self.use_amp:
            grads = [p.grad for p in self.params if p.grad is not None]
            if grads and not torch.isfinite(torch.nn.utils.get_total_norm(grads)).item():
                self._nonfinite(iteration, {"gradient norm": float("nan")})
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        return sums

    def _nonfinite(self, iteration: int, losses: Mapping[str, Any]) -> None:
        values = ", ".join(f"{k}={_as_float(v):.4g}" for k, v in losses.items() if _is_scalar(v))
        latest = self.folder.latest if self.folder.latest.exists() else None
        if latest is not None:
            kept = f"the last good checkpoint is kept: {latest}"
        else:
            kept = "no checkpoint had been written yet"
        msg = (
            f"non-finite loss at iteration {iteration + 1} of {self.cfg.iterations} "
            f"({values}); training stopped, {kept}. Try a lower learning rate, AMP off "
            "(--no-amp), or resume from the checkpoint with another seed."
        )
        raise NonFiniteLossError(msg, iteration + 1, latest)

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
        from tqdm.auto import tqdm

        return tqdm(
            total=self.cfg.iterations,
            initial=self.iteration,
            desc=f"train {self.folder.path.name}",
            unit="it",
            dynamic_ncols=True,
        )

    def _log(self, lr: float, bar: Any) -> None:
        """Average the interval's stats over micro-batches and processes; rank 0 writes a row."""
        mean = self.ctx.mean(self._pending)
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


def _as_float(v: Any) -> float:
    return float(v.detach().float().item()) if isinstance(v, torch.Tensor) else float(v)


def _stat_vector(losses: Mapping[str, Any]) -> torch.Tensor:
    """[total, ce, boundary, iou, p, 1] of one micro-batch on the CPU (missing entries: NaN)."""
    values: list[torch.Tensor] = []
    device = losses["total"].device
    for k in _STATS:
        v = losses.get(k)
        if v is None or not _is_scalar(v):
            values.append(torch.tensor(math.nan, dtype=torch.float64, device=device))
        else:
            values.append(torch.as_tensor(v, device=device).detach().reshape(()).double())
    values.append(torch.ones((), dtype=torch.float64, device=device))
    return torch.stack(values).cpu()


def json_roundtrip(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists), for comparing configurations."""
    import json

    return json.loads(json.dumps(obj, default=str))


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
