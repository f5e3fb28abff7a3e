"""Checkers of notebook 03 (the memory network): references come from
:mod:`gsfm.model.memory`, :mod:`gsfm.losses` and :mod:`gsfm.config`, computed at check time."""

from __future__ import annotations

import math
from typing import Any

import torch

from gsfm.config import train_config
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import (
    as_array,
    as_number,
    as_numbers,
    call,
    close_to,
    is_close,
    mistake_hint,
)
from gsfm.losses import bootstrap_p, dice_loss
from gsfm.model.memory import affinity, softmax_memory, topk_softmax

AFFINITIES = [2.0, 1.0, 0.0, -1.0, 3.0]  # exercise 03.1: one query, five memory positions


@checker("03.1")
def top2_weights(answer: Any) -> str:
    """The five weights top-2 filtering gives the affinities S = [2, 1, 0, −1, 3]."""
    w = as_array(answer, (5,), "your weights")
    s = torch.tensor(AFFINITIES, dtype=torch.float64).view(1, 5, 1)
    ref = topk_softmax(s, 2)[0, :, 0].numpy()
    if is_close(w, ref, atol=2e-3):
        return "top-k keeps the two largest affinities and renormalises them"
    if is_close(w, softmax_memory(s)[0, :, 0].numpy(), atol=2e-3):
        raise NotYet("that is the full softmax: top-k gives weight to k positions only")
    kept = set(torch.topk(s[0, :, 0], 2).indices.tolist())
    if {i for i, v in enumerate(w) if v > 1e-6} != kept:
        raise NotYet("the weight sits on the wrong positions: which two affinities are largest?")
    if abs(w.sum() - 1) > 2e-3:
        raise NotYet("the kept weights should sum to 1: top-k renormalises over the kept entries")
    raise NotYet("right positions, wrong values: a softmax over the kept affinities only")


@checker("03.2")
def implement_l2_topk(fn: Any) -> str:
    """``fn(mk, qk, k)`` returns the top-k softmax weights (B, N, M) of the L2 affinity between
    memory keys ``mk`` (B, C_k, N) and query keys ``qk`` (B, C_k, M)."""
    gen = torch.Generator().manual_seed(3)
    for b, ck, n, m, k in ((1, 4, 12, 5, 3), (2, 16, 40, 30, 7), (2, 64, 50, 20, 20)):
        mk = torch.randn(b, ck, n, generator=gen, dtype=torch.float64)
        qk = torch.randn(b, ck, m, generator=gen, dtype=torch.float64)
        out = call(fn, mk.clone(), qk.clone(), k, name="your read")
        if not torch.is_tensor(out) or tuple(out.shape) != (b, n, m):
            shape = tuple(out.shape) if hasattr(out, "shape") else type(out).__name__
            raise NotYet(f"return weights of shape (B, N, M) = {(b, n, m)}, got {shape}")
        ref = topk_softmax(affinity(mk, qk, "l2"), k)
        if is_close(out, ref, rtol=1e-5, atol=1e-6):
            continue
        s = affinity(mk, qk, "l2")
        hint = mistake_hint(
            out.detach().double(),
            {
                "dot": (
                    lambda mk=mk, qk=qk, k=k: topk_softmax(affinity(mk, qk, "dot"), k),
                    "that is the dot-product affinity (STM's); STCN and GSFM use the L2 form",
                ),
                "scale": (
                    lambda s=s, ck=ck, k=k: topk_softmax(s * math.sqrt(ck), k),
                    "the scale is missing: the affinity is divided by √C_k",
                ),
                "dist": (
                    lambda mk=mk, qk=qk, k=k: topk_softmax(
                        -(torch.cdist(mk.transpose(1, 2), qk.transpose(1, 2)) ** 2), k
                    ),
                    "close: −‖k − q‖² ranks the same, but divide it by √C_k as the code does",
                ),
                "full": (
                    lambda s=s: softmax_memory(s),
                    "that is the full softmax: keep only the k largest affinities per query",
                ),
                "dim": (
                    lambda s=s, k=k: topk_softmax(s.transpose(1, 2), k).transpose(1, 2),
                    "the softmax and top-k run over the memory axis (dim 1): each query's "
                    "column sums to 1",
                ),
            },
            "your weights differ from gsfm's",
            rtol=1e-5,
            atol=1e-6,
        )
        raise NotYet(hint + f" (B={b}, C_k={ck}, N={n}, M={m}, k={k})")
    return "your L2 affinity with top-k equals gsfm.model.memory (affinity, topk_softmax)"


@checker("03.3")
def implement_dice(fn: Any) -> str:
    """``fn(p, t)`` returns the authors' Dice loss of probabilities ``p`` against a binary
    target ``t`` (one number over all elements)."""
    gen = torch.Generator().manual_seed(5)
    for shape in ((1, 1, 8, 8), (2, 1, 16, 24), (3, 40)):
        p = torch.rand(shape, generator=gen, dtype=torch.float64)
        t = (torch.rand(shape, generator=gen) < 0.2).double()
        out = call(fn, p.clone(), t.clone(), name="your Dice")
        out_v = as_number(out, "your Dice")
        ref = dice_loss(p, t).item()
        if abs(out_v - ref) < 1e-6:
            continue
        hint = mistake_hint(
            out_v,
            {
                "paper": (
                    lambda p=p, t=t: dice_loss(p, t, smooth=1.0, form="paper").item(),
                    "that is the paper's Eq. 3 (squares in the denominator): gsfm trains with "
                    "the authors' form (section 7)",
                ),
                "paper_eps": (
                    lambda p=p, t=t: dice_loss(p, t, smooth=1e-6, form="paper").item(),
                    "that is the paper's Eq. 3 as printed: gsfm trains with the authors' form",
                ),
                "nosmooth": (
                    lambda p=p, t=t: dice_loss(p, t, smooth=0.0).item(),
                    "the smoothing term of the authors' form is missing",
                ),
                "coeff": (
                    lambda ref=ref: 1 - ref,
                    "that is the Dice coefficient; the loss is 1 minus it",
                ),
            },
            "your Dice differs from gsfm.losses.dice_loss",
            rtol=0,
            atol=1e-6,
        )
        raise NotYet(hint + f" (shape {shape})")
    return "your Dice equals gsfm.losses.dice_loss (the authors' form)"


def perfect_dice(sharp: float, side: int = 100, boundary: int = 100) -> float:
    """The Dice loss of a prediction with the right shape and |logit| = ``sharp`` on a
    ``side``×``side`` frame whose target has ``boundary`` pixels (where they lie does not
    matter)."""
    t = torch.zeros(side * side, dtype=torch.float64)
    t[:boundary] = 1
    return dice_loss(torch.sigmoid(sharp * (2 * t - 1)), t).item()


@checker("03.4")
def dice_of_a_confident_prediction(answer: Any) -> str:
    """The Dice loss of a prediction with exactly the target's shape at |logit| = 4, on a
    100×100 frame with 100 boundary pixels."""
    value = as_number(answer, "your Dice loss")
    ref = perfect_dice(4.0)
    if value < 0.05:
        raise NotYet(
            "far too low: the shape is perfect, but p is not exactly 0 or 1. What does each of the "
            "background pixels add to the denominator?"
        )
    close_to(
        value,
        ref,
        0.01,
        "your Dice loss",
        "Sum p over the boundary pixels and over the background pixels separately.",
    )
    return (
        f"{ref:.3f}: the 9,900 background pixels each add σ(−4) ≈ 0.018 to Σp, about twice the "
        "boundary's Σt, so Dice punishes soft background and keeps pushing the logits apart"
    )


@checker("03.5")
def bootstrap_fractions(answer: Any) -> str:
    """p of the bootstrapped CE at iterations 2,999, 9,000 and 20,000 of the paper profile."""
    got = as_numbers(answer, 3, ("p at 2,999", "p at 9,000", "p at 20,000"))
    cfg = train_config("paper")
    for it, value in zip((2_999, 9_000, 20_000), got, strict=True):
        ref = bootstrap_p(it, cfg.start_warm, cfg.end_warm, cfg.top_p)
        close_to(
            value,
            ref,
            1e-3,
            f"p at iteration {it:,}",
            "Where is that iteration relative to start_warm and end_warm of train_config('paper')?",
        )
    return "plain CE before the warm-up, linear during it, the hardest 15 % after it"
