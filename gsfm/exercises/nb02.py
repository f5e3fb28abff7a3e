"""Checkers of notebook 02 (LFM and HFM): references come from :mod:`gsfm.spectral`,
:mod:`gsfm.analysis.spectral` and the models, computed when the learner checks."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

import gsfm
from gsfm.analysis import spectral as sa
from gsfm.analysis.architecture import trace_architecture
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import as_number, as_numbers, call, close_to, is_close, mistake_hint
from gsfm.model import build_model, count_parameters

PIXEL, SIDE = (4, 5), 12  # exercise 02.1: output pixel (4, 5) of a 12×12 map


@checker("02.1")
def linear_receptive_field(answer: Any) -> str:
    """The set of input pixels (row, col) that output pixel (4, 5) of a 12×12 map sees through
    a frequency module with no filter (band "all") and no ReLU."""
    try:
        seen = {(int(r), int(c)) for r, c in answer}
    except (TypeError, ValueError) as why:
        raise NotYet("answer with a set of (row, col) pairs, e.g. {(0, 0), (1, 2)}") from why
    torch.manual_seed(0)
    probe = sa.without_relu(gsfm.FrequencyModule(4, band="all"))
    field = sa.receptive_field(probe, 4, (SIDE, SIDE), PIXEL)
    ref = {(int(r), int(c)) for r, c in np.argwhere(field > 1e-4 * field.max())}
    if seen == ref:
        return f"{len(ref)} pixels: the pixel itself and its mirror image"
    if len(seen) > len(ref):
        raise NotYet(
            f"{len(seen)} pixels is too many: without the ReLU the module is linear and mixes "
            "channels with the same weights at every frequency. What kernel does that make?"
        )
    if seen < ref:
        raise NotYet(
            "one pixel is missing: the convs mix the real and the imaginary parts of the "
            "spectrum, the transforms of the even and odd parts x(n) ± x(−n)"
        )
    raise NotYet("not those pixels: the map is 12×12, indices wrap around (circular)")


@checker("02.2")
def relative_sigma_at_480p(answer: Any) -> str:
    """(share of 30×54 bins where LFM's gain is below ½ with σ = 7 bins, the same with
    σ = 7/24 relative)."""
    bins, rel = as_numbers(answer, 2, ("σ = 7 bins", "σ = 7/24 relative"))
    if max(bins, rel) > 1:
        raise NotYet("give shares as fractions between 0 and 1, not percentages")
    ref_bins = sa.filter_stats(30, 54, 7.0, "bins")["share_high"]
    ref_rel = sa.filter_stats(30, 54, sa.training_relative_sigma(), "relative")["share_high"]
    if abs(bins - ref_rel) < 0.01 and abs(rel - ref_bins) < 0.01:
        raise NotYet("the two numbers are swapped")
    close_to(
        bins,
        ref_bins,
        0.01,
        "the share with σ = 7 bins",
        "Use the 30×54 map, not 24×24 (section 4's table has it).",
    )
    close_to(
        rel,
        ref_rel,
        0.01,
        "the share with relative σ",
        "Build gsfm.LFM(..., sigma_mode='relative') and count the gains below ½ of "
        "filter_for(30, 54, ...).",
    )
    train = sa.filter_stats(24, 24, 7.0)["share_high"]
    return f"relative σ keeps the training share ({train:.1%} on 24×24) at 480p; 7 bins does not"


@checker("02.3")
def implement_frequency_module(fn: Any) -> str:
    """``fn(x, module)`` computes a frequency module's output (Fig. 4, the authors' code) from
    the module's weights, for LFM and HFM."""
    gen = torch.Generator().manual_seed(7)
    for cls, c, (h, w) in ((gsfm.LFM, 3, (8, 8)), (gsfm.LFM, 5, (6, 10)), (gsfm.HFM, 4, (7, 9))):
        torch.manual_seed(c)
        module = cls(c, sigma=2.5)
        x = torch.randn(2, c, h, w, generator=gen)
        with torch.no_grad():
            ref = module(x)
            out = call(fn, x.clone(), module, name="your module")
        if not torch.is_tensor(out) or tuple(out.shape) != tuple(x.shape):
            shape = tuple(out.shape) if hasattr(out, "shape") else type(out).__name__
            raise NotYet(
                f"the output should be a tensor shaped like x {tuple(x.shape)}, got {shape}"
            )
        if is_close(out, ref, rtol=1e-4, atol=1e-4):
            continue
        unfiltered = copy.deepcopy(module)
        unfiltered.band = "all"
        with torch.no_grad():
            hint = mistake_hint(
                out.detach(),
                {
                    "residual": (
                        lambda m=module, x=x: m(x) - x,
                        "you return z only: the module is residual",
                    ),
                    "relu": (
                        lambda m=module, x=x: sa.without_relu(m)(x),
                        "the ReLU between the two convs is missing",
                    ),
                    "filter": (
                        lambda m=unfiltered, x=x: m(x),
                        "the band filter is missing (module.filter_for gives it)",
                    ),
                },
                "your output differs from the module's",
                rtol=1e-4,
                atol=1e-4,
            )
        raise NotYet(hint + f" ({cls.__name__}({c}) on a {h}×{w} map)")
    return "your steps reproduce gsfm.LFM and gsfm.HFM on odd, even and non-square maps"


def _module_feeding_hfm() -> str:
    """The decoder module whose output is the HFM's input, found by hooks on a smoke model."""
    model = build_model("gsfm", "smoke").eval()
    produced: list[tuple[str, Any]] = []  # the tensors themselves: ids of freed ones recur
    fed: list[Any] = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, o, n=name: produced.append((n, o)))
        for name, m in model.decoder.named_modules()
        if name and not name.startswith("hfm")
    ]
    hooks.append(model.decoder.hfm.register_forward_pre_hook(lambda _m, i: fed.append(i[0])))
    try:
        trace_architecture(model, size=(64, 64), reference=build_model("stcn", "smoke"))
    finally:
        for h in hooks:
            h.remove()
    return next(n for n, o in reversed(produced) if o is fed[0])


@checker("02.4")
def what_feeds_the_hfm(answer: Any) -> str:
    """(name of the decoder module right before the HFM, parameters GSFM adds to STCN at the
    paper profile)."""
    if isinstance(answer, str) or not isinstance(answer, list | tuple) or len(answer) != 2:
        raise NotYet("answer with two values: (module name, number of parameters)")
    name, added = str(answer[0]).removeprefix("decoder."), as_number(answer[1], "the count")
    if name != _module_feeding_hfm():
        raise NotYet(
            "that is not the module whose output the HFM filters: read the traced figure "
            "(the decoder's boundary branch) and docs/paper_vs_code.md §1.5"
        )
    ref = count_parameters(build_model("gsfm", "paper")) - count_parameters(
        build_model("stcn", "paper")
    )
    if added != ref:
        raise NotYet(
            f"the module is right; the parameter count is {'too high' if added > ref else 'too low'}: "
            "count GSFM's three groups and the key encoder's conv biases (print of section 7's trace)"
        )
    return "a 3×3 conv the paper's text does not mention feeds the HFM; the count is exact"
