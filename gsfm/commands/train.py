"""``python -m gsfm train``: train GSFM or the STCN baseline into a run folder.

Examples::

    python -m gsfm train --model gsfm --profile cpu --data synth --out runs/gsfm-cpu
    python -m gsfm train --model stcn --profile cpu --out runs/stcn-cpu --seed 2
    python -m gsfm train --out runs/gsfm-cpu --resume          # continue exactly
    torchrun --nproc_per_node 2 -m gsfm train --profile paper \\
        --data davis:data/DAVIS/2017/trainval*5 --data youtube:data/YouTube/train_480p \\
        --out runs/gsfm-s3 --grad-accum 4
"""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Any

from gsfm.cli import CLIError, device_arg, positive_int, seed_arg
from gsfm.config import ENCODER_INITS, MODEL_NAMES, PROFILE_NAMES, default_data
from gsfm.files import Busy, DiskFullError
from gsfm.runtime import resolve_path

HELP = f"train GSFM or the STCN baseline (profiles {'|'.join(PROFILE_NAMES)}; torchrun for DDP)"


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip().replace("-", "_"), value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODEL_NAMES, help="default: gsfm")
    parser.add_argument("--profile", choices=PROFILE_NAMES, help="default: cpu")
    parser.add_argument(
        "--stage",
        choices=("main", "static"),
        help="main (default): videos; static: pseudo-videos from images (1 object)",
    )
    parser.add_argument(
        "--data",
        action="append",
        metavar="SPEC",
        help="synth | synth-train | davis:PATH | youtube:PATH | static:PATH, optional *N "
        "repeat; give several to concatenate (default: the profile's: synth; synth-train for "
        "gpu)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="run folder, e.g. runs/gsfm-cpu: new or empty (a folder holding an earlier run "
        "needs --resume; one holding anything else is refused)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out exactly from its latest checkpoint (model, profile, "
        "data and settings come from its config.json)",
    )
    parser.add_argument("--iterations", type=positive_int, help="optimizer steps")
    parser.add_argument("--seed", type=seed_arg, help="0 to 4294967295 (default: the profile's)")
    parser.add_argument("--batch-size", type=positive_int, help="per process")
    parser.add_argument("--grad-accum", type=positive_int, help="micro-batches per optimizer step")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--num-workers", type=int, help="DataLoader workers per process")
    parser.add_argument("--no-amp", action="store_true", help="no mixed precision on CUDA")
    parser.add_argument(
        "--device", type=device_arg, default="auto", help="auto | cpu | cuda | cuda:N"
    )
    parser.add_argument(
        "--init",
        help="start from the weights of this checkpoint (ours, or the authors' STCN/GSFM "
        "weights; read with weights_only=True)",
    )
    parser.add_argument(
        "--encoder-init",
        choices=ENCODER_INITS,
        help="how the ResNet encoders start: random weights, or torchvision's ImageNet weights "
        "(from the torch.hub cache, $TORCH_HOME/hub/checkpoints, else downloaded there); "
        "default: the profile's (smoke, cpu: random; gpu, paper: imagenet)",
    )
    parser.add_argument(
        "--key-encoder-weights",
        metavar="PATH",
        help="a local torchvision state-dict file for the key encoder's ResNet (used instead "
        "of --encoder-init for that encoder)",
    )
    parser.add_argument(
        "--value-encoder-weights",
        metavar="PATH",
        help="a local torchvision state-dict file for the value encoder's ResNet (used "
        "instead of --encoder-init for that encoder)",
    )
    parser.add_argument(
        "--set",
        dest="train_set",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="any other TrainConfig field",
    )
    parser.add_argument(
        "--model-option",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a ModelConfig field, e.g. lfm=attention",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig overrides named on the command line."""
    overrides: dict[str, Any] = dict(args.train_set)
    for field, value in (
        ("iterations", args.iterations),
        ("seed", args.seed),
        ("batch_size", args.batch_size),
        ("grad_accum", args.grad_accum),
        ("lr", args.lr),
        ("num_workers", args.num_workers),
    ):
        if value is not None:
            overrides[field] = value
    if args.no_amp:
        overrides["amp"] = False
    if args.encoder_init is not None:
        overrides["encoder_init"] = args.encoder_init
    for key in ("lr_steps", "skip_values", "skip_fractions"):
        if key in overrides and not isinstance(overrides[key], tuple):
            value = overrides[key]
            overrides[key] = tuple(value) if isinstance(value, list) else (value,)
    return overrides


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ModelConfig options named on the command line (local encoder weight files are
    made absolute, so that config.json names them wherever the run is resumed from)."""
    options: dict[str, Any] = dict(args.model_option)
    for field in ("key_encoder_weights", "value_encoder_weights"):
        value = getattr(args, field)
        if value is not None:
            options[field] = str(resolve_path(value))
    return options


def run(args: argparse.Namespace) -> int:
    # lazy: `python -m gsfm --help` imports this module; gsfm.model and gsfm.training import torch
    from gsfm.model import PretrainedWeightsError
    from gsfm.training import NonFiniteLossError
    from gsfm.training.api import saved_run_settings, train

    if args.num_workers is not None and args.num_workers < 0:
        raise CLIError(f"--num-workers must be >= 0, got {args.num_workers}")

    settings: dict[str, Any] = {
        "model": "gsfm",
        "profile": "cpu",
        "data": None,  # the profile's (gsfm.config.default_data), once the profile is known
        "stage": "main",
        "init": None,
        "model_options": {},
        "train_overrides": {},
    }
    if args.resume:
        settings.update(saved_run_settings(args.out))
    for key in ("model", "profile", "data", "stage", "init"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if settings["data"] is None:
        settings["data"] = list(default_data(settings["profile"]))
    settings["model_options"].update(model_options(args))
    settings["train_overrides"].update(train_overrides(args))
    try:
        result = train(
            settings["model"],
            settings["profile"],
            settings["data"],
            args.out,
            stage=settings["stage"],
            resume=args.resume,
            device=args.device,
            init=settings["init"],
            progress=not args.no_progress,
            model_options=settings["model_options"],
            **settings["train_overrides"],
        )
    except (FileExistsError, Busy, DiskFullError) as exc:  # a used or busy --out; a full disk
        raise CLIError(str(exc)) from None
    except TypeError as exc:  # a --set / --model-option value of the wrong type
        raise CLIError(f"bad option value: {exc}") from None
    except PretrainedWeightsError as exc:  # no ImageNet weights: neither cached nor downloadable
        raise CLIError(str(exc)) from None
    except NonFiniteLossError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result.final is not None and result.rank == 0:
        print(f"trained {result.iteration} iterations in {result.seconds:.0f} s: {result.final}")
    return 0
