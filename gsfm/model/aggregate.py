"""Soft aggregation of per-object probabilities (STM style, ``docs/paper_vs_code.md`` §3).

Each object k has its own sigmoid probability p_k from the decoder. They are merged into one
distribution over {background, 1..K}:

    p_bg = Π_k (1 − p_k);  q = clamp([p_bg, p_1..p_K], 1e-7, 1 − 1e-7);
    logits = log(q / (1 − q));  probabilities = softmax(logits) over the K+1 channels.

Training takes the logits (for the cross-entropy); inference takes the probabilities.
"""

from __future__ import annotations

import torch

__all__ = ["EPS", "aggregate", "aggregate_logits"]

EPS = 1e-7


def aggregate_logits(prob: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Logits over background + K objects from per-object probabilities along ``dim``.

    ``prob`` (…, K, …) in [0, 1] → (…, K+1, …), channel 0 the background. Computed in float32.
    """
    prob = prob.float()  # (…, K, …)
    # Π_k (1 − p_k) as K − 1 products: the same value as torch.prod, whose backward for
    # K = 2 costs some twenty operators (zero checks, cumulative products) against two
    rest = 1 - prob
    n_obj = prob.shape[dim]
    if n_obj == 0:  # no object: all background (the empty product)
        shape = list(prob.shape)
        shape[dim] = 1
        bg = prob.new_ones(shape)
    else:
        bg = rest.narrow(dim, 0, 1)
    for k in range(1, n_obj):
        bg = bg * rest.narrow(dim, k, 1)
    q = torch.cat([bg, prob], dim=dim)  # (…, K+1, …)
    return torch.logit(q, eps=EPS)  # log(q / (1 − q)) of q clamped to [EPS, 1 − EPS]


def aggregate(prob: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Probabilities over background + K objects (softmax of :func:`aggregate_logits`)."""
    return torch.softmax(aggregate_logits(prob, dim), dim=dim)
