"""The twin pair's premise: GSFM and STCN+LFM+HFM+boundary, trained from their own draws
(design (a)), start from one distribution of weights, so their expected difference is 0."""

from __future__ import annotations

import torch

from gsfm.ablation.studies import STUDIES
from gsfm.model import build_model

SEEDS = range(6)


def _draws(label: str) -> dict[str, list[torch.Tensor]]:
    variant = {v.label: v for v in STUDIES["components"].variants}[label]
    out: dict[str, list[torch.Tensor]] = {}
    for seed in SEEDS:
        torch.manual_seed(seed)  # as the trainer seeds before it builds the network
        net = build_model(variant.model, "cpu", **dict(variant.overrides))
        for name, value in net.state_dict().items():
            out.setdefault(name, []).append(value.detach().clone())
    return out


def test_gsfm_and_its_twin_draw_every_common_tensor_from_one_distribution() -> None:
    gsfm, twin = _draws("GSFM"), _draws("+LFM+HFM+boundary")
    extra = set(gsfm) - set(twin)
    assert not set(twin) - set(gsfm)
    assert extra and all(k.startswith("key_encoder.") and k.endswith(".bias") for k in extra)
    assert all(float(torch.stack(gsfm[k]).abs().max()) == 0 for k in extra)  # zero biases
    differ = 0
    for name, draws in twin.items():
        a, b = torch.stack(gsfm[name]).double(), torch.stack(draws).double()
        assert a.shape == b.shape, name
        differ += int(not torch.equal(a[0], b[0]))
        if not a.is_floating_point() or a[0].numel() < 64:
            continue
        sa, sb, n = float(a.std()), float(b.std()), a.numel()
        # one init scheme: spread and centre agree within five standard errors of two samples
        # of n values (a different scheme, e.g. kaiming against uniform, moves the spread by
        # 70 %: far outside, even for the smallest tensors, where 5 / sqrt(n) is 26 %)
        scale = max(sa, sb) + 1e-12
        assert abs(sa - sb) <= 5 * scale / n**0.5, (name, sa, sb)
        assert abs(float(a.mean()) - float(b.mean())) <= 5 * scale * (2 / n) ** 0.5, name
    assert differ >= 50  # different draws (the biases shift every later one), one distribution
