"""Overfit test: the smoke GSFM learns one tiny synthetic clip (training + loss + inference end to end).

A disk and a box with their own colours move over noise for 6 frames (64×64). The smoke model
(random init, no pretrained weights) is trained with ``forward_train`` + ``GSFMLoss`` on
triplets of the clip until the loss, averaged over one pass of the 6 triplets, falls below
``LOSS_TARGET`` (at most ``MAX_STEPS`` steps); then the inference engine propagates the first
frame's annotation through the whole clip and J (IoU) of each object over frames 1..5 must
exceed ``J_MIN``.

Why a loss target and not a fixed step count: a trajectory of a few hundred Adam steps depends
on float rounding, which differs between CPUs (SIMD kernels), ``ATEN_CPU_CAPABILITY`` values
and thread counts. An earlier version (200 steps, J > 0.9) passed on one machine and failed on
another with J = 0.879. Stopping at a loss level makes the test ask "did it fit the clip", not
"did it follow one machine's trajectory". J_MIN leaves a margin below the J measured at the
stop under every capability and thread count (the values are in docs/reproducibility.md, "The overfit test";
rerun with ``make test-numerics``); copying the first mask scores far below it
(:func:`test_copying_the_first_mask_is_far_below_the_bar`), so the bar still shows tracking.
"""

from __future__ import annotations

import pytest
import torch

from gsfm.config import train_config
from gsfm.inference import InferenceEngine
from gsfm.losses import GSFMLoss
from gsfm.model import build_model

pytestmark = pytest.mark.numerics

TRIPLETS = [(0, 1, 2), (0, 2, 4), (1, 3, 5), (0, 3, 5), (2, 3, 4), (0, 4, 5)]
LOSS_TARGET = 0.09  # mean total loss over the last pass of the 6 triplets
MAX_STEPS = 900
LR_DROP = 150  # lr 1e-3, then 1e-4
J_MIN = 0.85


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


def jaccard_per_object(pred: torch.Tensor, gt: torch.Tensor) -> dict[int, float]:
    """J (IoU over all frames together) of objects 1 and 2."""
    out = {}
    for obj in (1, 2):
        p, g = pred == obj, gt == obj
        out[obj] = float((p & g).sum()) / float((p | g).sum())
    return out


def fit_clip(
    loss_target: float = LOSS_TARGET, max_steps: int = MAX_STEPS
) -> tuple[int, float, dict[int, float]]:
    """Train the smoke GSFM on the clip until the pass-mean loss < ``loss_target``.

    Returns (steps taken, that mean loss, J per object of the propagated frames 1..5).
    """
    torch.manual_seed(0)
    frames, ids = make_clip()
    model = build_model("gsfm", "smoke")
    loss_fn = GSFMLoss(train_config("smoke", start_warm=10**6, end_warm=10**6))  # plain CE
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [LR_DROP], 0.1)
    model.train()
    recent: list[float] = []
    mean = float("inf")
    it = 0
    while it < max_steps:
        idx = list(TRIPLETS[it % len(TRIPLETS)])
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
        it += 1
        recent = [*recent[-(len(TRIPLETS) - 1) :], float(loss["total"].detach())]
        mean = sum(recent) / len(recent)
        if it >= LR_DROP and it % len(TRIPLETS) == 0 and mean < loss_target:
            break
    result = InferenceEngine(model).propagate(frames, ids[0])
    assert result.labels == [1, 2]
    return it, mean, jaccard_per_object(torch.from_numpy(result.masks[1:]), ids[1:])


@pytest.mark.slow
def test_smoke_model_overfits_a_tiny_clip() -> None:
    steps, mean_loss, j = fit_clip()
    print(f"overfit: {steps} steps, pass-mean loss {mean_loss:.4f}, J {j}")
    assert mean_loss < LOSS_TARGET, f"loss {mean_loss:.3f} after {steps} steps"
    for obj, value in j.items():
        assert value > J_MIN, f"object {obj}: J = {value:.3f} after {steps} steps"


def test_copying_the_first_mask_is_far_below_the_bar() -> None:
    """The J_MIN bar is not reachable without tracking the motion."""
    _, ids = make_clip()
    copied = ids[0].expand_as(ids[1:])
    j = jaccard_per_object(copied, ids[1:])
    assert max(j.values()) < J_MIN - 0.3
