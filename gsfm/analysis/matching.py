"""Which memory pixels a query pixel matches (the paper's Fig. 1, "matching confusion").

The memory read (paper §3.4, Eq. 4) gives every query position i a distribution over the
memory positions j: the softmax (top-k at inference) of the L2 affinity
``(2·k_j·q_i − ‖k_j‖²) / √C_k`` between the query key and the memory keys, computed on the
stride-16 key grid. :func:`match_pixel` returns that distribution for the key-grid cell that
holds one query pixel; :func:`matching_shares` sums, for every query cell on the target, how
much of it lands on the target, on its lookalikes and elsewhere in the memory frames, and
:func:`query_pixel_shares` does the same over every target pixel of several query frames (each
pixel reads with its cell's key). A model that confuses lookalikes with the target puts weight
on the lookalikes (Fig. 1 b); :mod:`gsfm.analysis.lookalike_shares` measures it over videos,
models and seeds.

:func:`lookalike_masks` re-renders a synthetic video with its unannotated lookalikes labelled,
so that the shares can be measured on the benchmark's "lookalike" videos.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from gsfm.data.synthetic import get_version, render_frames
from gsfm.inference import Pads, pad_to_multiple, unpad
from gsfm.model.memory import affinity, softmax_memory, topk_softmax

__all__ = [
    "FrameKeys",
    "PixelMatches",
    "cell_coverage",
    "frame_keys",
    "lookalike_masks",
    "match_models",
    "match_pixel",
    "matching_shares",
    "pick_query_point",
    "query_pixel_shares",
]

STRIDE = 16  # the key grid is at 1/16 of the (padded) frame


@dataclass(frozen=True)
class PixelMatches:
    """The readout weights of one query position over the memory frames.

    point: the query pixel (y, x) in the frame; cell: its (row, col) on the key grid of the
    padded frame; weights / logits: (T, h, w) over the T memory frames (weights sum to 1);
    pads: the padding (left, right, top, bottom) that made the frame a multiple of 16.
    """

    query_frame: int
    point: tuple[int, int]
    cell: tuple[int, int]
    memory_frames: tuple[int, ...]
    weights: np.ndarray
    logits: np.ndarray
    top_k: int | None
    pads: Pads

    def weight_map(self) -> np.ndarray:
        """(T, H, W) weights painted back onto the frame's pixels (each cell its weight)."""
        w = torch.from_numpy(self.weights).repeat_interleave(STRIDE, 1).repeat_interleave(STRIDE, 2)
        return unpad(w, self.pads).numpy()

    def share_on(self, masks: np.ndarray) -> float:
        """Share of the weight on the key cells covered by ``masks`` (T, H, W) (by area)."""
        cover = cell_coverage(masks, self.pads)
        if cover.shape != self.weights.shape:
            raise ValueError(
                f"masks give a key grid of {cover.shape} but the weights are {self.weights.shape}"
            )
        return float((cover * self.weights).sum())


def cell_coverage(masks: np.ndarray, pads: Pads) -> np.ndarray:
    """Fraction of each 16x16 key cell covered by ``masks`` (T, H, W) after padding: (T, h, w)."""
    m = torch.as_tensor(np.asarray(masks, dtype=np.float32))
    if m.dim() != 3:
        raise ValueError(f"masks must be (T, H, W), got shape {tuple(m.shape)}")
    m = F.pad(m, pads)
    return F.avg_pool2d(m.unsqueeze(1), STRIDE).squeeze(1).numpy()


FrameKeys = tuple[dict[int, torch.Tensor], Pads]


@torch.no_grad()
def frame_keys(model: Any, frames: torch.Tensor, indices: Sequence[int] | None = None) -> FrameKeys:
    """Keys {frame index: (C_k, h, w)} of the frames ``indices`` (default: all) of a video's
    normalised frames (T, 3, H, W), padded to multiples of 16; and the padding."""
    if frames.dim() != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be (T, 3, H, W), got shape {tuple(frames.shape)}")
    indices = range(len(frames)) if indices is None else sorted({int(t) for t in indices})
    bad = [t for t in indices if not 0 <= t < len(frames)]
    if bad:
        raise ValueError(f"frame indices {bad} outside the {len(frames)}-frame video")
    model.eval()
    device = next(model.parameters()).device
    keys: dict[int, torch.Tensor] = {}
    pads: Pads = (0, 0, 0, 0)
    for t in indices:
        x, pads = pad_to_multiple(frames[t : t + 1].to(device, torch.float32))
        keys[t] = model.encode_key(x).key[0].float().cpu()
    return keys, pads


def _keys_of(
    model: Any, frames: torch.Tensor, needed: Sequence[int], keys: FrameKeys | None
) -> FrameKeys:
    """Keys of the ``needed`` frames: taken from ``keys`` or encoded now (only those frames)."""
    if keys is None:
        return frame_keys(model, frames, needed)
    missing = sorted({int(t) for t in needed} - set(keys[0]))
    if missing:
        raise ValueError(f"keys of frames {missing} were not computed (frame_keys indices)")
    return keys


def _weights(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    return softmax_memory(logits) if top_k is None else topk_softmax(logits, top_k)


def _resolve_top_k(model: Any, top_k: int | None | Literal["config"]) -> int | None:
    k = model.config.top_k if top_k == "config" else top_k
    if k is not None and k < 1:
        raise ValueError(f"top_k must be positive or None, got {k}")
    return k


def match_pixel(
    model: Any,
    frames: torch.Tensor,
    query_frame: int,
    point: tuple[int, int],
    memory_frames: Sequence[int] = (0,),
    *,
    top_k: int | None | Literal["config"] = "config",
    keys: FrameKeys | None = None,
) -> PixelMatches:
    """The memory positions that the query pixel ``point`` = (y, x) of ``query_frame`` reads.

    frames: a video's normalised frames (T, 3, H, W). ``top_k``: entries kept per query
    position (``"config"``: the model's inference default, None: the full softmax of
    training). ``keys``: the output of :func:`frame_keys` for ``frames``, to reuse it.
    """
    n, _, h, w = frames.shape
    y, x = (int(v) for v in point)
    if not (0 <= y < h and 0 <= x < w):
        raise ValueError(f"query point {point} is outside the {h}x{w} frame")
    mem = tuple(int(t) for t in memory_frames)
    bad = [t for t in (query_frame, *mem) if not 0 <= t < n]
    if bad or not mem:
        raise ValueError(
            f"frame indices {bad or 'none'} are not valid memory/query frames of a {n}-frame video"
        )
    k = _resolve_top_k(model, top_k)
    key, pads = _keys_of(model, frames, (query_frame, *mem), keys)
    cell = ((y + pads[2]) // STRIDE, (x + pads[0]) // STRIDE)
    q = key[query_frame][:, cell[0], cell[1]].reshape(1, -1, 1)  # (1, C_k, 1)
    mk = torch.stack([key[t] for t in mem])  # (T, C_k, hk, wk)
    t, ck, hk, wk = mk.shape
    mk_flat = mk.permute(1, 0, 2, 3).reshape(1, ck, t * hk * wk)  # memory axis: frame-major
    logits = affinity(mk_flat, q, model.config.affinity)  # (1, N, 1)
    weights = _weights(logits, k)
    return PixelMatches(
        query_frame=int(query_frame),
        point=(y, x),
        cell=cell,
        memory_frames=mem,
        weights=weights.reshape(t, hk, wk).numpy(),
        logits=logits.reshape(t, hk, wk).numpy(),
        top_k=k,
        pads=pads,
    )


def match_models(
    models: Mapping[str, Any],
    frames: torch.Tensor,
    query_frame: int,
    point: tuple[int, int],
    memory_frames: Sequence[int] = (0,),
    *,
    top_k: int | None | Literal["config"] = "config",
    keys: Mapping[str, FrameKeys] | None = None,
) -> dict[str, PixelMatches]:
    """:func:`match_pixel` for several models ({label: model}) at the same query pixel.

    ``keys``: {label: :func:`frame_keys` output} to reuse (the pixel picker redraws from them
    without running the encoders again); a label missing from it is encoded now.
    """
    if not models:
        raise ValueError("no models to match with")
    keys = keys or {}
    return {
        label: match_pixel(
            model, frames, query_frame, point, memory_frames, top_k=top_k, keys=keys.get(label)
        )
        for label, model in models.items()
    }


def _weights_on(
    model: Any,
    key: dict[int, torch.Tensor],
    tgt_cov: np.ndarray,
    dis_cov: np.ndarray,
    query_frame: int,
    mem: Sequence[int],
    query_cells: np.ndarray,
    k: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """For each selected key cell of ``query_frame`` (``query_cells``: bool over its h·w cells),
    the share of its readout weight on the target and on the distractors of the memory frames."""
    ck = key[query_frame].shape[0]
    mk = torch.stack([key[t] for t in mem]).permute(1, 0, 2, 3).reshape(1, ck, -1)
    qk = key[query_frame].reshape(1, ck, -1)[:, :, torch.from_numpy(query_cells)]
    w = _weights(affinity(mk, qk, model.config.affinity), k)[0].numpy()  # (N, M)
    return tgt_cov[list(mem)].reshape(-1) @ w, dis_cov[list(mem)].reshape(-1) @ w


def matching_shares(
    model: Any,
    frames: torch.Tensor,
    target: np.ndarray,
    distractors: np.ndarray,
    query_frame: int,
    memory_frames: Sequence[int] = (0,),
    *,
    top_k: int | None | Literal["config"] = "config",
    keys: FrameKeys | None = None,
    min_coverage: float = 0.5,
) -> dict[str, float]:
    """Where the readout weight of the target's query cells goes, averaged over those cells.

    target, distractors: (T, H, W) boolean masks of the whole video (the target object and its
    lookalikes). Query cells: key cells of ``query_frame`` at least ``min_coverage`` covered by
    the target (for a target smaller than that, its best-covered cell). Returns the mean shares ``target``, ``distractors`` and ``rest`` (they sum to
    1) and ``n_query_cells``.
    """
    k = _resolve_top_k(model, top_k)
    mem = [int(t) for t in memory_frames]
    key, pads = _keys_of(model, frames, (query_frame, *mem), keys)
    tgt_cov = cell_coverage(target, pads)
    dis_cov = cell_coverage(distractors, pads)
    cover_q = tgt_cov[query_frame].reshape(-1)
    if cover_q.max() <= 0:
        raise ValueError(f"the target is not visible in query frame {query_frame}")
    query_cells = cover_q >= min(min_coverage, float(cover_q.max()))
    on_target, on_distractors = _weights_on(
        model, key, tgt_cov, dis_cov, query_frame, mem, query_cells, k
    )
    return {
        "target": float(on_target.mean()),
        "distractors": float(on_distractors.mean()),
        "rest": float(1.0 - on_target.mean() - on_distractors.mean()),
        "n_query_cells": int(query_cells.sum()),
    }


def query_pixel_shares(
    model: Any,
    frames: torch.Tensor,
    target: np.ndarray,
    distractors: np.ndarray,
    query_frames: Sequence[int],
    memory_frames: Sequence[int] = (0,),
    *,
    top_k: int | None | Literal["config"] = "config",
    keys: FrameKeys | None = None,
) -> dict[str, float]:
    """Where the readout weight goes, averaged over **every target pixel** of ``query_frames``.

    A query pixel reads with the key of its 16x16 cell, so each key cell of a query frame counts
    as many times as it holds target pixels (the mean over cells weighted by target coverage);
    query frames where the target is not visible add nothing. target, distractors: (T, H, W)
    boolean masks of the whole video; a memory pixel counts for the target / the distractors
    by the share of its key cell they cover. Returns the mean shares ``target``,
    ``distractors`` and ``rest`` (they sum to 1), ``query_pixels`` and ``query_frames`` (those
    with the target visible).
    """
    k = _resolve_top_k(model, top_k)
    mem = [int(t) for t in memory_frames]
    queries = [int(t) for t in query_frames]
    key, pads = _keys_of(model, frames, (*queries, *mem), keys)
    tgt_cov = cell_coverage(target, pads)
    dis_cov = cell_coverage(distractors, pads)
    total = on_t = on_d = 0.0
    used = 0
    for q in queries:
        cover = tgt_cov[q].reshape(-1)
        cells = cover > 0
        if not cells.any():
            continue
        t_share, d_share = _weights_on(model, key, tgt_cov, dis_cov, q, mem, cells, k)
        weight = cover[cells]  # target pixels per cell / 256
        total += float(weight.sum())
        on_t += float(weight @ t_share)
        on_d += float(weight @ d_share)
        used += 1
    if total <= 0:
        raise ValueError(f"the target is visible in none of the query frames {queries}")
    pixels = int(round(sum(np.asarray(target[q], bool).sum() for q in queries)))
    return {
        "target": on_t / total,
        "distractors": on_d / total,
        "rest": 1.0 - (on_t + on_d) / total,
        "query_pixels": pixels,
        "query_frames": used,
    }


def pick_query_point(mask: np.ndarray, pads: Pads = (0, 0, 0, 0)) -> tuple[int, int]:
    """A query pixel (y, x) well inside ``mask`` (H, W): the centre of the key cell with the
    largest coverage, ties broken by the distance to the mask's centroid (deterministic)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise ValueError("the mask is empty: no query pixel to pick")
    cover = cell_coverage(mask[None], pads)[0]
    ys, xs = np.nonzero(mask)
    cy, cx = ys.mean() + pads[2], xs.mean() + pads[0]
    rows, cols = np.indices(cover.shape)
    centres_y, centres_x = rows * STRIDE + STRIDE / 2, cols * STRIDE + STRIDE / 2
    dist = np.hypot(centres_y - cy, centres_x - cx)
    order = np.lexsort((dist.ravel(), -cover.ravel()))
    r, c = np.unravel_index(order[0], cover.shape)
    h, w = mask.shape
    y = int(np.clip(r * STRIDE + STRIDE // 2 - pads[2], 0, h - 1))
    x = int(np.clip(c * STRIDE + STRIDE // 2 - pads[0], 0, w - 1))
    if not mask[y, x]:  # the cell centre can miss a thin shape: take the nearest mask pixel
        i = int(np.argmin(np.hypot(ys - y, xs - x)))
        y, x = int(ys[i]), int(xs[i])
    return y, x


def lookalike_masks(
    video: Any, target: int = 1, frames: Sequence[int] | None = None, version: str = "v1"
) -> np.ndarray:
    """(T, H, W) bool: the visible pixels of the lookalikes of object ``target`` in a
    :class:`gsfm.data.synthetic.SyntheticVideo` (they are background in its annotations).

    The scene is rendered again with the lookalikes given labels; occlusion by depth order is
    the same as in the video's frames.
    """
    spec = video.spec
    objs = []
    ids = []
    for i, o in enumerate(spec.objects):
        if o.role == "lookalike" and o.imitates == target:
            label = 200 + i
            ids.append(label)
            objs.append(replace(o, label=label))
        else:
            objs.append(o)
    t_all, h, w = video.masks.shape
    frames = list(range(t_all)) if frames is None else list(frames)
    if not ids:
        return np.zeros((len(frames), h, w), dtype=bool)
    canonical = get_version(version).canonical
    _, labels, _ = render_frames(replace(spec, objects=objs), frames, h, w, canonical)
    return np.isin(labels, ids)
