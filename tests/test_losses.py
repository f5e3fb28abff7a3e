"""Tests of gsfm.losses: bootstrapped CE schedule, boundary targets, Dice/BCE, the total loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gsfm.config import train_config
from gsfm.losses import (
    GSFMLoss,
    bootstrap_p,
    bootstrapped_ce,
    boundary_loss,
    boundary_target,
    dice_loss,
    logged_bootstrap_p,
)

# float results of torch kernels: rerun under other CPU capabilities (make test-numerics)
pytestmark = pytest.mark.numerics


def test_bootstrap_schedule() -> None:
    assert bootstrap_p(0, 3000, 15000) == 1.0
    assert bootstrap_p(2999, 3000, 15000) == 1.0
    assert bootstrap_p(3000, 3000, 15000) == pytest.approx(1.0)
    assert bootstrap_p(9000, 3000, 15000) == pytest.approx(0.15 + 0.85 * 0.5)
    assert bootstrap_p(15000, 3000, 15000) == pytest.approx(0.15)
    assert bootstrap_p(10**6, 3000, 15000) == pytest.approx(0.15)
    assert bootstrap_p(5, 5, 5) == pytest.approx(0.15)  # no warm-up span


def test_bootstrapped_ce_keeps_hardest_pixels() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1, 3, 8, 8, generator=g)
    target = torch.randint(0, 3, (1, 8, 8), generator=g)
    torch.testing.assert_close(
        bootstrapped_ce(logits, target, 1.0), F.cross_entropy(logits, target)
    )
    raw = F.cross_entropy(logits, target, reduction="none").flatten().sort(descending=True).values
    torch.testing.assert_close(bootstrapped_ce(logits, target, 0.25), raw[:16].mean())
    assert bootstrapped_ce(logits, target, 0.25) >= bootstrapped_ce(logits, target, 1.0)


def test_boundary_target_is_inner_one_pixel_ring() -> None:
    mask = torch.zeros(1, 1, 10, 10)
    mask[..., 2:7, 3:8] = 1
    tgt = boundary_target(mask)
    expected = mask.clone()
    expected[..., 3:6, 4:7] = 0  # the interior is not boundary
    torch.testing.assert_close(tgt, expected)
    # object pixels on the image border are boundary (zero padding)
    full = torch.ones(1, 1, 4, 4)
    tgt_full = boundary_target(full)
    assert tgt_full[0, 0, 0].sum() == 4 and tgt_full[0, 0, 1:3, 1:3].sum() == 0
    # thresholding at 0.1: a faint soft mask gives no boundary
    assert boundary_target(torch.full((1, 1, 5, 5), 0.01)).sum() == 0


def test_dice_and_boundary_loss() -> None:
    t = torch.zeros(1, 1, 6, 6)
    t[..., 2:4, 2:4] = 1
    assert float(dice_loss(t, t)) == pytest.approx(0.0, abs=1e-6)
    assert float(dice_loss(1 - t, t)) == pytest.approx(1 - 1 / (32 + 4 + 1))
    logits = torch.randn(1, 1, 6, 6)
    expected = F.binary_cross_entropy_with_logits(logits, t) + dice_loss(torch.sigmoid(logits), t)
    torch.testing.assert_close(boundary_loss(logits, t), expected)


def test_dice_paper_form_squares_the_denominator() -> None:
    """Eq. 3: 1 − 2Σpq / (Σp² + Σq² + ε); equal to the code's form on binary maps up to ε."""
    p = torch.tensor([0.5, 0.5, 0.0, 1.0])
    q = torch.tensor([1.0, 0.0, 0.0, 1.0])
    # 2Σpq = 3, Σp² = 1.5, Σq² = 2: 1 - 3 / 4.5 ; code: 1 - (3 + 1) / (2 + 2 + 1)
    assert float(dice_loss(p, q, form="paper", smooth=1.0)) == pytest.approx(1 - 3 / 4.5)
    assert float(dice_loss(p, q)) == pytest.approx(1 - 4 / 5)
    binary = (torch.arange(10) % 3 == 0).float()
    assert float(dice_loss(binary, binary, form="paper", smooth=0.0)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="dice form must be one of"):
        dice_loss(p, q, form="squared")
    with pytest.raises(ValueError, match="dice must be 'code' or 'paper'"):
        train_config("smoke", dice="eq3")
    logits = torch.randn(1, 1, 6, 6)
    t = (torch.rand(1, 1, 6, 6) > 0.5).float()
    ours = boundary_loss(logits, t, dice="paper")
    bce = F.binary_cross_entropy_with_logits(logits, t)
    torch.testing.assert_close(ours, bce + dice_loss(torch.sigmoid(logits), t, form="paper"))


def _batch_and_out(seed: int = 0, with_boundary: bool = True):
    g = torch.Generator().manual_seed(seed)
    b, h = 2, 16
    gt = torch.zeros(b, 3, 1, h, h)
    gt[..., 2:8, 2:8] = 1
    sec = torch.zeros_like(gt)
    sec[0, :, :, 9:14, 9:14] = 1  # sample 0 has two objects, sample 1 one
    batch = {
        "gt": gt,
        "sec_gt": sec,
        "cls_gt": (gt[:, :, 0] + 2 * sec[:, :, 0]).long(),
        "selector": torch.tensor([[1.0, 1.0], [1.0, 0.0]]),
    }
    out = {}
    for t in (1, 2):
        out[f"logits_{t}"] = torch.randn(b, 3, h, h, generator=g, requires_grad=True)
        out[f"mask_{t}"] = torch.softmax(out[f"logits_{t}"], 1)[:, 1:]
        out[f"boundary_{t}"] = (
            torch.randn(b, 2, h, h, generator=g, requires_grad=True) if with_boundary else None
        )
    return out, batch


def test_gsfm_loss_matches_manual_formula() -> None:
    out, batch = _batch_and_out()
    cfg = train_config("smoke", start_warm=10, end_warm=20)
    res = GSFMLoss(cfg)(out, batch, iteration=15)
    p = bootstrap_p(15, 10, 20)
    assert float(res["p"]) == pytest.approx(p)
    total = 0.0
    for t in (1, 2):
        lg, bd = out[f"logits_{t}"], out[f"boundary_{t}"]
        ce0 = bootstrapped_ce(lg[0:1, :3], batch["cls_gt"][0:1, t], p)
        ce1 = bootstrapped_ce(lg[1:2, :2], batch["cls_gt"][1:2, t], p)  # 2 channels only
        b0 = 0.5 * (
            boundary_loss(bd[0:1, 0:1], boundary_target(batch["gt"][0:1, t]))
            + boundary_loss(bd[0:1, 1:2], boundary_target(batch["sec_gt"][0:1, t]))
        )
        b1 = boundary_loss(bd[1:2, 0:1], boundary_target(batch["gt"][1:2, t]))
        total = total + (ce0 + 0.05 * b0 + ce1 + 0.05 * b1) / 2
    torch.testing.assert_close(res["total"], total)
    torch.testing.assert_close(res["total"], res["ce"] + 0.05 * res["boundary"])
    res["total"].backward()
    assert out["boundary_1"].grad is not None and out["logits_2"].grad is not None
    assert 0.0 <= float(res["iou"]) <= 1.0


def test_one_object_sample_ignores_third_channel() -> None:
    out, batch = _batch_and_out()
    loss = GSFMLoss(train_config("smoke"))
    base = loss(out, batch, 0)["ce"]
    with torch.no_grad():
        out["logits_1"][1, 2] += 100.0  # sample 1 has selector [1, 0]
    assert float(loss(out, batch, 0)["ce"]) == pytest.approx(float(base))
    with torch.no_grad():
        out["logits_1"][0, 2] += 100.0  # sample 0 has two objects: now it matters
    assert float(loss(out, batch, 0)["ce"]) > float(base) + 1.0


def test_no_boundary_branch_gives_zero_boundary_loss() -> None:
    out, batch = _batch_and_out(with_boundary=False)
    res = GSFMLoss(train_config("smoke"))(out, batch, 0)
    assert float(res["boundary"]) == 0.0
    torch.testing.assert_close(res["total"], res["ce"])


def test_perfect_prediction_has_high_iou_and_low_ce() -> None:
    out, batch = _batch_and_out()
    for t in (1, 2):
        onehot = F.one_hot(batch["cls_gt"][:, t], 3).permute(0, 3, 1, 2).float()
        out[f"logits_{t}"] = onehot * 40 - 20
        out[f"mask_{t}"] = torch.softmax(out[f"logits_{t}"], 1)[:, 1:]
    res = GSFMLoss(train_config("smoke"))(out, batch, 0)
    assert float(res["iou"]) == pytest.approx(1.0)
    assert float(res["ce"]) < 1e-6


def test_logged_bootstrap_p_is_the_interval_mean_of_the_schedule():
    # rows at 2, 4, 6 cover steps {0, 1}, {2, 3}, {4, 5}; the ramp runs from step 1 to step 5
    expected = [
        (bootstrap_p(0, 1, 5) + bootstrap_p(1, 1, 5)) / 2,
        (bootstrap_p(2, 1, 5) + bootstrap_p(3, 1, 5)) / 2,
        (bootstrap_p(4, 1, 5) + bootstrap_p(5, 1, 5)) / 2,
    ]
    assert logged_bootstrap_p([2, 4, 6], 1, 5) == pytest.approx(expected)
    assert expected[1] == pytest.approx(0.15 + 0.85 * (5 - 2.5) / 4)  # linear: value at 2.5
    every_step = logged_bootstrap_p(range(1, 8), 1, 5)  # log_every=1: the value at step k - 1
    assert every_step == pytest.approx([bootstrap_p(k - 1, 1, 5) for k in range(1, 8)])
