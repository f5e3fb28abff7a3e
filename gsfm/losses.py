"""Training losses of GSFM (paper §3.4, ``docs/paper_vs_code.md`` §4).

For every segmented frame t (1 and 2 of a 3-frame sample) and every sample j of the batch:

* **Bootstrapped cross-entropy** on the aggregated logits against ``cls_gt`` ∈ {0, 1, 2},
  over 3 channels if the sample has a second object (``selector[j, 1] > 0.5``), else the first
  2. Before ``start_warm`` it is the plain mean CE; afterwards only the hardest fraction ``p``
  of pixels counts, with ``p`` falling linearly from 1 to ``top_p`` (0.15) at ``end_warm``.
* **Boundary loss** (GSFM): target = 3×3 Laplacian (centre 8, neighbours −1, zero padding) of
  the GT mask, clamped at 0, thresholded at 0.1 — the 1-px inner boundary of the object;
  loss = BCE-with-logits + Dice (smooth 1). Two-object samples average the two objects
  (0.5·(…₁ + …₂)); one-object samples use object 1 only.

``loss_t = Σ_j (CE_j + 0.05·boundary_j) / B`` and ``total = Σ_t loss_t``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from gsfm.config import TrainConfig

__all__ = [
    "GSFMLoss",
    "bootstrap_p",
    "bootstrapped_ce",
    "logged_bootstrap_p",
    "logged_steps",
    "boundary_loss",
    "boundary_target",
    "dice_loss",
    "mask_iou",
]

_LAPLACIAN = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])


def bootstrap_p(iteration: int, start_warm: int, end_warm: int, top_p: float = 0.15) -> float:
    """Fraction of pixels the bootstrapped CE keeps at ``iteration`` (1.0 = plain CE)."""
    if iteration < start_warm:
        return 1.0
    if iteration >= end_warm:
        return top_p
    return top_p + (1.0 - top_p) * (end_warm - iteration) / (end_warm - start_warm)


def logged_bootstrap_p(
    logged_iterations: Sequence[int], start_warm: int, end_warm: int, top_p: float = 0.15
) -> list[float]:
    """What a run's log holds in its ``p`` column: the schedule averaged over each interval.

    The trainer logs p like the losses, as the mean over the steps of the row's interval
    (:func:`logged_steps`).
    """
    return [
        sum(bootstrap_p(i, start_warm, end_warm, top_p) for i in steps) / len(steps)
        for steps in logged_steps(logged_iterations)
    ]


def logged_steps(logged_iterations: Sequence[int]) -> list[range]:
    """The step indices each log row averages: the row at ``iteration`` k covers the steps
    (previous row's k) … k − 1 (a repeated k covers step k − 1 alone)."""
    out, prev = [], 0
    for it in map(int, logged_iterations):
        out.append(range(prev, it) or range(it - 1, it))
        prev = it
    return out


def bootstrapped_ce(logits: torch.Tensor, target: torch.Tensor, p: float) -> torch.Tensor:
    """Mean CE over the ``p`` fraction of pixels with the largest CE (all pixels if p >= 1)."""
    raw = F.cross_entropy(logits.float(), target, reduction="none").flatten()
    if p >= 1.0:
        return raw.mean()
    k = max(int(raw.numel() * p), 1)
    return torch.topk(raw, k, sorted=False).values.mean()


def boundary_target(mask: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Binary boundary map of masks (N, 1, H, W): Laplacian, clamp ≥ 0, > ``threshold``.

    On a binary mask this marks object pixels with at least one background 8-neighbour,
    including object pixels on the image border (zero padding). Soft masks work too.
    """
    kernel = _LAPLACIAN.to(device=mask.device, dtype=torch.float32).view(1, 1, 3, 3)
    edges = F.conv2d(mask.float(), kernel, padding=1).clamp(min=0)
    return (edges > threshold).float()


DICE_FORMS: tuple[str, ...] = ("code", "paper")


def dice_loss(
    prob: torch.Tensor, target: torch.Tensor, smooth: float = 1.0, form: str = "code"
) -> torch.Tensor:
    """Dice loss over all elements, in the authors' code's form or the paper's Eq. 3.

    ``"code"`` (default, as the authors train): ``1 − (2Σpt + s) / (Σp + Σt + s)``.
    ``"paper"``: ``1 − 2Σpt / (Σp² + Σt² + s)``, squares in the denominator and the smoothing
    (the paper's ε) there only. The two agree on binary maps up to the smoothing.
    """
    inter = (prob * target).sum()
    if form == "code":
        return 1 - (2 * inter + smooth) / (prob.sum() + target.sum() + smooth)
    if form == "paper":
        return 1 - 2 * inter / ((prob * prob).sum() + (target * target).sum() + smooth)
    raise ValueError(f"dice form must be one of {DICE_FORMS}, got {form!r}")


def boundary_loss(logits: torch.Tensor, target: torch.Tensor, dice: str = "code") -> torch.Tensor:
    """BCE-with-logits (mean) + Dice(sigmoid(logits), target) for one map (``dice``: its form)."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, target)
    return bce + dice_loss(torch.sigmoid(logits), target, form=dice)


def mask_iou(prob: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """IoU of (prob > 0.5) and (gt > 0.5) over the whole batch (logging only, no gradient)."""
    with torch.no_grad():
        pred, true = prob > 0.5, gt > 0.5
        inter = (pred & true).sum().float()
        union = (pred | true).sum().float()
        return (inter + 1e-6) / (union + 1e-6)


class GSFMLoss:
    """The total training loss; ``GSFMLoss(train_cfg)(out, batch, iteration)``.

    ``out`` is :meth:`gsfm.model.GSFMNet.forward_train`'s dict, ``batch`` the training batch.
    Returns ``total`` (differentiable), ``ce`` and ``boundary`` (detached, for logging: summed
    over frames, each divided by B; boundary unweighted, 0 when the model has no boundary
    branch), ``p`` (current top-p),
    ``iou`` (object 1, mean over frames) and the per-frame ``ce_t``, ``boundary_t``, ``iou_t``.
    """

    def __init__(self, train_cfg: TrainConfig) -> None:
        self.start_warm = train_cfg.start_warm
        self.end_warm = train_cfg.end_warm
        self.top_p = train_cfg.top_p
        self.boundary_weight = train_cfg.boundary_weight
        self.dice = train_cfg.dice

    def __call__(
        self, out: dict[str, torch.Tensor | None], batch: dict[str, torch.Tensor], iteration: int
    ) -> dict[str, torch.Tensor]:
        frames = sorted(int(k.split("_")[1]) for k in out if k.startswith("logits_"))
        if not frames:
            raise ValueError("model output has no 'logits_<t>' entries")
        p = bootstrap_p(iteration, self.start_warm, self.end_warm, self.top_p)
        sel = batch["selector"]
        b = sel.shape[0]
        two = [bool(sel[j, 1] > 0.5) for j in range(b)]
        device = out[f"logits_{frames[0]}"].device  # type: ignore[union-attr]
        zero = torch.zeros((), device=device)
        losses: dict[str, torch.Tensor] = {}
        total, ce_sum, bd_sum, ious = zero, zero, zero, []
        for t in frames:
            logits = out[f"logits_{t}"]
            edge = out.get(f"boundary_{t}")
            cls_gt = batch["cls_gt"][:, t]
            ce_t, bd_t = zero, zero
            for j in range(b):
                c = 3 if two[j] else 2
                ce_t = ce_t + bootstrapped_ce(logits[j : j + 1, :c], cls_gt[j : j + 1], p)
                if edge is not None:
                    tgt1 = boundary_target(batch["gt"][j : j + 1, t])
                    bd = boundary_loss(edge[j : j + 1, 0:1], tgt1, self.dice)
                    if two[j]:
                        tgt2 = boundary_target(batch["sec_gt"][j : j + 1, t])
                        bd = 0.5 * (bd + boundary_loss(edge[j : j + 1, 1:2], tgt2, self.dice))
                    bd_t = bd_t + bd
            ce_t, bd_t = ce_t / b, bd_t / b
            total = total + ce_t + self.boundary_weight * bd_t
            ce_sum, bd_sum = ce_sum + ce_t, bd_sum + bd_t
            iou_t = mask_iou(out[f"mask_{t}"][:, 0], batch["gt"][:, t, 0])  # type: ignore[index]
            ious.append(iou_t)
            losses[f"ce_{t}"], losses[f"boundary_{t}"] = ce_t.detach(), bd_t.detach()
            losses[f"iou_{t}"] = iou_t
        losses.update(
            total=total,
            ce=ce_sum.detach(),
            boundary=bd_sum.detach(),
            p=torch.tensor(p),
            iou=torch.stack(ious).mean(),
        )
        return losses
