"""Checkers of notebook 04 (training and evaluation): references come from :mod:`gsfm.metrics`,
:mod:`gsfm.inference`, :mod:`gsfm.losses` and :mod:`gsfm.training.schedule` at check time."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gsfm.config import train_config
from gsfm.exercises import NotYet, checker
from gsfm.exercises._answers import as_number, as_numbers, call, close_to
from gsfm.inference import InferenceEngine, InferenceSettings
from gsfm.losses import bootstrapped_ce
from gsfm.metrics import jaccard, video_jf
from gsfm.model import build_model
from gsfm.training.schedule import lr_at


def _static_video(frames: int = 6, side: int = 48) -> np.ndarray:
    gt = np.zeros((frames, side, side), dtype=np.uint8)
    gt[:, 10:30, 12:36] = 1
    gt[:, 34:44, 4:14] = 2
    return gt


@checker("04.1")
def baselines_on_a_static_video(answer: Any) -> str:
    """(copy-first J&F, empty J&F), ×100, on a video whose annotation never changes."""
    copy_jf, empty_jf = as_numbers(answer, 2, ("copy-first J&F", "empty J&F"))
    gt = _static_video()
    ref_copy = 100 * video_jf(gt, np.repeat(gt[:1], len(gt), axis=0))
    ref_empty = 100 * video_jf(gt, np.zeros_like(gt))
    if max(copy_jf, empty_jf) <= 1 and ref_copy > 1:
        raise NotYet("give J&F ×100, as the notebook's tables do")
    close_to(
        copy_jf, ref_copy, 0.01, "copy-first's J&F", "What is the ground truth of every frame?"
    )
    close_to(
        empty_jf,
        ref_empty,
        0.01,
        "the empty baseline's J&F",
        "How much of an object does an empty mask overlap, and which boundary does it hit?",
    )
    return "copy-first is perfect on a static video: a benchmark must move its objects"


@checker("04.2")
def memorised_frames(answer: Any) -> str:
    """{3: [...], 5: [...]}: the frames a 10-frame clip puts into memory with mem_every 3, 5."""
    if not isinstance(answer, dict) or set(answer) != {3, 5}:
        raise NotYet("answer with a dict {3: [frame indices], 5: [frame indices]}")
    torch.manual_seed(0)
    net = build_model("gsfm", "smoke").eval()
    frames = torch.randn(10, 3, 16, 16)  # small: the schedule does not depend on the pixels
    first = np.zeros((16, 16), dtype=np.uint8)
    first[4:12, 4:12] = 1
    for every in (3, 5):
        try:
            got = sorted(int(t) for t in answer[every])
        except (TypeError, ValueError) as why:
            raise NotYet(f"answer[{every}] should be a list of frame indices") from why
        with torch.no_grad():
            ref = (
                InferenceEngine(net, InferenceSettings(mem_every=every))
                .propagate(frames, first)
                .memory_frames
            )
        if got != sorted(ref):
            extra = (
                "Careful with the last frame of the clip." if 9 in got else "Start from frame 0."
            )
            raise NotYet(f"not the frames memorised with mem_every={every}. {extra}")
    return "frame 0, then every mem_every-th frame, but never the last one (nothing follows it)"


@checker("04.3")
def implement_j(fn: Any) -> str:
    """``fn(pred, gt)`` returns J, the region similarity of two boolean (H, W) masks."""
    rng = np.random.default_rng(11)
    cases = [(rng.random((20, 30)) < 0.3, rng.random((20, 30)) < 0.4) for _ in range(3)]
    empty = np.zeros((12, 12), dtype=bool)
    full = np.ones((12, 12), dtype=bool)
    cases += [(empty, empty.copy()), (empty, full), (full, empty)]
    for pred, gt in cases:
        out = as_number(call(fn, pred.copy(), gt.copy(), name="your J"), "your J")
        ref = jaccard(pred, gt)
        if abs(out - ref) < 1e-9:
            continue
        if not pred.any() and not gt.any():
            raise NotYet(
                "both masks empty: read how gsfm.metrics.jaccard's docstring scores that frame"
            )
        if abs(out - 2 * ref / (1 + ref)) < 1e-9:
            raise NotYet("that is the Dice/F1 overlap 2|A∩B| / (|A| + |B|); J divides by the union")
        raise NotYet("your J differs from gsfm.metrics.jaccard on random masks")
    return "your J equals gsfm.metrics.jaccard, the empty-frame convention included"


@checker("04.4")
def loss_as_p_shrinks(answer: Any) -> str:
    """ "up", "down" or "same": the bootstrapped CE of fixed predictions as p goes 1 → 0.15."""
    if answer not in ("up", "down", "same"):
        raise NotYet('answer with one of "up", "down", "same"')
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (1, 32, 32), generator=gen)
    logits = 3 * torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float()
    logits = logits + 2 * torch.randn(logits.shape, generator=gen)
    ce = [bootstrapped_ce(logits, target, p).item() for p in (1.0, 0.5, 0.15)]
    ref = "up" if ce[0] < ce[1] < ce[2] else "down" if ce[0] > ce[1] > ce[2] else "same"
    if answer != ref:
        raise NotYet("not what happens: the CE with p < 1 is the mean over which pixels?")
    return "the mean over the hardest pixels is at least the mean over all: the loss rises"


@checker("04.5")
def learning_rate_at_25000(answer: Any) -> str:
    """The learning rate of the optimizer step of iteration 25,000, paper profile."""
    value = as_number(answer, "your learning rate")
    paper = train_config("paper")
    ref = lr_at(25_000, paper)
    if abs(value - paper.lr) < 1e-12:
        raise NotYet("that is the base rate: what happens at the step in lr_steps, and when?")
    if abs(value - ref) > 1e-3 * ref:
        raise NotYet(
            "not yet: read lr_steps and lr_gamma of train_config('paper') and lr_at's docstring"
        )
    return "the decay applies from iteration 25,000 on (MultiStepLR stepped once per iteration)"
