"""``train(...)``: build the model, the loss and the data from names, then run the trainer.

This is what ``python -m gsfm train`` and notebook 04 call. Data specifications (one or more,
concatenated; ``*N`` repeats one, e.g. the authors' ``davis:data/DAVIS/2017/trainval*5``):

* ``synth`` (or ``synth:v1``): the endless synthetic training stream of :mod:`gsfm.data`;
  an epoch is ``TrainConfig.epoch_samples`` samples and every epoch brings new clips;
* ``synth-train`` (or ``synth-train:v1``): the synthetic benchmark's train split (120 videos
  of 40 frames), rendered once into ``$GSFM_DATA_DIR/train`` or ``data/synth/train`` of the
  project (written there on first use, completed if damaged:
  :func:`gsfm.data.synthetic.ensure_split`), decoded into memory once and sampled as triplets
  like ``davis:PATH``; an epoch is one triplet per video. Worker processes read it far faster
  than they render new clips; config.json records ``synth-train``, never the folder;
* ``davis:PATH``: a DAVIS-layout folder (real DAVIS 2017, using ``ImageSets/2017/train.txt``
  when present, or a folder written by ``python -m gsfm synth``);
* ``youtube:PATH``: a YouTube-VOS ``train_480p`` folder (max skip divided by 5);
* ``static:PATH``: a folder of images with masks, turned into 3-frame pseudo-videos (stage
  ``static``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import ConcatDataset, Dataset

from gsfm.checkpoint import load_state, load_weights, model_weights
from gsfm.config import TrainConfig, train_config
from gsfm.data.static import StaticPseudoVideoDataset
from gsfm.data.synthetic import VERSIONS, SyntheticTrainSet, ensure_split
from gsfm.data.triplets import VOSTripletDataset
from gsfm.errors import DataError
from gsfm.files import Busy, exclusive
from gsfm.losses import GSFMLoss
from gsfm.model import build_model, init_encoders
from gsfm.runtime import resolve_path, seed_everything
from gsfm.training.distributed import DistContext, init_distributed
from gsfm.training.loop import Trainer, TrainResult
from gsfm.training.run_folder import RunFolder
from gsfm.training.start import apply_shared_start

__all__ = [
    "DATA_KINDS",
    "DataSpec",
    "build_train_data",
    "parse_data_spec",
    "run_folder_lock",
    "saved_run_settings",
    "train",
]

DATA_KINDS: tuple[str, ...] = ("synth", "synth-train", "davis", "youtube", "static")
_SYNTH_KINDS: tuple[str, ...] = ("synth", "synth-train")  # their argument is a version, not a path
_SPEC = re.compile(r"^(?P<kind>[a-z]+(?:-[a-z]+)*)(?::(?P<arg>.+?))?(?:\*(?P<repeat>\d+))?$")


@dataclass(frozen=True)
class DataSpec:
    """One parsed ``--data`` entry."""

    kind: str
    arg: str | None = None  # a path, or the synthetic benchmark's version
    repeat: int = 1

    def __str__(self) -> str:
        text = self.kind if self.arg is None else f"{self.kind}:{self.arg}"
        return text if self.repeat == 1 else f"{text}*{self.repeat}"


def parse_data_spec(text: str) -> DataSpec:
    """Parse ``kind[:arg][*N]``; raises ValueError naming what is wrong (a synthetic
    benchmark version is checked here; nothing is written or read)."""
    m = _SPEC.match(text.strip())
    if m is None or m["kind"] not in DATA_KINDS:
        raise ValueError(
            f"bad data specification {text!r}: expected synth, synth-train, davis:PATH, "
            "youtube:PATH or static:PATH, optionally followed by *N to repeat it"
        )
    kind, arg, repeat = m["kind"], m["arg"], int(m["repeat"] or 1)
    if repeat < 1:
        raise ValueError(f"bad data specification {text!r}: the repeat count must be >= 1")
    if kind in _SYNTH_KINDS:
        if arg is not None:
            trainable = sorted(n for n, v in VERSIONS.items() if "train" in v.splits)
            if arg not in VERSIONS:
                raise ValueError(
                    f"bad data specification {text!r}: unknown synthetic benchmark version "
                    f"{arg!r}; known: {', '.join(trainable)}"
                )
            if arg not in trainable:
                raise ValueError(
                    f"bad data specification {text!r}: synth-{arg} is for scoring only (it has "
                    f"no train split); train on {', '.join(trainable)}"
                )
        return DataSpec(kind, arg, repeat)
    if not arg:
        raise ValueError(f"data specification {text!r} needs a path: {kind}:PATH")
    path = resolve_path(arg)
    if not path.is_dir():
        raise FileNotFoundError(f"{kind} data folder not found: {path} (from {text!r})")
    return DataSpec(kind, str(path), repeat)


class _Concat(ConcatDataset):
    """ConcatDataset that forwards ``set_max_skip`` / ``set_epoch`` to the parts that have them."""

    def set_max_skip(self, n: int) -> None:
        for d in self.datasets:
            if hasattr(d, "set_max_skip"):
                d.set_max_skip(n)

    def set_epoch(self, epoch: int) -> None:
        for d in self.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)


def _one_dataset(spec: DataSpec, cfg: TrainConfig, seed: int) -> Dataset:
    if spec.kind == "synth":
        return SyntheticTrainSet(
            version=spec.arg or "v1",
            crop_size=cfg.crop_size,
            length=cfg.epoch_samples * spec.repeat,
            seed=seed,
            max_skip=cfg.max_skip_initial,
            max_objects=cfg.max_objects,
        )
    if spec.kind == "synth-train":
        version = spec.arg or "v1"
        root = ensure_split(None, "train", version=version, progress=True)
        return VOSTripletDataset(
            root,
            split_file=root / "ImageSets" / f"synth-{version}" / "train.txt",
            crop_size=cfg.crop_size,
            max_skip=cfg.max_skip_initial,
            max_objects=cfg.max_objects,
            repeat=spec.repeat,
            seed=seed,
            preload=True,
        )
    if spec.kind in ("davis", "youtube"):
        root = Path(spec.arg or "")
        split = root / "ImageSets" / "2017" / "train.txt"
        return VOSTripletDataset(
            root,
            split_file=split if spec.kind == "davis" and split.is_file() else None,
            crop_size=cfg.crop_size,
            max_skip=cfg.max_skip_initial,
            frame_stride=5 if spec.kind == "youtube" else 1,
            max_objects=cfg.max_objects,
            repeat=spec.repeat,
            seed=seed,
        )
    return StaticPseudoVideoDataset(
        spec.arg or "", crop_size=cfg.crop_size, num_frames=cfg.num_frames, seed=seed,
        repeat=spec.repeat,
    )  # fmt: skip


def _load_weights(net: torch.nn.Module, path: Path) -> None:
    """Initialise ``net`` from the model weights of a checkpoint: ours (a training checkpoint or
    a saved model) or the authors' STCN / GSFM weights. Errors are one line naming ``path``."""
    state = load_state(path, what="--init checkpoint")
    load_weights(net, model_weights(state, path), f"--init checkpoint {path}")


def build_train_data(specs: Sequence[str | DataSpec], cfg: TrainConfig, seed: int) -> Dataset:
    """The training set of one or more data specifications (concatenated)."""
    if not specs:
        raise ValueError("no training data given")
    parsed = [s if isinstance(s, DataSpec) else parse_data_spec(s) for s in specs]
    if cfg.stage == "static" and any(p.kind in ("davis", "youtube", "synth-train") for p in parsed):
        raise ValueError(
            "stage 'static' trains on static images (static:PATH or synth), not videos"
        )
    parts = [_one_dataset(p, cfg, seed) for p in parsed]
    return parts[0] if len(parts) == 1 else _Concat(parts)


def saved_run_settings(out: str | Path) -> dict[str, Any]:
    """The arguments of :func:`train` that produced the run in ``out`` (for ``--resume``)."""
    config = RunFolder(resolve_path(out)).read_config()
    try:
        kinds = {"model_name": str, "profile": str, "data": list, "train": dict, "model": dict}
        for key, kind in kinds.items():
            if key in config and not isinstance(config[key], kind):
                raise TypeError(f"its {key!r} is a {type(config[key]).__name__}")
        if not all(isinstance(d, str) for d in config["data"]) or not isinstance(
            config.get("init"), str | None
        ):
            raise TypeError("its 'data' or 'init' is not text")
        train_cfg = dict(config["train"])
        settings = {
            "model": config["model_name"],
            "profile": config["profile"],
            "data": list(config["data"]),
            "stage": train_cfg.pop("stage"),
            "init": config.get("init"),
            "model_options": dict(config.get("model", {})),
            "train_overrides": {
                k: tuple(v) if isinstance(v, list) else v for k, v in train_cfg.items()
            },
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        path = resolve_path(out) / "config.json"
        what = f"lacks the entry {exc}" if isinstance(exc, KeyError) else f"is malformed ({exc})"
        raise DataError(f"{path} {what}", path) from None
    return settings


def train(
    model: str = "gsfm",
    profile: str = "cpu",
    data: Sequence[str] = ("synth",),
    out: str | Path = "runs/gsfm-cpu",
    *,
    stage: str = "main",
    resume: bool = False,
    device: str | torch.device = "auto",
    init: str | Path | None = None,
    progress: bool = True,
    stop_at: int | None = None,
    model_options: Mapping[str, Any] | None = None,
    **train_overrides: Any,
) -> TrainResult:
    """Train ``model`` ("gsfm" or "stcn") under ``profile`` on ``data`` into the run folder ``out``.

    ``train_overrides`` are :class:`~gsfm.config.TrainConfig` fields (``iterations=...``,
    ``seed=...``, ``batch_size=...``); ``model_options`` are :class:`~gsfm.config.ModelConfig`
    fields (``lfm="attention"``, ``sigma=5``). ``init`` starts from another run's weights (e.g.
    main training after the static stage); without it the encoders start as
    ``TrainConfig.encoder_init`` says (:func:`gsfm.model.init_encoders`: random or torchvision's
    ImageNet weights), recorded under ``"encoders"`` in config.json. Under ``torchrun`` every
    process calls this. The run folder's lock (:func:`run_folder_lock`) is held throughout: a
    folder another process is training raises :class:`gsfm.files.Busy`.
    """
    with run_folder_lock(out):
        return _train(
            model, profile, data, out, stage=stage, resume=resume, device=device, init=init,
            progress=progress, stop_at=stop_at, model_options=model_options, **train_overrides,
        )  # fmt: skip


@contextmanager
def run_folder_lock(out: str | Path) -> Iterator[None]:
    """Hold the lock of the run folder ``out`` (``.<name>.lock`` beside it) while a process
    trains there: a second ``train`` or ``--resume`` into the folder raises
    :class:`gsfm.files.Busy` naming it instead of mixing its log and checkpoints with the first
    one's. Under ``torchrun`` the main process (rank 0) holds it for all ranks."""
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    path = resolve_path(out)
    stack = ExitStack()
    try:
        stack.enter_context(exclusive(path.parent / f".{path.name}.lock", wait=False))
    except Busy:
        raise Busy(
            f"another gsfm process is training in {path}: wait for it to finish (then "
            "--resume continues it), or choose another --out"
        ) from None
    with stack:
        yield


def _train(
    model: str,
    profile: str,
    data: Sequence[str],
    out: str | Path,
    *,
    stage: str,
    resume: bool,
    device: str | torch.device,
    init: str | Path | None,
    progress: bool,
    stop_at: int | None,
    model_options: Mapping[str, Any] | None,
    **train_overrides: Any,
) -> TrainResult:
    """:func:`train`, with the run folder's lock held."""
    cfg = train_config(profile, stage, **train_overrides)
    specs = [parse_data_spec(s) for s in data]
    if not resume:  # refuse a used --out before building anything (the trainer checks again)
        RunFolder(resolve_path(out)).check_new()
    ctx: DistContext = init_distributed(device)
    try:
        seed_everything(cfg.seed)  # same initial weights on every process
        net = build_model(model, profile, **dict(model_options or {}))
        encoders: Any = None  # where the encoders' first weights came from (config.json)
        shared_start: dict[str, Any] | None = None  # what start=shared copied (config.json)
        if resume:  # a resumed run restores its own weights and keeps its recorded provenance
            folder = RunFolder(resolve_path(out))
            saved = folder.read_config() if folder.config_path.is_file() else None
            encoders = saved.get("encoders") if isinstance(saved, dict) else None
            shared_start = saved.get("shared_start") if isinstance(saved, dict) else None
        elif init is not None:
            if cfg.start == "shared":
                raise ValueError("--init and start=shared both say where the weights start")
            _load_weights(net, resolve_path(init))
        elif cfg.start == "shared":  # every variant of this seed from one common state
            shared = apply_shared_start(net, profile, cfg.seed, cfg.encoder_init)
            encoders, shared_start = shared.encoders, shared.describe()
        else:  # cfg.encoder_init: random, or ImageNet (rank 0 first: it fills the weight cache)
            if ctx.is_main:
                encoders = init_encoders(net, cfg.encoder_init)
            ctx.barrier()
            if not ctx.is_main:
                encoders = init_encoders(net, cfg.encoder_init)
        dataset = build_train_data(specs, cfg, seed=cfg.seed)
        describe = {
            "model_name": model,
            "profile": profile,
            "data": [str(s) for s in specs],
            "init": None if init is None else str(init),
        }
        if encoders is not None:
            describe["encoders"] = encoders
        if shared_start is not None:
            describe["shared_start"] = shared_start
        trainer = Trainer(
            net,
            GSFMLoss(cfg),
            dataset,
            cfg,
            resolve_path(out),
            dist=ctx,
            describe=describe,
            progress=progress,
        )
        return trainer.run(resume=resume, stop_at=stop_at)
    finally:
        ctx.close()
