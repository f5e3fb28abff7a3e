"""The paper configurations against the authors' networks (``official_*_state_dict.tsv``).

Parameter counts: ``build_model("gsfm", "paper")`` has exactly the 67,041,861 parameters of the
authors' GSFM inference network and ``build_model("stcn", "paper")`` the 54,434,180 of STCN's
(eval / multi-object rows of the TSV headers). There is no difference to explain: GSFM's key
encoder carries the ~15.3k zero-initialised conv biases of the authors' ``mod_resnet``
(``key_conv_bias=True``), STCN's does not, and both value encoders carry them. Buffers (BN
running statistics) are not parameters and are not counted, as in the TSV totals.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from gsfm.checkpoint import load_model
from gsfm.inference import InferenceEngine
from gsfm.model import build_model, count_parameters

TOTALS = {"gsfm": (474, 67_041_861), "stcn": (405, 54_434_180)}  # tensors, parameters

# An independent statement of the renaming (authors' prefix -> ours), checked against ours.
RENAMES = {
    "key_encoder.res2.": "key_encoder.layer1.",
    "key_proj.key_proj.": "key_proj.",
    "value_encoder.fuser.attention.ChannelGate.": "value_encoder.fuser.cbam.channel_gate.",
    "value_encoder.fuser.attention.SpatialGate.spatial.conv.": "value_encoder.fuser.cbam.spatial_gate.conv.",
}


def ours(name: str) -> str:
    for theirs, mine in RENAMES.items():
        if name.startswith(theirs):
            return mine + name[len(theirs) :]
    return name


def theirs(name: str) -> str:
    for their, mine in RENAMES.items():
        if name.startswith(mine):
            return their + name[len(mine) :]
    return name


def reference_tsv(name: str) -> Path | None:
    """The TSV if this checkout can see it (tests/data or the shared reference folder)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "data", here.parent.parent / "shared" / "reference"):
        path = folder / f"official_{name}_state_dict.tsv"
        if path.is_file():
            return path
    return None


@pytest.fixture(scope="module", params=["gsfm", "stcn"])
def paper_model(request):
    torch.manual_seed(0)
    return request.param, build_model(request.param, "paper")


def test_parameter_and_tensor_counts_match_authors(paper_model) -> None:
    name, model = paper_model
    tensors, params = TOTALS[name]
    assert count_parameters(model) == params
    assert len(model.state_dict()) == tensors
    bias = sum(
        m.bias.numel()
        for m in model.key_encoder.modules()
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None
    )
    assert bias == (15_296 if name == "gsfm" else 0)


def test_names_and_shapes_match_reference_tsv(paper_model) -> None:
    name, model = paper_model
    path = reference_tsv(name)
    if path is None:
        pytest.skip("official_*_state_dict.tsv not available in this checkout")
    expected = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split("\t")
            expected[key] = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
    mine = {theirs(k): tuple(v.shape) for k, v in model.state_dict().items()}
    assert mine == expected
    header = path.read_text().splitlines()
    eval_row = next(h for h in header if h.startswith("# eval:"))
    assert f"{count_parameters(model)} parameters" in eval_row


def _random_official_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in model.state_dict().items():
        if value.dtype == torch.long:  # num_batches_tracked
            out[theirs(key)] = torch.tensor(7)
        elif "running_var" in key:
            out[theirs(key)] = torch.rand(value.shape, generator=g) + 0.5
        else:
            fan_in = math.prod(value.shape[1:]) if value.dim() > 1 else 64
            out[theirs(key)] = torch.randn(value.shape, generator=g) / math.sqrt(fan_in)
    return out


def _run(model, frames, ann):
    return InferenceEngine(model).propagate(frames, ann, return_probs=True)


@pytest.mark.slow
def test_authors_layout_gives_same_outputs_as_ours(tmp_path, paper_model) -> None:
    name, model = paper_model
    official = _random_official_state(model, seed=1)
    path = tmp_path / f"{name}_official.pth"
    torch.save(official, path)

    loaded = load_model(path)  # through the authors' layout
    assert loaded.config.lfm == ("low" if name == "gsfm" else "off")
    assert loaded.config.boundary == (name == "gsfm")
    reference = build_model(name, "paper").eval()
    reference.load_state_dict({ours(k): v for k, v in official.items()}, strict=True)

    g = torch.Generator().manual_seed(2)
    frames = torch.randn(4, 3, 48, 64, generator=g)
    ann = torch.zeros(48, 64, dtype=torch.long)
    ann[5:20, 8:30] = 1
    ann[25:45, 35:60] = 2
    a, b = _run(loaded, frames, ann), _run(reference, frames, ann)
    assert a.labels == b.labels == [1, 2]
    torch.testing.assert_close(torch.from_numpy(a.probs), torch.from_numpy(b.probs), rtol=0, atol=0)
    assert (a.masks == b.masks).all()


def test_stage0_four_channel_value_conv_is_padded_with_zeros(tmp_path) -> None:
    torch.manual_seed(0)
    model = build_model("stcn", "paper")
    official = {theirs(k): v.clone() for k, v in model.state_dict().items()}
    w4 = torch.randn(64, 4, 7, 7)
    official["value_encoder.conv1.weight"] = w4
    path = tmp_path / "stage0.pth"
    torch.save({f"module.{k}": v for k, v in official.items()}, path)  # DDP prefix too
    loaded = load_model(path)
    w = loaded.value_encoder.conv1.weight
    assert w.shape == (64, 5, 7, 7)
    torch.testing.assert_close(w[:, :4], w4)
    assert float(w[:, 4].detach().abs().sum()) == 0.0
