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


def bootstrapped_ce(
    logits: torch.Tensor, target: torch.Tensor, p: float, per_sample: bool = False
) -> torch.Tensor:
    """Mean CE over the ``p`` fraction of pixels with the largest CE (all pixels if p >= 1).

    ``per_sample``: one value per sample (B,), each over that sample's own pixels (a batched
    top-k), instead of one value over the whole batch.
    """
    raw = F.cross_entropy(logits.float(), target, reduction="none")
    raw = raw.flatten(1) if per_sample else raw.flatten()
    if p >= 1.0:
        return raw.mean(dim=-1)
    k = max(int(raw.shape[-1] * p), 1)
    return torch.topk(raw, k, dim=-1, sorted=False).values.mean(dim=-1)


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
    prob: torch.Tensor,
    target: torch.Tensor,
    smooth: float = 1.0,
    form: str = "code",
    per_sample: bool = False,
) -> torch.Tensor:
    """Dice loss over all elements, in the authors' code's form or the paper's Eq. 3.

    ``"code"`` (default, as the authors train): ``1 − (2Σpt + s) / (Σp + Σt + s)``.
    ``"paper"``: ``1 − 2Σpt / (Σp² + Σt² + s)``, squares in the denominator and the smoothing
    (the paper's ε) there only. The two agree on binary maps up to the smoothing.
    ``per_sample``: one value per sample (sums over all but the first dimension).
    """

    def total(x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1).sum(dim=1) if per_sample else x.sum()

    inter = total(prob * target)
    if form == "code":
        return 1 - (2 * inter + smooth) / (total(prob) + total(target) + smooth)
    if form == "paper":
        return 1 - 2 * inter / (total(prob * prob) + total(target * target) + smooth)
    raise ValueError(f"dice form must be one of {DICE_FORMS}, got {form!r}")


def boundary_loss(
    logits: torch.Tensor, target: torch.Tensor, dice: str = "code", per_sample: bool = False
) -> torch.Tensor:
    """BCE-with-logits (mean) + Dice(sigmoid(logits), target) for one map (``dice``: its form).

    ``per_sample``: one value per sample (B,), each the loss of that sample's own map.
    """
    logits = logits.float()
    if per_sample:
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        bce = bce.flatten(1).mean(dim=1)
    else:
        bce = F.binary_cross_entropy_with_logits(logits, target)
    return bce + dice_loss(torch.sigmoid(logits), target, form=dice, per_sample=per_sample)


def mask_iou(prob: torch.Tensor, gt: torch.Tensor, per_item: bool = False) -> torch.Tensor:
    """IoU of (prob > 0.5) and (gt > 0.5) over the whole batch (logging only, no gradient);
    ``per_item``: one IoU per entry of the first dimension (e.g. per frame of stacked maps)."""
    with torch.no_grad():
        pred, true = prob > 0.5, gt > 0.5
        if per_item:
            inter = (pred & true).flatten(1).sum(dim=1).float()
            union = (pred | true).flatten(1).sum(dim=1).float()
        else:
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
        device = out[f"logits_{frames[0]}"].device  # type: ignore[union-attr]
        # which samples have a second object, as a tensor: no host sync, one code path
        two = batch["selector"][:, 1].to(device) > 0.5  # (B,)
        b, n = two.shape[0], len(frames)
        two_all = two.repeat(n)  # the frames stacked along the batch: (n·B,)
        # every per-sample term of every frame in one call each, then summed per frame
        logits = torch.cat([out[f"logits_{t}"] for t in frames])  # type: ignore[misc]
        cls_gt = torch.cat([batch["cls_gt"][:, t] for t in frames])
        ce = bootstrapped_ce(_drop_absent_object(logits, two_all), cls_gt, p, per_sample=True)
        ce_t = ce.view(n, b).sum(dim=1) / b  # (n,)
        edges = [out.get(f"boundary_{t}") for t in frames]
        if any(e is None for e in edges):
            bd_t = torch.zeros(n, device=device)
        else:
            bd = self._boundary(torch.cat(edges), batch, frames, two_all)  # type: ignore[arg-type]
            bd_t = bd.view(n, b).sum(dim=1) / b
        pred = torch.stack([out[f"mask_{t}"][:, 0] for t in frames])  # type: ignore[index]
        iou_t = mask_iou(pred, torch.stack([batch["gt"][:, t, 0] for t in frames]), True)
        # the frames' terms summed as one (n,) vector each: a few operators for any n
        total = (ce_t + self.boundary_weight * bd_t).sum()
        ce_d, bd_d = ce_t.detach(), bd_t.detach()
        losses: dict[str, torch.Tensor] = {}
        for t, ce_f, bd_f, iou_f in zip(
            frames, ce_d.unbind(), bd_d.unbind(), iou_t.unbind(), strict=True
        ):
            losses[f"ce_{t}"], losses[f"boundary_{t}"], losses[f"iou_{t}"] = ce_f, bd_f, iou_f
        losses.update(
            total=total,
            ce=ce_d.sum(),
            boundary=bd_d.sum(),
            p=torch.full((), p, device=device),
            iou=iou_t.mean(),
        )
        return losses

    def _boundary(
        self,
        edge: torch.Tensor,
        batch: dict[str, torch.Tensor],
        frames: list[int],
        two: torch.Tensor,
    ) -> torch.Tensor:
        """Boundary loss per sample (n·B,) of the frames stacked along the batch: object 1's,
        or the mean of both objects' where the sample has a second one."""
        masks = [batch["gt"][:, t] for t in frames]
        if edge.shape[1] >= 2:
            masks = [
                torch.cat([m, batch["sec_gt"][:, t]], dim=1)
                for m, t in zip(masks, frames, strict=True)
            ]
        else:
            edge = edge[:, :1]
        k = edge.shape[1]
        target = boundary_target(torch.cat(masks).flatten(0, 1).unsqueeze(1))
        per_map = boundary_loss(edge.flatten(0, 1).unsqueeze(1), target, self.dice, True)
        per_map = per_map.view(-1, k)  # (n·B, objects)
        if k == 1:
            return per_map[:, 0]
        return torch.where(two, 0.5 * (per_map[:, 0] + per_map[:, 1]), per_map[:, 0])


def _drop_absent_object(logits: torch.Tensor, two: torch.Tensor) -> torch.Tensor:
    """Logits (B, C, H, W) with channel 2 set to −inf where a sample has no second object, so
    that its CE is over the first two channels only (exp(−inf) = 0 adds nothing to the
    softmax's sum)."""
    logits = logits[:, :3].float()
    if logits.shape[1] < 3:
        return logits
    absent = ~two.view(-1, 1, 1, 1) & (torch.arange(3, device=logits.device) == 2).view(1, 3, 1, 1)
    return logits.masked_fill(absent, float("-inf"))
