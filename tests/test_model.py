"""Unit tests of the network's components (gsfm.model) on the smoke-sized model."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gsfm.model import GSFMNet, aggregate, aggregate_logits, build_model
from gsfm.model.attention import NonLocalBlock
from gsfm.model.decoder import DetailsAwareHead, STCNHead, build_decoder
from gsfm.model.encoders import KeyEncoder, ValueEncoder, add_conv_bias, build_resnet
from gsfm.model.memory import affinity, read_memory, softmax_memory, topk_softmax
from gsfm.model.modules import CBAM, FeatureFusionBlock, ResBlock, UpsampleBlock
from gsfm.spectral import FrequencyModule

# float results of torch kernels: rerun under other CPU capabilities (make test-numerics)
# `numerics` (rerun under ATEN_CPU_CAPABILITY=default by `make test`) marks only the tests
# whose float comparisons a kernel's rounding can move; the others check shapes, logic and
# errors, which no capability changes.


def make_batch(b: int = 2, t: int = 3, size: int = 64, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    gt = torch.zeros(b, t, 1, size, size)
    gt[..., 8:28, 8:28] = 1
    sec = torch.zeros_like(gt)
    sec[..., 36:60, 30:50] = 1
    return {
        "rgb": torch.randn(b, t, 3, size, size, generator=g),
        "gt": gt,
        "sec_gt": sec,
        "cls_gt": (gt[:, :, 0] + 2 * sec[:, :, 0]).long(),
        "selector": torch.tensor([[1.0, 1.0], [1.0, 0.0]])[:b],
    }


@pytest.fixture(scope="module")
def smoke_gsfm() -> GSFMNet:
    torch.manual_seed(0)
    return build_model("gsfm", "smoke")


# --- memory read -------------------------------------------------------------------------------


@pytest.mark.numerics
def test_l2_affinity_is_negative_squared_distance_up_to_query_norm() -> None:
    g = torch.Generator().manual_seed(1)
    mk, qk = torch.randn(2, 8, 10, generator=g), torch.randn(2, 8, 6, generator=g)
    s = affinity(mk, qk, "l2")
    dist2 = ((mk.unsqueeze(3) - qk.unsqueeze(2)) ** 2).sum(1)  # (B, N, M)
    expected = (-dist2 + (qk**2).sum(1, keepdim=True)) / math.sqrt(8)
    torch.testing.assert_close(s, expected, rtol=1e-5, atol=1e-5)
    # softmax over memory equals the softmax of the negative L2 distance
    torch.testing.assert_close(
        softmax_memory(s), torch.softmax(-dist2 / math.sqrt(8), dim=1), rtol=1e-5, atol=1e-6
    )


@pytest.mark.numerics
def test_dot_affinity_and_unknown_kind() -> None:
    mk, qk = torch.randn(1, 4, 5), torch.randn(1, 4, 3)
    torch.testing.assert_close(affinity(mk, qk, "dot"), mk.transpose(1, 2) @ qk / 2.0)
    with pytest.raises(ValueError, match="affinity"):
        affinity(mk, qk, "cosine")


@pytest.mark.numerics
def test_read_memory_matches_naive_loop() -> None:
    g = torch.Generator().manual_seed(2)
    b, k, ck, cv, n, m = 2, 3, 4, 5, 7, 6
    mk, qk = torch.randn(b, ck, n, generator=g), torch.randn(b, ck, m, generator=g)
    mv = torch.randn(b, k, cv, n, generator=g)
    out = read_memory(mk, mv, qk, kind="l2")
    naive = torch.empty(b, k, cv, m)
    for bi in range(b):
        for j in range(m):
            logits = torch.stack(
                [
                    (2 * mk[bi, :, i] @ qk[bi, :, j] - mk[bi, :, i] @ mk[bi, :, i]) / 2.0
                    for i in range(n)
                ]
            )
            w = torch.softmax(logits, 0)
            naive[bi, :, :, j] = (mv[bi] * w).sum(-1)
    torch.testing.assert_close(out, naive, rtol=1e-5, atol=1e-5)


@pytest.mark.numerics
def test_topk_softmax_keeps_k_entries_and_normalises() -> None:
    g = torch.Generator().manual_seed(3)
    s = torch.randn(2, 30, 9, generator=g) * 5
    w = topk_softmax(s, 4)
    assert ((w > 0).sum(1) == 4).all()
    torch.testing.assert_close(w.sum(1), torch.ones(2, 9))
    # the kept entries are the 4 largest, weighted as a softmax over them
    vals, idx = s.topk(4, dim=1)
    torch.testing.assert_close(w.gather(1, idx), torch.softmax(vals, 1))
    # k larger than the memory = full softmax
    torch.testing.assert_close(topk_softmax(s, 100), softmax_memory(s))


@pytest.mark.numerics
@pytest.mark.parametrize("top_k", [None, 5])
@pytest.mark.parametrize("kind", ["l2", "dot"])
def test_chunked_read_equals_unchunked(top_k: int | None, kind: str) -> None:
    g = torch.Generator().manual_seed(4)
    mk, qk = torch.randn(1, 8, 40, generator=g), torch.randn(1, 8, 23, generator=g)
    mv = torch.randn(1, 2, 6, 40, generator=g)
    full = read_memory(mk, mv, qk, kind=kind, top_k=top_k)
    for chunk in (1, 7, 23, 100):
        torch.testing.assert_close(
            read_memory(mk, mv, qk, kind=kind, top_k=top_k, chunk=chunk), full, rtol=1e-5, atol=1e-6
        )


def test_read_memory_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        read_memory(torch.randn(1, 4, 5), torch.randn(1, 2, 3, 6), torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="chunk"):
        read_memory(torch.randn(1, 4, 5), torch.randn(1, 2, 3, 5), torch.randn(1, 4, 2), chunk=0)


# --- soft aggregation --------------------------------------------------------------------------


@pytest.mark.numerics
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(0, 1000))
def test_aggregate_is_a_distribution_with_product_background(k: int, seed: int) -> None:
    prob = torch.rand(2, k, 5, 5, generator=torch.Generator().manual_seed(seed))
    p = aggregate(prob)
    assert p.shape == (2, k + 1, 5, 5)
    torch.testing.assert_close(p.sum(1), torch.ones(2, 5, 5))
    logits = aggregate_logits(prob)
    bg = torch.prod(1 - prob, 1).clamp(1e-7, 1 - 1e-7)
    torch.testing.assert_close(torch.sigmoid(logits[:, 0]), bg, rtol=1e-4, atol=1e-5)
    # object ranking is preserved: the argmax over objects is the most probable object
    obj = p[:, 1:].argmax(1)
    assert torch.equal(obj, prob.argmax(1))


@pytest.mark.numerics
def test_aggregate_single_certain_object() -> None:
    prob = torch.tensor([1.0, 0.0]).view(1, 1, 1, 2)
    p = aggregate(prob)
    assert p[0, 1, 0, 0] > 0.999 and p[0, 0, 0, 1] > 0.999


# --- building blocks ---------------------------------------------------------------------------


def test_resblock_skip() -> None:
    same, diff = ResBlock(8), ResBlock(8, 4)
    assert same.downsample is None and isinstance(diff.downsample, nn.Conv2d)
    x = torch.randn(1, 8, 6, 6)
    for conv in (same.conv1, same.conv2):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    torch.testing.assert_close(same(x), x)  # zero residual -> identity
    assert diff(x).shape == (1, 4, 6, 6)


def test_cbam_fusion_upsample_shapes() -> None:
    x = torch.randn(2, 32, 4, 4)
    cbam = CBAM(32)
    assert cbam.channel_gate.mlp[1].out_features == 2
    y = cbam(x)
    assert y.shape == x.shape
    assert (y.abs() <= x.abs() + 1e-6).all()  # gates are in (0, 1)
    fuse = FeatureFusionBlock(32 + 16, 24)
    assert fuse(x, torch.randn(2, 16, 4, 4)).shape == (2, 24, 4, 4)
    up = UpsampleBlock(8, 32, 12)
    assert up(torch.randn(2, 8, 8, 8), x).shape == (2, 12, 8, 8)


@pytest.mark.parametrize("boundary", [True, False])
@pytest.mark.parametrize("with_hfm", [True, False])
def test_decoder_shapes(boundary: bool, with_hfm: bool) -> None:
    hfm = FrequencyModule(16, band="high") if with_hfm else None
    dec = build_decoder(40, 12, 6, dim=16, boundary=boundary, hfm=hfm)
    x16, f8, f4 = torch.randn(3, 40, 4, 5), torch.randn(3, 12, 8, 10), torch.randn(3, 6, 16, 20)
    mask, edge = dec(x16, f8, f4)
    assert mask.shape == (3, 1, 64, 80)
    if boundary:
        assert edge is not None and edge.shape == (3, 1, 64, 80)
        assert hasattr(dec, "fusion_1") and dec.fusion_1.kernel_size == (1, 1)
    else:
        assert edge is None and not hasattr(dec, "boundary_1")


def test_hfm_acts_in_decoder() -> None:
    """The HFM is used: changing its weights changes the boundary and mask outputs."""
    torch.manual_seed(0)
    dec = DetailsAwareHead(8, 4, 4, dim=8, hfm=FrequencyModule(8, band="high"))
    args = (torch.randn(1, 8, 2, 2), torch.randn(1, 4, 4, 4), torch.randn(1, 4, 8, 8))
    m0, e0 = dec(*args)
    with torch.no_grad():
        dec.hfm.conv2.weight.add_(0.5)
    m1, e1 = dec(*args)
    assert not torch.allclose(e0, e1) and not torch.allclose(m0, m1)


@pytest.mark.numerics
def test_non_local_block_starts_as_identity_and_is_global() -> None:
    blk = NonLocalBlock(8)
    x = torch.randn(1, 8, 5, 5)
    torch.testing.assert_close(blk(x), x)
    nn.init.normal_(blk.out.weight)
    x2 = x.clone()
    x2[..., 0, 0] += 1.0  # a change at one corner reaches the opposite corner
    assert not torch.allclose(blk(x)[..., 4, 4], blk(x2)[..., 4, 4])


# --- encoders ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, channels", [("resnet18", (64, 128, 256)), ("resnet50", (256, 512, 1024))]
)
def test_key_encoder_channels_and_strides(name: str, channels: tuple[int, int, int]) -> None:
    enc = KeyEncoder(name).eval()
    assert enc.channels == channels
    with torch.no_grad():
        f16, f8, f4 = enc(torch.randn(1, 3, 32, 48))
    assert f16.shape == (1, channels[2], 2, 3)
    assert f8.shape == (1, channels[1], 4, 6)
    assert f4.shape == (1, channels[0], 8, 12)


@pytest.mark.numerics
def test_key_encoder_conv_bias_is_zero_trainable_and_keeps_weights() -> None:
    torch.manual_seed(0)
    plain = build_resnet("resnet18")
    biased = add_conv_bias(build_resnet("resnet18"))
    convs = [m for m in biased.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(c.bias is not None and c.bias.requires_grad for c in convs)
    assert all(float(c.bias.detach().abs().sum()) == 0 for c in convs)
    enc = KeyEncoder("resnet18", conv_bias=True)
    assert all(m.bias is not None for m in enc.modules() if isinstance(m, nn.Conv2d))
    assert all(m.bias is None for m in KeyEncoder("resnet18").modules() if isinstance(m, nn.Conv2d))
    # same weights, zero bias -> same function
    biased.load_state_dict(plain.state_dict(), strict=False)
    plain.eval()
    biased.eval()
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(biased(x), plain(x))


@pytest.mark.numerics
@pytest.mark.parametrize("freeze_bn", [False, True])
def test_key_conv_biases_learn_only_under_frozen_batch_norm(freeze_bn: bool) -> None:
    """Every key-encoder conv feeds a BatchNorm. Trained BN (the cpu profile) subtracts the
    batch mean, bias included, so the biases get no gradient beyond float noise: GSFM and
    STCN+LFM+HFM+boundary are then one network (the components study compares them). Frozen
    BN (the authors' setting) keeps them: there they are real parameters."""
    torch.manual_seed(0)
    net = build_model("gsfm", "smoke", freeze_bn=freeze_bn).train()
    feats = net.encode_key(torch.randn(2, 3, 64, 64))
    sum(v.square().mean() for v in feats if torch.is_tensor(v)).backward()
    convs = [m for m in net.key_encoder.modules() if isinstance(m, nn.Conv2d)]
    bias = torch.stack([c.bias.grad.abs().max() for c in convs])
    weight = torch.stack([c.weight.grad.abs().max() for c in convs])
    if freeze_bn:
        assert float(bias.min()) > 1e-3 * float(weight.min())
    else:
        assert float(bias.max()) < 1e-3 * float(weight.min())


@pytest.mark.numerics
def test_value_encoder_first_conv_extra_channels_orthogonal() -> None:
    torch.manual_seed(0)
    enc = ValueEncoder(key_f16_channels=16, value_dim=32)
    w = enc.conv1.weight
    assert w.shape == (64, 5, 7, 7) and enc.conv1.bias is not None
    extra = w[:, 3:].reshape(64, -1)  # (64, 98): orthogonal rows
    torch.testing.assert_close(extra @ extra.T, torch.eye(64), atol=1e-4, rtol=1e-4)
    enc.eval()
    out = enc(
        torch.randn(2, 3, 32, 32),
        torch.randn(2, 16, 2, 2),
        torch.rand(2, 1, 32, 32),
        torch.rand(2, 1, 32, 32),
    )
    assert out.shape == (2, 32, 2, 2)


def test_backbone_weight_file(tmp_path) -> None:
    net = build_resnet("resnet18")
    path = tmp_path / "r18.pth"
    torch.save(net.state_dict(), path)
    loaded = build_resnet("resnet18", path)
    torch.testing.assert_close(loaded.conv1.weight, net.conv1.weight)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        build_resnet("resnet18", tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="r18.pth"):
        build_resnet("resnet50", path)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pth"):
        build_resnet("resnet18", bad)
    with pytest.raises(ValueError, match="unknown backbone"):
        build_resnet("vgg16")


# --- the network -------------------------------------------------------------------------------


def test_build_model_configs() -> None:
    torch.manual_seed(0)
    stcn = build_model("stcn", "smoke")
    assert stcn.lfm is None and stcn.decoder.hfm is None and type(stcn.decoder) is STCNHead
    assert all(m.bias is None for m in stcn.key_encoder.modules() if isinstance(m, nn.Conv2d))
    assert stcn.config.top_k == 20 and stcn.config.mem_every == 5
    gsfm = build_model("gsfm", "smoke")
    assert isinstance(gsfm.lfm, FrequencyModule) and gsfm.lfm.band == "low"
    assert gsfm.lfm.channels == 256  # ResNet-18 layer3
    assert isinstance(gsfm.decoder.hfm, FrequencyModule) and gsfm.decoder.hfm.band == "high"
    assert gsfm.config.top_k == 50 and gsfm.config.mem_every == 3
    with pytest.raises(ValueError, match="unknown model"):
        build_model("stm", "smoke")
    with pytest.raises(ValueError, match="unknown model option"):
        build_model("gsfm", "smoke", nonsense=1)
    with pytest.raises(ValueError, match=r"unknown model option\(s\) \['config'\]"):
        build_model("gsfm", "smoke", config=gsfm.config)  # a ModelConfig: GSFMNet(config)


@pytest.mark.parametrize(
    "lfm, expected",
    [("low", "low"), ("high", "high"), ("all", "all"), ("attention", NonLocalBlock), ("off", None)],
)
def test_lfm_switch(lfm: str, expected) -> None:
    model = build_model("gsfm", "smoke", lfm=lfm)
    if expected is None:
        assert model.lfm is None
    elif isinstance(expected, str):
        assert isinstance(model.lfm, FrequencyModule) and model.lfm.band == expected
    else:
        assert isinstance(model.lfm, expected)


@pytest.mark.parametrize("hfm", ["high", "low", "all", "off"])
def test_hfm_switch_and_spectral_options(hfm: str) -> None:
    model = build_model("gsfm", "smoke", hfm=hfm, sigma=3.0, spectral_convs=1)
    if hfm == "off":
        assert model.decoder.hfm is None
    else:
        assert model.decoder.hfm.band == hfm and model.decoder.hfm.sigma == 3.0
        assert model.decoder.hfm.conv2 is None
    assert model.lfm.conv2 is None and model.lfm.sigma == 3.0


@pytest.mark.numerics
def test_lfm_output_feeds_key_value_and_fusion(smoke_gsfm: GSFMNet) -> None:
    """encode_key returns the LFM-processed f16 (used by key_proj, key_comp and the fuser)."""
    model = smoke_gsfm.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.encode_key(x)
        raw16, _, _ = model.key_encoder(x)
        filtered = model.lfm(raw16)
    torch.testing.assert_close(feats.f16, filtered)
    torch.testing.assert_close(feats.key, model.key_proj(filtered))
    torch.testing.assert_close(feats.value, model.key_comp(filtered))


def test_frozen_batchnorm(smoke_gsfm: GSFMNet) -> None:
    model = smoke_gsfm
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not bn.training for bn in bns)
    assert all(bn.weight.requires_grad for bn in bns)
    assert model.decoder.training  # everything else is in train mode
    before = bns[0].running_mean.clone()
    model.forward_train(make_batch())
    torch.testing.assert_close(bns[0].running_mean, before)


def test_trainable_batchnorm_option() -> None:
    """``freeze_bn=False`` (the cpu profile, random init) lets BN learn its statistics."""
    assert build_model("gsfm", "cpu").config.freeze_bn is False
    assert build_model("gsfm", "paper").config.freeze_bn is True
    torch.manual_seed(0)
    model = build_model("gsfm", "smoke", freeze_bn=False).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(bn.training for bn in bns)
    before = bns[0].running_mean.clone()
    model.forward_train(make_batch())
    assert not torch.allclose(bns[0].running_mean, before)
    model.eval()
    assert all(not bn.training for bn in bns)


@pytest.mark.numerics
def test_forward_train_outputs(smoke_gsfm: GSFMNet) -> None:
    model = smoke_gsfm.train()
    batch = make_batch()
    out = model.forward_train(batch)
    for t in (1, 2):
        assert out[f"logits_{t}"].shape == (2, 3, 64, 64)
        assert out[f"mask_{t}"].shape == (2, 2, 64, 64)
        assert out[f"boundary_{t}"].shape == (2, 2, 64, 64)
        # selector [1, 0]: no second object, zero boundary logits for it
        assert float(out[f"mask_{t}"][1, 1].detach().max()) < 1e-5
        assert float(out[f"boundary_{t}"][1, 1].detach().abs().max()) == 0.0
        probs = torch.softmax(out[f"logits_{t}"], 1)
        torch.testing.assert_close(probs[:, 1:], out[f"mask_{t}"])
    assert "logits_3" not in out


@pytest.mark.numerics
def test_frame1_value_uses_undetached_prediction(smoke_gsfm: GSFMNet) -> None:
    """Frame 1's value is encoded from its predicted soft mask, with gradients flowing."""
    model = smoke_gsfm.train()
    seen: list[torch.Tensor] = []
    hook = model.value_encoder.register_forward_pre_hook(lambda m, args: seen.append(args[2]))
    try:
        batch = make_batch()
        out = model.forward_train(batch)
    finally:
        hook.remove()
    assert len(seen) == 2  # frame 0 (GT) and frame 1 (prediction)
    gt_masks = torch.cat([batch["gt"][:, 0], batch["sec_gt"][:, 0]], 1).flatten(0, 1).unsqueeze(1)
    torch.testing.assert_close(seen[0], gt_masks)
    assert seen[1].requires_grad and seen[1].grad_fn is not None
    torch.testing.assert_close(seen[1], out["mask_1"].flatten(0, 1).unsqueeze(1))


def test_stcn_forward_has_no_boundary() -> None:
    torch.manual_seed(0)
    out = build_model("stcn", "smoke").forward_train(make_batch())
    assert out["boundary_1"] is None and out["boundary_2"] is None


@pytest.mark.parametrize("lfm", ["attention", "all"])
def test_forward_train_other_switches(lfm: str) -> None:
    torch.manual_seed(0)
    model = build_model("gsfm", "smoke", lfm=lfm, boundary=False, affinity="dot")
    out = model.forward_train(make_batch(b=1))
    assert out["logits_2"].shape == (1, 3, 64, 64) and out["boundary_2"] is None
    out["logits_2"].sum().backward()
    assert model.key_proj.weight.grad is not None


def test_bad_input_sizes(smoke_gsfm: GSFMNet) -> None:
    with pytest.raises(ValueError, match="multiple of 16"):
        smoke_gsfm.encode_key(torch.randn(1, 3, 40, 64))
    batch = make_batch()
    batch["gt"] = batch["gt"][..., :32]
    with pytest.raises(ValueError, match="do not fit"):
        smoke_gsfm.forward_train(batch)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("chunk", [None, 7])
def test_topk_read_gathers_what_the_dense_weights_multiply(dtype, chunk, monkeypatch) -> None:
    """read_memory with top-k (a gather of the k chosen values, in slices of query columns)
    equals ``values @ topk_softmax(affinity)`` (the dense product), values in float32 or
    bfloat16; the boundary slices of the gather (a tiny budget) change nothing."""
    from gsfm.model import memory

    g = torch.Generator().manual_seed(3)
    mk, qk = torch.randn(2, 8, 40, generator=g), torch.randn(2, 8, 30, generator=g)
    mv = torch.randn(2, 3, 5, 40, generator=g).to(dtype)
    dense = (mv.float() @ topk_softmax(affinity(mk, qk), 6).unsqueeze(1)).to(dtype)
    got = read_memory(mk, mv, qk, top_k=6, chunk=chunk)
    assert got.dtype == dtype and got.shape == (2, 3, 5, 30)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    torch.testing.assert_close(got.float(), dense.float(), **tol)
    monkeypatch.setattr(memory, "GATHER_ELEMENTS", 2 * 3 * 5 * 6 * 4)  # 4 columns per slice
    torch.testing.assert_close(read_memory(mk, mv, qk, top_k=6, chunk=chunk), got)


def test_masks_only_skips_the_boundary_logits_and_keeps_the_masks() -> None:
    from gsfm.model.decoder import DetailsAwareHead, masks_only

    torch.manual_seed(0)
    head = DetailsAwareHead(16, 8, 8, dim=8).eval()
    x16, f8, f4 = torch.randn(2, 16, 4, 4), torch.randn(2, 8, 8, 8), torch.randn(2, 8, 16, 16)
    mask, edge = head(x16, f8, f4)
    with masks_only(head):
        mask_only, none = head(x16, f8, f4)
    assert none is None and edge is not None
    torch.testing.assert_close(mask_only, mask, rtol=0, atol=0)
    assert head(x16, f8, f4)[1] is not None  # restored on exit


# --- the step's fewer operators: the same arithmetic as the textbook forms ---------------------


@pytest.mark.parametrize("training", [False, True])
def test_batchnorm2d_equals_torch_batchnorm_with_the_same_state(training: bool) -> None:
    from gsfm.model.modules import BatchNorm2d

    torch.manual_seed(0)
    ours, ref = BatchNorm2d(6), nn.BatchNorm2d(6)
    with torch.no_grad():
        ref.running_mean.uniform_(-1, 1)
        ref.running_var.uniform_(0.5, 2)
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict())  # the same keys
    ours.train(training)
    ref.train(training)
    x = torch.randn(3, 6, 5, 5)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    outs = [bn(xi) for bn, xi in zip((ours, ref), xs, strict=True)]
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-6, atol=1e-6)
    g = torch.randn_like(outs[0])
    for out in outs:
        out.backward(g)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.weight.grad, ref.weight.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)  # updated only in training


def test_backbones_keep_torchvision_state_dict_keys() -> None:
    import torchvision

    from gsfm.model.modules import BatchNorm2d

    net = build_resnet("resnet18")
    assert sum(isinstance(m, BatchNorm2d) for m in net.modules()) == 20
    assert list(net.state_dict()) == list(torchvision.models.resnet18(weights=None).state_dict())


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_aggregate_logits_equal_the_prod_clamp_log_form(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    prob = torch.rand(2, k, 6, 6, generator=g)
    if k:
        prob[0, 0, 0, 0], prob[0, -1, 0, 1] = 0.0, 1.0  # the clamps at both ends
    p1, p2 = prob.clone().requires_grad_(), prob.clone().requires_grad_()
    q = torch.cat([torch.prod(1 - p2, 1, keepdim=True), p2], 1).clamp(1e-7, 1 - 1e-7)
    ref = torch.log(q / (1 - q))
    out = aggregate_logits(p1)
    torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-5)
    g_out = torch.randn(out.shape, generator=g)
    out.backward(g_out)
    ref.backward(g_out)
    torch.testing.assert_close(p1.grad, p2.grad, rtol=1e-5, atol=1e-4)


def test_channel_gate_runs_its_mlp_once_for_both_poolings_with_the_same_result() -> None:
    from gsfm.model.modules import ChannelGate

    torch.manual_seed(0)
    gate = ChannelGate(32)
    x = torch.randn(3, 32, 5, 5)
    avg = gate.mlp(torch.nn.functional.adaptive_avg_pool2d(x, 1))
    mx = gate.mlp(torch.nn.functional.adaptive_max_pool2d(x, 1))
    expected = x * torch.sigmoid(avg + mx)[:, :, None, None]
    torch.testing.assert_close(gate(x), expected, rtol=1e-6, atol=1e-6)


def test_repeat_per_object_is_b_major() -> None:
    from gsfm.model.network import _repeat_per_object

    t = torch.randn(3, 4, 2, 5)
    out = _repeat_per_object(t, 2)
    assert torch.equal(out, t.unsqueeze(1).expand(3, 2, 4, 2, 5).flatten(0, 1))


@pytest.mark.parametrize("k", [0, 1, 3])
def test_full_softmax_read_is_one_product_for_any_number_of_objects(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    mk, qk = torch.randn(2, 4, 7, generator=g), torch.randn(2, 4, 6, generator=g)
    mv = torch.randn(2, k, 5, 7, generator=g)
    weights = torch.softmax(affinity(mk, qk), dim=1)  # (B, N, M)
    expected = mv @ weights.unsqueeze(1)  # broadcast over the K objects
    torch.testing.assert_close(read_memory(mk, mv, qk), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(softmax_memory(affinity(mk, qk)), weights)
