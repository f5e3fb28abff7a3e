"""Overfit test: the smoke GSFM learns one tiny synthetic clip (training + loss + inference end to end).

A disk and a box with their own colours move over noise for 6 frames (64×64). The smoke model
(random init, no pretrained weights) is trained with ``forward_train`` + ``GSFMLoss`` on
triplets of the clip, then the inference engine propagates the first frame's annotation through
the whole clip; J (IoU) of each object over frames 1..5 must exceed 0.9.
"""

from __future__ import annotations

import pytest
import torch

from gsfm.config import train_config
from gsfm.inference import InferenceEngine
from gsfm.losses import GSFMLoss
from gsfm.model import build_model


def make_clip(n: int = 6, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    frames = torch.randn(n, 3, size, size, generator=g) * 0.5
    ids = torch.zeros(n, size, size, dtype=torch.long)
    for t in range(n):
        disk = (yy - (20 + 3 * t)) ** 2 + (xx - (16 + 5 * t)) ** 2 < 10**2
        box = (yy >= 40) & (yy < 56) & (xx >= 44 - 3 * t) & (xx < 60 - 3 * t) & ~disk
        ids[t][disk], ids[t][box] = 1, 2
        frames[t][:, disk] += torch.tensor([1.5, -1.0, 0.5])[:, None]
        frames[t][:, box] += torch.tensor([-1.0, 1.0, 1.0])[:, None]
    return frames, ids


@pytest.mark.slow
def test_smoke_model_overfits_a_tiny_clip() -> None:
    torch.manual_seed(0)
    frames, ids = make_clip()
    model = build_model("gsfm", "smoke")
    loss_fn = GSFMLoss(train_config("smoke", start_warm=10**6, end_warm=10**6))  # plain CE
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [150], 0.1)
    triplets = [(0, 1, 2), (0, 2, 4), (1, 3, 5), (0, 3, 5), (2, 3, 4), (0, 4, 5)]
    model.train()
    for it in range(200):
        idx = list(triplets[it % len(triplets)])
        m = ids[idx][None]
        batch = {
            "rgb": frames[idx][None],
            "gt": (m == 1).float()[:, :, None],
            "sec_gt": (m == 2).float()[:, :, None],
            "cls_gt": m,
            "selector": torch.tensor([[1.0, 1.0]]),
        }
        loss = loss_fn(model(batch), batch, it)
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
        sched.step()
    assert float(loss["total"].detach()) < 0.5

    result = InferenceEngine(model).propagate(frames, ids[0])
    assert result.labels == [1, 2]
    pred = torch.from_numpy(result.masks[1:])
    for obj in (1, 2):
        p, g = pred == obj, ids[1:] == obj
        j = float((p & g).sum()) / float((p | g).sum())
        assert j > 0.9, f"object {obj}: J = {j:.3f}"
