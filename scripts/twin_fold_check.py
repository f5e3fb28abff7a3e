"""Is a trained GSFM its twin? Fold its key-encoder conv biases into the BatchNorms after them
(gsfm.model.encoders.fold_conv_biases), load the result into the bias-free architecture
(STCN+LFM+HFM+boundary) and compare the eval-mode key features on real frames.

    python scripts/twin_fold_check.py runs/ablations/gsfm-cpu-seed3-*/checkpoints/final.pt \
        data/synth/val-240x432

Prints the largest |bias| and, per key-encoder output, the largest |difference| against the
largest |value|: float rounding (about 1e-6 of the values) means the trained biases carry
nothing the twin cannot compute.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gsfm.checkpoint import load_model
from gsfm.model import GSFMNet
from gsfm.model.encoders import fold_conv_biases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a GSFM checkpoint (key_conv_bias=True)")
    parser.add_argument("split", type=Path, help="a DAVIS-layout split: frames are read from it")
    parser.add_argument("--frames", type=int, default=8, help="frames to compare (default 8)")
    args = parser.parse_args()
    net = load_model(args.checkpoint)
    if not net.config.key_conv_bias:
        raise SystemExit(f"{args.checkpoint}: its key encoder has no conv biases to fold")
    state = net.state_dict()
    folded = fold_conv_biases(state)
    biases = [state[k].abs().max() for k in set(state) - set(folded)]  # the folded conv biases
    twin = GSFMNet(dataclasses.replace(net.config, key_conv_bias=False)).eval()
    twin.load_state_dict(folded)
    paths = sorted((args.split / "JPEGImages").rglob("*.jpg"))[::7][: args.frames]
    if not paths:
        raise SystemExit(f"{args.split}: no .jpg frames under JPEGImages/")
    x = torch.stack([torch.from_numpy(np.array(Image.open(p).convert("RGB"))) for p in paths])
    x = x.permute(0, 3, 1, 2).float() / 255
    torch.set_num_threads(1)
    with torch.no_grad():
        outs = zip(net.key_encoder(x), twin.key_encoder(x), strict=True)
        print(f"{len(paths)} frames, largest |bias| {float(max(biases)):.4f}")
        for name, (a, b) in zip(("f16", "f8", "f4"), outs, strict=True):
            print(f"{name}: max |difference| {float((a - b).abs().max()):.2e}, "
                  f"max |value| {float(a.abs().max()):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
