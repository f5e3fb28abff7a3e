"""The twin pair's premise: GSFM and STCN+LFM+HFM+boundary, trained from their own draws
(design (a)), start from one distribution of weights, so their expected difference is 0."""

from __future__ import annotations

import pytest
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


def _trained_looking_gsfm() -> torch.nn.Module:
    """A smoke GSFM whose key-encoder conv biases and BatchNorm statistics are nonzero."""
    torch.manual_seed(0)
    net = build_model("gsfm", "smoke").eval()
    state = net.state_dict()
    for name, value in state.items():
        if name.startswith("key_encoder.") and name.endswith((".bias", ".running_mean")):
            value.copy_(torch.randn_like(value) * 0.1)
        elif name.startswith("key_encoder.") and name.endswith(".running_var"):
            value.copy_(torch.rand_like(value) + 0.5)
    net.load_state_dict(state)
    return net


def test_a_gsfm_state_folded_is_its_twins_state_with_the_same_outputs() -> None:
    """GSFM with trained-looking conv biases and BatchNorm statistics, folded into the twin's
    architecture (no key-encoder conv biases): the same eval-mode key features."""
    from gsfm.model.encoders import fold_conv_biases

    net = _trained_looking_gsfm()
    state = net.state_dict()
    twin = build_model("stcn", "smoke", lfm="low", hfm="high", boundary=True).eval()
    folded = fold_conv_biases(state)
    twin.load_state_dict(folded)  # strict: exactly the twin's tensors
    assert len(state) - len(folded) == len([m for m in net.key_encoder.modules()
                                            if isinstance(m, torch.nn.Conv2d)])  # fmt: skip
    x = torch.rand(2, 3, 64, 112)
    with torch.no_grad():
        for a, b in zip(net.key_encoder(x), twin.key_encoder(x), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        unfolded = build_model("stcn", "smoke", lfm="low", hfm="high", boundary=True).eval()
        unfolded.load_state_dict({k: v for k, v in state.items() if k in folded})
        drift = (net.key_encoder(x)[0] - unfolded.key_encoder(x)[0]).abs().max()
    assert float(drift) > 1e-3  # dropping the biases without the fold would change the output
    broken = {k: v for k, v in state.items() if k != "key_encoder.bn1.running_mean"}
    with pytest.raises(ValueError, match=r"key_encoder\.conv1\.bias: no BatchNorm running mean"):
        fold_conv_biases(broken)
