"""The training step on the CPU: operators, host syncs and seconds per iteration.

One optimizer step of :class:`gsfm.training.Trainer` (forward, loss, backward, Adam, the
trainer's own bookkeeping) on one fixed batch (:func:`gsfm.training.throughput.fixed_batch`),
for GSFM and STCN, at two shapes:

* ``gpu``: the ``gpu`` profile's network and batch (paper model, batch 8, 160² crops), run on
  the CPU in float32 (AMP is a CUDA feature here): operators and syncs per iteration, which
  are what bound a GPU step when its kernels are small; seconds only with ``--gpu-steps``.
* ``cpu``: the ``cpu`` profile (batch 4, 128²): seconds per iteration, the median over
  ``--steps`` timed steps after one warm-up, with ``--threads`` threads.

Operators are every ATen call a :class:`~torch.utils._python_dispatch.TorchDispatchMode` sees
during one step, counted after a warm-up step: ``operators_fwd_bwd`` (forward, loss, backward,
the trainer's bookkeeping) and ``operators_optimizer`` (Adam's step: on the CPU one sequence of
small kernels per parameter, on CUDA the trainer's fused Adam), ``operators`` their sum. Host syncs
are the calls that make the CPU wait for a GPU: ``aten._local_scalar_dense`` (``.item()``,
``float(t)``, ``bool(t)``) and the ops whose output size depends on the data or that compare
whole tensors (``nonzero``, ``masked_select``, ``unique``, ``equal``, ``repeat_interleave``
without a size, indexing with a boolean mask). A copy to the CPU also syncs on a GPU but is a
no-op on the CPU and so is not seen here; the trainer's only such copy is at log time.

The step runs at an iteration inside the bootstrapped-CE warm-up (the top-k path, as in most
of a run). Rows are written to ``--csv`` under ``--label`` (rows of other labels are kept),
so that the same script run against two versions of the package (``PYTHONPATH``) gives the
before/after table::

    PYTHONPATH=/path/to/old/checkout python benchmarks/bench_train_step.py --label before
    PYTHONPATH=$PWD python benchmarks/bench_train_step.py --label after
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT / "results" / "benchmarks" / "train_step_cpu.csv"
SYNC_OPS: frozenset[str] = frozenset(
    {
        "_local_scalar_dense", "item", "is_nonzero", "nonzero", "masked_select", "unique",
        "_unique", "_unique2", "unique_dim", "unique_consecutive", "equal", "allclose",
        "repeat_interleave",
    }
)  # fmt: skip
FIELDS = (
    "label", "code", "model", "shape", "batch_size", "crop_size", "threads", "operators",
    "operators_fwd_bwd", "operators_optimizer", "syncs", "sync_ops", "seconds_per_iter", "steps",
)  # fmt: skip


class OpCounter(TorchDispatchMode):
    """Counts the ATen operators dispatched while active, and the host syncs among them."""

    def __init__(self, host_tensors: list[torch.Tensor] | None = None) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()
        self.syncs: Counter[str] = Counter()
        self.host = {id(t) for t in host_tensors or ()}
        self.phase = "fwd_bwd"  # or "optimizer", set by :func:`count_step`
        self.by_phase: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        name = func.overloadpacket.__name__
        self.ops[name] += 1
        self.by_phase[self.phase] += 1
        if _syncs(name, args, kwargs or {}) and not (args and id(args[0]) in self.host):
            self.syncs[name] += 1  # (a read of a host tensor, Adam's step count, is none)
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.ops.values())


def _syncs(name: str, args: tuple, kwargs: dict) -> bool:
    if name == "repeat_interleave":
        return not kwargs.get("output_size")
    if name in ("index", "index_put", "index_put_"):
        return _has_bool_index(args)
    return name in SYNC_OPS


def _has_bool_index(args: tuple) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(
        isinstance(i, torch.Tensor) and i.dtype == torch.bool
        for i in (indices or ())
        if i is not None
    )


class _FixedStream:
    """Stands in for the trainer's loader: the same batch every time (loading not measured)."""

    def __init__(self, batch: dict[str, torch.Tensor]) -> None:
        self.batch, self.consumed = batch, 0

    def take(self, n: int) -> list[dict[str, torch.Tensor]]:
        self.consumed += n
        return [self.batch] * n

    def close(self) -> None:
        pass


class _Samples(torch.utils.data.Dataset):
    def __init__(self, batch: dict[str, torch.Tensor]) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return int(self.batch["rgb"].shape[0])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.batch.items()}


def adam_steps(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """Adam's per-parameter step counters: CPU tensors also in a GPU run (unless fused or
    capturable), so reading them is no device sync."""
    return [s["step"] for s in optimizer.state.values() if isinstance(s.get("step"), torch.Tensor)]


def make_trainer(
    model: str, profile: str, run_dir: Path, crop: int | None = None
) -> tuple[Any, int]:
    """A :class:`~gsfm.training.Trainer` of ``profile``'s ``model`` fed one fixed batch, and
    an iteration inside the bootstrapped-CE warm-up."""
    from gsfm.config import train_config
    from gsfm.losses import GSFMLoss
    from gsfm.model import build_model
    from gsfm.training import Trainer
    from gsfm.training.throughput import fixed_batch

    cfg = train_config(profile, num_workers=0, **({"crop_size": crop} if crop else {}))
    torch.manual_seed(cfg.seed)
    net = build_model(model, profile)
    batch = fixed_batch(cfg)
    trainer = Trainer(net, GSFMLoss(cfg), _Samples(batch), cfg, run_dir, progress=False)
    trainer.stream.close()
    trainer.stream = _FixedStream(batch)
    trainer.model.train()
    return trainer, (cfg.start_warm + cfg.end_warm) // 2


def count_step(trainer: Any, iteration: int) -> OpCounter:
    """Count one ``trainer.step``, the optimizer's own operators apart (on the CPU Adam runs
    one small kernel sequence per parameter; on CUDA the trainer's fused Adam is a few)."""
    counter = OpCounter(adam_steps(trainer.optimizer))
    real_step = trainer.optimizer.step

    def step(*args: Any, **kwargs: Any) -> Any:
        counter.phase = "optimizer"
        try:
            return real_step(*args, **kwargs)
        finally:
            counter.phase = "fwd_bwd"

    trainer.optimizer.step = step
    try:
        with counter:
            trainer.step(iteration)
    finally:
        del trainer.optimizer.step
    return counter


def measure(
    model: str, profile: str, steps: int, count: bool, crop: int | None = None
) -> dict[str, Any]:
    """Operators and syncs of one step (if ``count``) and the median seconds of ``steps``
    (``crop``: another crop size than the profile's)."""
    from gsfm.config import train_config

    cfg = train_config(profile, **({"crop_size": crop} if crop else {}))
    with tempfile.TemporaryDirectory(prefix="gsfm-bench-step-") as tmp:
        trainer, it = make_trainer(model, profile, Path(tmp) / "run", crop)
        trainer.step(it)  # warm-up: Adam's state, allocator, lazy inits
        row: dict[str, Any] = {"operators": "", "syncs": "", "sync_ops": ""}
        if count:
            counter = count_step(trainer, it + 1)
            row.update(
                operators=counter.total,
                operators_fwd_bwd=counter.by_phase["fwd_bwd"],
                operators_optimizer=counter.by_phase["optimizer"],
                syncs=sum(counter.syncs.values()),
                sync_ops=" ".join(f"{k}:{v}" for k, v in sorted(counter.syncs.items())),
            )
        times = []
        for i in range(steps):
            start = time.perf_counter()
            trainer.step(it + 2 + i)
            times.append(time.perf_counter() - start)
    row.update(
        model=model,
        shape=profile,
        batch_size=cfg.batch_size,
        crop_size=cfg.crop_size,
        threads=torch.get_num_threads(),
        seconds_per_iter=round(statistics.median(times), 3) if times else "",
        steps=steps,
    )
    return row


def _code_version() -> str:
    import gsfm

    where = Path(gsfm.__file__).resolve().parents[1]
    try:
        return subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_rows(path: Path, label: str, rows: list[dict[str, Any]]) -> None:
    """Replace ``label``'s rows of the CSV at ``path`` by ``rows`` (others kept), atomically."""
    from gsfm.files import atomic_write_text

    kept: list[dict[str, Any]] = []
    if path.is_file():
        with path.open(newline="") as f:
            kept = [r for r in csv.DictReader(f) if r.get("label") != label]
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in [*kept, *rows]:
        writer.writerow({k: r.get(k, "") for k in FIELDS})
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="row label, e.g. before / after")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5, help="timed steps at the cpu profile")
    parser.add_argument("--gpu-steps", type=int, default=0, help="timed steps at gpu shapes")
    parser.add_argument("--models", nargs="+", default=["gsfm", "stcn"])
    parser.add_argument(
        "--gpu-crop", type=int, default=None,
        help="crop size for the gpu-shape rows (default the profile's 160; operator and sync "
        "counts do not depend on it, seconds do)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    code = _code_version()
    rows = []
    plan = (("gpu", args.gpu_steps, args.gpu_crop), ("cpu", args.steps, None))
    for shape, steps, crop in plan:
        for model in args.models:
            row = {"label": args.label, "code": code, **measure(model, shape, steps, True, crop)}
            print(", ".join(f"{k}={row[k]}" for k in FIELDS if row.get(k) != ""), flush=True)
            rows.append(row)
    write_rows(args.csv, args.label, rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
