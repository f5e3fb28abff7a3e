"""Tests of gsfm.analysis.architecture and gsfm.viz.architecture (the paper's Fig. 2, traced)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gsfm.analysis.architecture import (  # noqa: E402
    GSFM_GROUPS,
    ArchitectureTrace,
    gsfm_group,
    gsfm_only_modules,
    trace_architecture,
)
from gsfm.model import build_model, count_parameters  # noqa: E402
from gsfm.viz.architecture import plot_architecture  # noqa: E402


@pytest.fixture(scope="module")
def paper_trace() -> ArchitectureTrace:
    """The paper's network at the 384² training crop (ResNet-50 once on the CPU, a few s)."""
    torch.manual_seed(0)
    return trace_architecture()


def test_paper_shapes_at_the_training_crop(paper_trace):
    t = paper_trace
    assert t.size == (384, 384) and t.frame == (3, 384, 384)
    assert t.memory_input == (5, 384, 384)  # image + this object's mask + the others' mask
    assert t.shape("key_encoder.layer1") == (256, 96, 96)  # f4
    assert t.shape("key_encoder.layer2") == (512, 48, 48)  # f8
    assert t.shape("key_encoder.layer3") == (1024, 24, 24)  # f16
    assert t.shape("lfm") == (1024, 24, 24)  # LFM keeps the shape
    assert t.shape("key_proj") == (64, 24, 24) and t.shape("key_comp") == (512, 24, 24)
    assert t.shape("value_encoder.layer3") == (256, 24, 24)
    assert t.shape("value_encoder") == (512, 24, 24) and t.readout == (512, 24, 24)
    assert t.modules["decoder.compress"].in_shape == (1024, 24, 24)  # [readout, key_comp]
    assert t.shape("decoder.up_16_8") == (256, 48, 48)
    assert t.shape("decoder.up_8_4") == (256, 96, 96)
    assert t.shape("decoder.hfm") == (256, 96, 96)
    assert t.shape("decoder.pred") == (1, 96, 96)
    assert t.modules["decoder"].out_shape == ((1, 384, 384), (1, 384, 384))  # mask, boundary


def test_gsfm_parts_are_exactly_lfm_hfm_and_the_boundary_branch(paper_trace):
    groups = paper_trace.groups()
    assert tuple(groups) == GSFM_GROUPS == ("LFM", "HFM", "boundary branch")
    assert groups["LFM"] == ["lfm"] and groups["HFM"] == ["decoder.hfm"]
    assert set(groups["boundary branch"]) == {
        f"decoder.{n}"
        for n in (
            "boundary_1",
            "boundary_2",
            "boundary_3",
            "mask_1",
            "fusion_1",
            "fusion_2",
            "predict_mask",
            "predict_boundary_1",
            "predict_boundary_2",
        )
    }
    # STCN's parts, e.g. the key encoder, the value encoder and STCN's own mask head
    for name in ("key_encoder.layer3", "value_encoder.fuser", "decoder.compress", "decoder.pred"):
        assert paper_trace.modules[name].group is None
    # parameters: the numbers of docs/paper_vs_code.md §1
    params = paper_trace.group_params()
    assert params == {"LFM": 8_392_704, "HFM": 525_312, "boundary branch": 3_674_369}
    assert paper_trace.extra_params == {"key_encoder conv biases": 15_296}
    total = sum(params.values()) + sum(paper_trace.extra_params.values())
    assert total == 67_041_861 - 54_434_180


def test_call_order_puts_boundary_1_before_the_hfm(paper_trace):
    order = paper_trace.order
    assert order("key_encoder.layer3") < order("lfm") < order("key_proj")
    assert order("decoder.boundary_1") < order("decoder.hfm") < order("decoder.mask_1")
    # the frequency modules apply their convs' weights functionally: listed, never called
    assert paper_trace.modules["lfm.conv1"].calls == 0
    assert paper_trace.modules["lfm"].calls == 1


def test_small_models_and_helpers():
    torch.manual_seed(0)
    smoke = build_model("gsfm", "smoke")
    stcn = build_model("stcn", "smoke")
    names = gsfm_only_modules(smoke, stcn)
    assert "lfm" in names and "decoder.hfm" in names and "key_encoder" not in names
    assert {gsfm_group(smoke, n) for n in names} == set(GSFM_GROUPS)
    with pytest.raises(ValueError, match="neither"):
        gsfm_group(smoke, "key_encoder.layer1")
    t = trace_architecture(smoke, (64, 96), reference=stcn)
    c16 = smoke.key_encoder.channels[2]
    assert t.shape("lfm") == (c16, 4, 6) and t.modules["decoder"].out_shape[0] == (1, 64, 96)
    counted = sum(t.group_params().values()) + sum(t.extra_params.values())
    assert counted == count_parameters(smoke) - count_parameters(stcn)
    no_boundary = build_model("gsfm", "smoke", boundary=False)
    groups = trace_architecture(no_boundary, (32, 32), reference=stcn).groups()
    assert set(groups) == {"LFM", "HFM"}
    with pytest.raises(ValueError, match="multiple of 16"):
        trace_architecture(smoke, (40, 40), reference=stcn)


def test_plot_architecture_writes_the_figure(tmp_path, paper_trace):
    plt.close("all")
    path = tmp_path / "sub" / "fig2_architecture.png"
    fig = plot_architecture(paper_trace, out_path=path)
    assert isinstance(fig, Figure) and path.is_file()
    assert mpimg.imread(path).shape[1] > 1000
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("1024×24×24" in t and "LFM" in t for t in texts)
    assert any("HFM" in t and "256×96×96" in t for t in texts)
    assert plt.get_fignums() == []
