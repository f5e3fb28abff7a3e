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

``--parts`` prints instead where one ``gpu``-shape step's operators come from (nothing is
written): each forward operator counted under the innermost model part running it (the
network's children, the memory read, the soft aggregation, the loss; the rest of
``forward_train`` is ``network glue``) and each backward operator under the part whose forward
made its autograd node (autograd's sequence numbers); what runs outside any node (gradients
summed for modules used twice, AccumulateGrad) and the trainer's own bookkeeping is
``trainer``. The counting hooks add no operator to the tally.
"""

from __future__ import annotations

import argparse
import csv
import functools
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


class _PartCounter(TorchDispatchMode):
    """Counts operators per (phase, part); ``stack`` is the part running now."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.stack, self.phase, self.paused = ["trainer"], "forward", False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        if not self.paused:
            self.counts[(self.phase, self.stack[-1])] += 1
        return func(*args, **(kwargs or {}))


def count_parts(
    model: str, crop: int | None = None, profile: str = "gpu"
) -> Counter[tuple[str, str]]:
    """Operators of one ``trainer.step`` (``profile``'s shapes) per (phase, part): phases
    ``forward`` (forward and loss), ``backward``, ``optimizer`` (Adam) and ``other`` (after
    backward)."""
    import gsfm.model.network as network

    counter = _PartCounter()
    spans: list[tuple[int, int, str]] = []  # autograd sequence numbers each part's forward used

    def seq() -> int:  # the next autograd sequence number, read without counting its operator
        counter.paused = True
        with torch.enable_grad():
            n = (torch.zeros((), requires_grad=True) * 1).grad_fn._sequence_nr()  # type: ignore[union-attr]
        counter.paused = False
        return n

    def labelled(fn: Any, label: str) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            counter.stack.append(label)
            start = seq()
            try:
                return fn(*args, **kwargs)
            finally:
                spans.append((start, seq(), label))
                counter.stack.pop()

        return run

    def part_of(node: Any) -> str:
        n, best = node._sequence_nr(), None
        for a, b, label in spans:
            if a <= n <= b and (best is None or b - a < best[1] - best[0]):
                best = (a, b, label)
        return best[2] if best else "trainer"

    with tempfile.TemporaryDirectory(prefix="gsfm-bench-step-") as tmp:
        trainer, it = make_trainer(model, profile, Path(tmp) / "run", crop)
        trainer.step(it)
        net = trainer.model
        for name, child in net.named_children():
            child.forward = labelled(child.forward, name)  # type: ignore[method-assign]
        hfm = getattr(net.decoder, "hfm", None)
        if hfm is not None:  # the decoder's frequency module, apart from the decoder
            hfm.forward = labelled(hfm.forward, "decoder.hfm")  # type: ignore[method-assign]
        saved = {k: getattr(network, k) for k in ("read_memory", "aggregate_logits")}
        network.read_memory = labelled(network.read_memory, "memory read")
        network.aggregate_logits = labelled(network.aggregate_logits, "aggregate")
        trainer.loss_fn = labelled(trainer.loss_fn, "loss")
        trainer.forward = labelled(trainer.forward, "network glue")
        real_backward, real_step = torch.Tensor.backward, trainer.optimizer.step

        def enter(label: str, grads: Any) -> None:
            counter.stack.append(label)

        def leave(grads_in: Any, grads_out: Any) -> None:
            counter.stack.pop()

        def backward(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            seen, todo = set(), [tensor.grad_fn]
            while todo:  # each autograd node: its part on the stack while it runs
                node = todo.pop()
                if node is None or node in seen:
                    continue
                seen.add(node)
                node.register_prehook(functools.partial(enter, part_of(node)))
                node.register_hook(leave)
                todo.extend(f for f, _ in node.next_functions)
            counter.phase = "backward"
            try:
                return real_backward(tensor, *args, **kwargs)
            finally:
                counter.phase = "other"

        def step(*args: Any, **kwargs: Any) -> Any:
            counter.phase = "optimizer"
            try:
                return real_step(*args, **kwargs)
            finally:
                counter.phase = "other"

        torch.Tensor.backward = backward  # type: ignore[method-assign]
        trainer.optimizer.step = step
        try:
            with counter:
                trainer.step(it + 1)
        finally:
            torch.Tensor.backward = real_backward  # type: ignore[method-assign]
            for k, v in saved.items():
                setattr(network, k, v)
    return counter.counts


def print_parts(model: str, counts: Counter[tuple[str, str]]) -> None:
    """The table of :func:`count_parts`: forward, backward and other operators per part."""
    parts = sorted({part for _, part in counts})
    print(f"{model}: operators of one gpu-shape step by part")
    print(f"{'part':16s} {'forward':>8s} {'backward':>9s} {'other':>6s}")
    for part in parts:
        f, b, o = (counts[(ph, part)] for ph in ("forward", "backward", "other"))
        print(f"{part:16s} {f:8d} {b:9d} {o:6d}")
    total = {ph: sum(v for (p, _), v in counts.items() if p == ph) for ph in
             ("forward", "backward", "other", "optimizer")}  # fmt: skip
    fwd_bwd = total["forward"] + total["backward"] + total["other"]
    print(f"{'total':16s} {total['forward']:8d} {total['backward']:9d} {total['other']:6d}"
          f"   (forward + backward {fwd_bwd}, optimizer {total['optimizer']})")  # fmt: skip


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
    parser.add_argument("--label", help="row label, e.g. before / after (required without --parts)")
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
    parser.add_argument(
        "--parts", action="store_true",
        help="print each model part's operators of one gpu-shape step instead (no CSV)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.parts and not args.label:
        parser.error("--label is required (unless --parts)")
    if args.parts:
        for model in args.models:
            print_parts(model, count_parts(model, args.gpu_crop))
        return 0
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
