"""GPU check for a session that has a CUDA device (``scripts/device_check.sh`` runs it).

One call, under 8 minutes on an H200, that says what the GPU path does, phase by phase:

1. ``loader``: samples/s of the training data alone (the ``gpu`` profile's pre-rendered
   synth-v1 train split, and the in-memory stream for comparison), N worker processes, after a
   warm-up (:func:`gsfm.training.throughput.loader_rate`); writing the split once is its own
   phase (``write_train_split``).
2. ``step``: samples/s and seconds per iteration of the training step alone (forward, loss,
   backward, Adam, AMP) of GSFM and STCN under the ``gpu`` and ``paper`` profiles on one fixed
   batch (:func:`gsfm.training.throughput.step_rate`), with the **peak memory measured after
   the warm-up** (cuDNN's autotuner allocates large workspaces while it searches; counting
   them inflated the old report to 136 GB for inference). The loader / step ratio for the gpu
   profile says whether the GPU is kept busy (goal: loader ≥ 1.2 × step).
3. ``inference``: GSFM and STCN at 480×854, 60 frames, float32 and the fast path, FPS, their
   ratio beside the paper's 0.76, and the fast path's mask agreement with float32
   (``benchmarks/bench_fast_inference.py``'s :func:`fast_inference_check`); peak memory after
   the warm-up run.
4. ``gpu_training``: both models trained with the ``gpu`` profile, at the same time as two
   processes on the one GPU (``python -m gsfm train``), each with half the CPU cores for its
   loader; wall time of each.
5. ``scoring``: both checkpoints segment synth-v1 val; J&F and FPS.

Progress: one line per phase on stdout as it ends (``[device_check] <phase> ok|skipped|
failed ...``). The JSON report is rewritten after every phase (atomically) into the folder
``--out`` (default ``$OUT`` when set, else ``results/device_check/``; a ``--dry-run`` writes
only where ``--out`` or ``$OUT`` says) as ``<device>-<date>.json``, so a run stopped from
outside (a time limit, a kill) leaves the phases it finished; SIGTERM also records the phase
it interrupted and stops the trainings. ``--budget SECONDS`` (default 480 on a GPU) is the
whole check's deadline: a phase whose estimate (:data:`ESTIMATES_S`, until measured) no
longer fits is skipped and the report says so, and the trainings are stopped at the
deadline with what they logged so far. A phase that fails is reported with its error and the
next one still runs.

Without CUDA the script stops at once with exit status 2, unless ``--dry-run``: then every
phase runs on the CPU at the ``smoke`` profile with tiny sizes (a check of the script, not a
measurement), through every path a CPU has: loader worker processes (pinned memory off),
bfloat16 autocast at inference, and the CUDA-graph path, refused with its one error. ImageNet
weights: the gpu profile starts from them when they are in the torch hub cache; the device
machine has no network, so otherwise the run prints and records (``encoder_init``) that it
used random encoders.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]


def _bench_fast_inference() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_fast_inference", ROOT / "benchmarks" / "bench_fast_inference.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# seconds each phase is expected to take (H100-class GPU, 16 cores; dry run on 2 CPU cores):
# estimates until a run measures them, used only to skip what no longer fits in --budget
ESTIMATES_S: dict[str, dict[str, float]] = {
    "gpu": {"loader": 90, "step": 60, "inference": 90, "gpu_training": 150, "scoring": 30},
    "dry": {"loader": 20, "step": 15, "inference": 40, "gpu_training": 40, "scoring": 15},
}


class Phases:
    """Runs the phases in order against a deadline; after each one, a progress line and the
    report rewritten to ``path`` (when given)."""

    def __init__(
        self,
        report: dict[str, Any],
        path: Path | None,
        budget: float | None = None,
        estimates: dict[str, float] | None = None,
    ) -> None:
        self.report, self.path = report, path
        self.budget, self.estimates = budget, dict(estimates or {})
        self.t0 = time.perf_counter()
        self.seconds: dict[str, float] = report.setdefault("phases_s", {})
        self.skipped: dict[str, str] = {}
        self.current: str | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        """Seconds left of the budget (None: no budget)."""
        return None if self.budget is None else self.budget - self.elapsed()

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` timed as phase ``name``, unless its estimate does not fit in
        what is left of the budget; a failure is recorded as the phase's ``error``."""
        left, need = self.left(), self.estimates.get(name)
        if left is not None and need is not None and need > left:
            why = f"needs about {need:.0f} s, {max(left, 0):.0f} s left of --budget {self.budget:g}"
            self.skipped[name] = why
            self.report.setdefault("skipped", {})[name] = why
            self.save()
            self._say(name, f"skipped ({why})")
            return None
        outer, self.current = self.current, name
        start = time.perf_counter()
        status, result = "ok", None
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # recorded, and the next phase still runs
            if outer is not None:  # a part of a phase: the phase fails
                raise
            text = str(exc).strip().splitlines()
            status = f"failed ({type(exc).__name__}: {text[0] if text else ''})"
            self.report.setdefault("errors", {})[name] = status[8:-1]
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 2)
            self.current = outer
        if outer is None:  # a top-level phase: its result is a section of the report
            self.report[name] = result
        self.report["total_s"] = round(self.elapsed(), 1)
        self.save()
        self._say(name, f"{status} in {self.seconds[name]:.1f} s")
        return result

    def _say(self, name: str, what: str) -> None:
        total = f"{self.elapsed():.0f} s" + (f" of {self.budget:g}" if self.budget else "")
        print(f"[device_check] {name}: {what} ({total})", flush=True)

    def save(self) -> None:
        """Write the report as it stands (atomically), if it has a file."""
        if self.path is None:
            return
        from gsfm.files import atomic_write_text

        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(self.report, indent=2, default=str) + "\n")


def encoder_init_available(profile: str) -> str:
    """The profile's encoder init if its weights can be had here, else ``"random"``."""
    from gsfm.config import model_config, train_config
    from gsfm.model.pretrained import imagenet_cache_path

    if train_config(profile).encoder_init != "imagenet":
        return "random"
    cfg = model_config("gsfm", profile)
    names = {cfg.key_encoder, cfg.value_encoder}
    return "imagenet" if all(imagenet_cache_path(n).is_file() for n in names) else "random"


def loader_check(
    profile: str,
    workers: int,
    data_dir: Path,
    phases: Phases,
    tiny: bool,
    render_workers: int | None = None,
) -> dict[str, Any]:
    """Loader samples/s of the pre-rendered train split and of the in-memory stream.
    ``tiny`` (the dry run): a 2-video split at 64x112 instead of the whole train split.
    The split is written first, its own phase, by ``render_workers`` processes (default one
    per CPU: :func:`gsfm.data.synthetic.write_split`)."""
    from gsfm.config import train_config
    from gsfm.data.synthetic import SyntheticTrainSet, ensure_split
    from gsfm.training.api import build_train_data
    from gsfm.training.throughput import loader_rate

    cfg = train_config(profile, num_workers=workers)
    os.environ["GSFM_DATA_DIR"] = str(data_dir)
    size = {"limit": 2, "height": 64, "width": 112} if tiny else {}
    root = phases.run(
        "write_train_split", ensure_split, data_dir, "train", workers=render_workers, **size
    )
    # the split the gpu profile trains on: ensure_split finds it written (GSFM_DATA_DIR)
    spec = f"davis:{root}" if tiny else "synth-train"
    split = phases.run("read_train_split", build_train_data, [spec], cfg, cfg.seed)
    stream = SyntheticTrainSet(crop_size=cfg.crop_size, length=10**5, seed=cfg.seed)
    batches = 4 if tiny else 30
    return {
        "data": spec if not tiny else "davis:<2 tiny train videos>",
        "synth-train": loader_rate(split, cfg, workers=workers, batches=batches),
        "synth stream": loader_rate(stream, cfg, workers=workers, batches=batches),
    }


def step_check(profiles: list[str], device: torch.device, steps: int) -> list[dict[str, Any]]:
    """Training-step rate of both models under each profile, and the peak memory of the timed
    steps (``step_rate`` resets the peak after its warm-up, where cuDNN's autotuner searches
    with large workspaces)."""
    from gsfm.training.throughput import step_rate

    out = []
    for profile in profiles:
        for name in ("gsfm", "stcn"):
            out.append(step_rate(name, profile, device=device, steps=steps, warmup=2))
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return out


def _train_cmd(model: str, profile: str, out: Path, args: argparse.Namespace, init: str) -> list:
    cmd = [sys.executable, "-m", "gsfm", "train", "--model", model, "--profile", profile,
           "--out", str(out), "--device", args.device_name, "--encoder-init", init,
           "--num-workers", str(args.train_workers)]  # fmt: skip
    if args.gpu_iterations:
        cmd += ["--iterations", str(args.gpu_iterations)]
    return cmd


def training_check(
    profile: str,
    work: Path,
    args: argparse.Namespace,
    init: str,
    data_dir: Path,
    deadline_s: float | None = None,
) -> dict[str, Any]:
    """Train GSFM and STCN with ``profile`` at the same time (two processes), from scratch;
    both are stopped after ``deadline_s`` seconds (None: no limit), with what they logged."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GSFM_DATA_DIR": str(data_dir)}
    if init == "random" and train_config_init(profile) == "imagenet":
        print(
            "[device_check] no ImageNet weights in the torch hub cache (and no network): the "
            f"{profile}-profile trainings start from random encoders",
            flush=True,
        )
    procs = {}
    out: dict[str, Any] = {"encoder_init": init, "concurrent": True}
    try:
        for name in ("gsfm", "stcn"):
            log = (work / f"train-{name}.log").open("w")
            proc = subprocess.Popen(
                _train_cmd(name, profile, work / name, args, init),
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            procs[name] = (proc, time.perf_counter(), log)
        start = time.perf_counter()
        for name, (proc, began, log) in procs.items():
            row: dict[str, Any] = {}
            left = (
                None if deadline_s is None else max(deadline_s - (time.perf_counter() - start), 1)
            )
            try:
                code = proc.wait(timeout=left)
            except subprocess.TimeoutExpired:
                proc.terminate()
                code = proc.wait(timeout=30)
                row["stopped_at_deadline_s"] = round(deadline_s or 0, 1)
            log.close()
            row.update(exit_code=code, wall_s=round(time.perf_counter() - began, 1))
            row.update(_training_log(work / name / "log.csv"))
            if code != 0 and "stopped_at_deadline_s" not in row:
                row["log_tail"] = (work / f"train-{name}.log").read_text()[-2000:]
            out[name] = row
    finally:  # an interrupted check leaves no training behind
        for proc, _began, log in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    return out


def train_config_init(profile: str) -> str:
    from gsfm.config import train_config

    return train_config(profile).encoder_init


def _training_log(log_csv: Path) -> dict[str, Any]:
    """Iterations, training seconds and last loss from a run's log (empty if none yet)."""
    if not log_csv.is_file():
        return {}
    import pandas as pd

    try:
        t = pd.read_csv(log_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return {}
    if t.empty:
        return {}
    return {
        "iterations": int(t["iteration"].iloc[-1]),
        "train_s": round(float(t["time_s"].iloc[-1]), 1),
        "loss_last": round(float(t["total"].iloc[-1]), 4),
    }


def scoring_check(work: Path, profile: str, device: torch.device, data_dir: Path) -> dict[str, Any]:
    """J&F and FPS of both trained checkpoints on synth-v1 val (the profile's subset)."""
    from gsfm.data.synthetic import ensure_split
    from gsfm.evaluation import evaluate_checkpoint
    from gsfm.experiments import eval_split_settings

    val = ensure_split(data_dir, "val", **eval_split_settings(profile))
    out: dict[str, Any] = {"data": str(val.name)}
    for name in ("gsfm", "stcn"):
        ckpt = work / name / "checkpoints" / "final.pt"
        if not ckpt.is_file():
            out[name] = {"error": f"no checkpoint {ckpt}"}
            continue
        row = evaluate_checkpoint(ckpt, val, work / f"pred-{name}", device=device).iloc[0]
        out[name] = {
            "J&F": round(100 * float(row["J&F-Mean"]), 2),
            "J": round(100 * float(row["J-Mean"]), 2),
            "F": round(100 * float(row["F-Mean"]), 2),
            "fps": round(float(row["fps"]), 2),
        }
    return out


def device_slug(name: str) -> str:
    """A file-name-safe form of a device name (``NVIDIA H200`` → ``nvidia-h200``)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def _report_path(args: argparse.Namespace, name: str) -> Path | None:
    """``<folder>/<device>-<date>.json``: the folder ``--out``, else ``$OUT``, else (a real
    run only) ``results/device_check``."""
    folder = args.out or os.environ.get("OUT")
    if folder is None and args.dry_run:
        return None
    base = Path(folder) if folder else ROOT / "results" / "device_check"
    stem = f"{device_slug(name)}-{_dt.date.today().isoformat()}"
    return base / f"{stem}{'-dry-run' if args.dry_run else ''}.json"


def graphs_refusal(model_name: str = "gsfm", profile: str = "smoke") -> dict[str, Any]:
    """What the CUDA-graph inference path says on a CPU model: its one error, checked."""
    from gsfm.inference import InferenceEngine, InferenceSettings
    from gsfm.model import build_model

    try:
        InferenceEngine(build_model(model_name, profile), InferenceSettings(compile="cuda-graphs"))
    except ValueError as exc:
        return {"refused": True, "error": str(exc)}
    return {"refused": False, "error": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, smoke profile, tiny sizes")
    parser.add_argument("--steps", type=int, default=None, help="timed training steps")
    parser.add_argument("--frames", type=int, default=None, help="frames of the inference video")
    parser.add_argument("--workers", type=int, default=None, help="loader workers (phase 1)")
    parser.add_argument(
        "--render-workers", type=int, default=None,
        help="processes that render the train split (default: one per CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--gpu-iterations", type=int, default=None,
        help="iterations of the gpu-profile trainings (default: the profile's)",
    )  # fmt: skip
    parser.add_argument("--skip-training", action="store_true", help="phases 1-3 only")
    parser.add_argument(
        "--budget", type=float, default=None,
        help="seconds for the whole check (default 480 on a GPU, none for --dry-run): phases "
        "that no longer fit are skipped, the trainings stopped at the deadline",
    )  # fmt: skip
    parser.add_argument(
        "--out", help="folder for the JSON report (default: $OUT when set, else "
        "results/device_check/; a --dry-run writes only with --out or $OUT)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.render_workers is not None and args.render_workers < 1:
        parser.error(f"--render-workers must be at least 1, got {args.render_workers}")

    if not args.dry_run and not torch.cuda.is_available():
        print(
            "device_check: CUDA is not available on this machine; run it where a GPU is "
            "(or pass --dry-run to check the script on the CPU)",
            file=sys.stderr,
        )
        return 2
    cores = os.cpu_count() or 1
    if args.dry_run:
        device, train_profile, step_profiles = torch.device("cpu"), "smoke", ["smoke"]
        steps, frames, size = args.steps or 2, args.frames or 4, (64, 96)
        workers = args.workers if args.workers is not None else 1  # a worker process runs
        args.train_workers, args.gpu_iterations = 0, args.gpu_iterations or 2
        modes: tuple[str, ...] | None = ("fp32", "bf16")
        budget, estimates = args.budget, ESTIMATES_S["dry"]
    else:
        device, train_profile, step_profiles = torch.device("cuda"), "gpu", ["gpu", "paper"]
        from gsfm.runtime import fast_cuda_kernels

        fast_cuda_kernels(device)
        steps, frames, size = args.steps or 20, args.frames or 60, (480, 854)
        workers = args.workers if args.workers is not None else max(1, cores - 2)
        args.train_workers = max(1, cores // 2 - 1)
        modes = None
        budget = 480.0 if args.budget is None else args.budget
        estimates = ESTIMATES_S["gpu"]
    args.device_name = str(device)
    from gsfm.data import synthetic

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    report: dict[str, Any] = {
        "dry_run": args.dry_run,
        "device": name,
        "cpu_cores": cores,
        "render_workers": args.render_workers or synthetic.default_workers(),
        "torch": torch.__version__,
        "profile": train_profile,
        "budget_s": budget,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "phases_s": {},
    }
    phases = Phases(report, _report_path(args, name), budget, estimates)
    if phases.path is not None:
        print(f"[device_check] report: {phases.path}", flush=True)

    def interrupted(signum: int, _frame: Any) -> None:
        report["interrupted"] = {"signal": signum, "phase": phases.current}
        phases.save()
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with tempfile.TemporaryDirectory(prefix="gsfm-device-check-") as tmp:
            work = Path(tmp)
            data_dir = work / "data"
            phases.run(
                "loader", loader_check, train_profile, workers, data_dir, phases, args.dry_run,
                args.render_workers,
            )  # fmt: skip
            phases.run("step", step_check, step_profiles, device, steps)
            loader, step = report.get("loader"), report.get("step")
            if loader and step:
                gpu_step = next(s for s in step if s["profile"] == train_profile)
                rate = loader["synth-train"]["samples_per_s"]
                report["loader_over_step"] = round(rate / gpu_step["samples_per_s"], 3)
            bench = _bench_fast_inference()
            phases.run(
                "inference", bench.fast_inference_check, "smoke" if args.dry_run else "paper",
                frames, size, device, 1 if args.dry_run else 3,
                fit_steps=10 if args.dry_run else 60, modes=modes,
            )  # fmt: skip
            if args.dry_run:
                phases.run("cuda_graphs_refused", graphs_refusal)
            if not args.skip_training:
                init = encoder_init_available(train_profile)
                left = phases.left()
                deadline = None if left is None else left - estimates.get("scoring", 0)
                phases.run(
                    "gpu_training", training_check, train_profile, work, args, init, data_dir,
                    deadline,
                )  # fmt: skip
                phases.run("scoring", scoring_check, work, train_profile, device, data_dir)
    finally:
        signal.signal(signal.SIGTERM, previous)
    report["total_s"] = round(phases.elapsed(), 1)
    phases.save()
    print(json.dumps(report, indent=2, default=str))
    training = report.get("gpu_training") or {}
    ok = not report.get("errors") and all(
        training.get(m, {}).get("exit_code", 0) == 0 for m in ("gsfm", "stcn")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
