"""A tiny stand-in for the VOS network, its loss and its data, with the trainer's interfaces.

Used by the trainer's tests: :class:`ToyVOS` carries a ``ModelConfig`` (named "toy"; its other
fields describe nothing) as the trainer expects, and ``forward_train(batch)`` returns the same keys as the GSFM
model; :class:`ToyLoss` returns ``total/ce/boundary/iou/p`` like :class:`gsfm.losses.GSFMLoss`;
:class:`RandomClips` yields samples in the authors' VOSDataset format and draws from the global
generators, as real augmentation pipelines do. Nothing in ToyVOS depends on the batch
(no BatchNorm), so micro-batching does not change its gradients.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from gsfm.config import ModelConfig

__all__ = ["RandomClips", "ToyLoss", "ToyVOS"]


class ToyVOS(nn.Module):
    """Per-frame 3x3 convs over [RGB, first-frame mask, first-frame second mask]."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.config = ModelConfig(name="toy")
        self.body = nn.Conv2d(5, hidden, 3, padding=1)
        self.mask = nn.Conv2d(hidden, 3, 3, padding=1)
        self.edge = nn.Conv2d(hidden, 2, 1)

    def forward_train(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        rgb, gt, sec = batch["rgb"], batch["gt"], batch["sec_gt"]
        out: dict[str, torch.Tensor] = {}
        for t in (1, 2):
            x = torch.relu(self.body(torch.cat([rgb[:, t], gt[:, 0], sec[:, 0]], dim=1)))
            logits = self.mask(x)
            out[f"logits_{t}"] = logits
            out[f"mask_{t}"] = torch.softmax(logits, dim=1)[:, 1:]
            out[f"boundary_{t}"] = self.edge(x) * batch["selector"][:, :, None, None]
        return out


class ToyLoss:
    """CE on frames 1 and 2 + 0.05 x boundary BCE; ``nan_at`` makes one iteration's loss NaN."""

    def __init__(self, nan_at: int | None = None) -> None:
        self.nan_at = nan_at

    def __call__(
        self, out: Mapping[str, torch.Tensor], batch: Mapping[str, Any], iteration: int
    ) -> dict[str, torch.Tensor]:
        ce = boundary = iou = torch.zeros((), device=out["logits_1"].device)
        for t in (1, 2):
            target = batch["cls_gt"][:, t]
            ce = ce + F.cross_entropy(out[f"logits_{t}"].float(), target)
            edge_target = torch.cat([batch["gt"][:, t], batch["sec_gt"][:, t]], dim=1)
            boundary = boundary + F.binary_cross_entropy_with_logits(
                out[f"boundary_{t}"].float(), edge_target
            )
            pred = out[f"logits_{t}"].argmax(1) == 1
            truth = target == 1
            inter = (pred & truth).flatten(1).sum(1).float()
            union = (pred | truth).flatten(1).sum(1).float()
            iou = iou + (inter / union.clamp(min=1)).mean() / 2
        total = ce + 0.05 * boundary
        if self.nan_at is not None and iteration == self.nan_at:
            total = total * float("nan")
        return {"total": total, "ce": ce, "boundary": boundary, "iou": iou, "p": 1.0}


class RandomClips(Dataset):
    """Random 3-frame samples (one or two moving squares), drawn from the global generators."""

    def __init__(self, length: int = 16, size: int = 16) -> None:
        self.length = length
        self.size = size
        self.max_skip = 5

    def __len__(self) -> int:
        return self.length

    def set_max_skip(self, max_skip: int) -> None:
        self.max_skip = int(max_skip)

    def __getitem__(self, index: int) -> dict[str, Any]:
        s = self.size
        rgb = torch.randn(3, 3, s, s) * 0.1
        gt = torch.zeros(3, 1, s, s)
        sec = torch.zeros(3, 1, s, s)
        two = random.random() < 0.5
        y, x = random.randrange(s // 2), random.randrange(s // 2)
        for t in range(3):
            dy = min(max(y + t * random.randint(-1, 1), 0), s // 2)
            gt[t, 0, dy : dy + s // 4, x : x + s // 4] = 1
            rgb[t, :, dy : dy + s // 4, x : x + s // 4] += 1.0
            if two:
                sec[t, 0, s - s // 4 :, s - s // 4 - t :] = 1
                sec[t] *= 1 - gt[t]
                rgb[t, 0] -= sec[t, 0]
        cls = (gt[:, 0] + 2 * sec[:, 0]).long()
        selector = torch.tensor([1.0, 1.0 if two else 0.0])
        return {
            "rgb": rgb,
            "gt": gt,
            "sec_gt": sec,
            "cls_gt": cls,
            "selector": selector,
            "info": {"name": f"clip{index}", "frames": ["0", "1", "2"]},
        }
