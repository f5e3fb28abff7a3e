"""Memory read: affinity, (top-k) softmax over memory, readout (``docs/paper_vs_code.md`` §3).

Shapes: memory keys ``mk`` (B, CK, N) with N = T·h·w memory positions, query keys ``qk``
(B, CK, M) with M = h·w, memory values ``mv`` (B, K, CV, N) for K objects. The affinity is
(B, N, M): one column per query position, normalised over the memory axis (dim 1), and shared by
all K objects.

* ``"l2"`` (STCN / GSFM): ``S = (2·k·q − ‖k‖²) / √CK`` — the negative squared L2 distance up
  to ``‖q‖²``, which is constant over the softmax axis and therefore dropped.
* ``"dot"`` (STM): ``S = k·q / √CK``.

Training uses the full softmax; inference keeps the top-k entries per query position (k = 50
in GSFM, 20 in STCN) and gathers the k chosen memory values instead of multiplying by a dense
weight matrix that is zero almost everywhere. With ``chunk`` the query positions are processed in slices, so peak
memory is O(N · chunk) instead of O(N · M); every column is computed exactly as without
chunking, so the output is the same (up to float rounding of the matmul blocking).
"""

from __future__ import annotations

import math

import torch

from gsfm.config import AFFINITIES

__all__ = [
    "GATHER_ELEMENTS",
    "affinity",
    "gather_readout",
    "memory_weights",
    "read_memory",
    "softmax_memory",
    "topk_softmax",
    "topk_weights",
]


def affinity(mk: torch.Tensor, qk: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """Unnormalised affinity logits S (B, N, M) between memory keys and query keys."""
    if kind not in AFFINITIES:
        raise ValueError(f"affinity must be one of {AFFINITIES}, got {kind!r}")
    ck = mk.shape[1]  # mk (B, CK, N), qk (B, CK, M)
    ab = torch.bmm(mk.transpose(1, 2), qk)  # (B, N, M)
    if kind == "dot":
        return ab / math.sqrt(ck)
    a_sq = mk.pow(2).sum(dim=1).unsqueeze(2)  # (B, N, 1)
    return (2 * ab - a_sq) / math.sqrt(ck)


def softmax_memory(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the memory axis (dim 1), max-subtracted as in the authors' training code
    (``torch.softmax`` subtracts the max too: one fused operator)."""
    return torch.softmax(logits, dim=1)


def topk_weights(logits: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k largest logits per query column, softmaxed: weights and memory indices (B, k, M).

    The authors exponentiate the top-k values without subtracting the max; subtracting it
    (the top-1 value) gives the same weights and cannot overflow.
    """
    k = min(k, logits.shape[1])
    values, idx = torch.topk(logits, k=k, dim=1)
    w = (values - values[:, :1]).exp()
    return w / w.sum(dim=1, keepdim=True), idx


def topk_softmax(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits per query column, softmax them, zero everything else: the
    dense (B, N, M) form of :func:`topk_weights` (for analysis; the read gathers instead)."""
    w, idx = topk_weights(logits, k)
    return torch.zeros_like(logits).scatter_(1, idx, w)


def memory_weights(
    mk: torch.Tensor, qk: torch.Tensor, kind: str = "l2", top_k: int | None = None
) -> torch.Tensor:
    """Normalised affinity W (B, N, M): full softmax, or top-k softmax when ``top_k`` is set."""
    s = affinity(mk, qk, kind)
    return softmax_memory(s) if top_k is None else topk_softmax(s, top_k)


# elements of the gathered memory values (B, K, CV, k, columns) held at once by the top-k read
GATHER_ELEMENTS = 2**24


def gather_readout(mv: torch.Tensor, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Top-k readout (B, K, CV, M): per query column, the weighted sum of the k memory values
    that ``idx`` (B, k, M) picks, with weights ``w`` (B, k, M).

    Equal to ``mv @ W`` with the dense top-k W, without building W or multiplying by its
    zeros: O(K·CV·k·M) work instead of O(K·CV·N·M). The products are in ``mv``'s dtype and
    summed in float32. Query columns go in slices of at most :data:`GATHER_ELEMENTS` gathered
    values.
    """
    b, n_obj, cv, _ = mv.shape
    k, m = idx.shape[1:]
    step = max(1, GATHER_ELEMENTS // max(b * n_obj * cv * k, 1))
    w = w.to(mv.dtype)
    parts = []
    for start in range(0, m, step):
        ix, wx = idx[..., start : start + step], w[..., start : start + step]
        cols = ix.shape[-1]
        picked = mv.gather(3, ix.reshape(b, 1, 1, k * cols).expand(b, n_obj, cv, k * cols))
        picked = picked.view(b, n_obj, cv, k, cols) * wx.view(b, 1, 1, k, cols)
        parts.append(picked.sum(dim=3, dtype=torch.float32).to(mv.dtype))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _read(
    mk: torch.Tensor, mv: torch.Tensor, qk: torch.Tensor, kind: str, top_k: int | None
) -> torch.Tensor:
    """Readout of one slice of query columns: full softmax and a matmul, or a top-k gather."""
    s = affinity(mk, qk, kind)  # (B, N, M)
    if top_k is None:
        b, n_obj, cv, n = mv.shape
        # the K objects' values stacked along channels: one (B, K·CV, N) @ (B, N, M) product
        w = softmax_memory(s).to(mv.dtype)
        return torch.bmm(mv.reshape(b, n_obj * cv, n), w).view(b, n_obj, cv, w.shape[-1])
    w, idx = topk_weights(s, top_k)  # (B, k, M) each
    return gather_readout(mv, idx, w)


def read_memory(
    mk: torch.Tensor,
    mv: torch.Tensor,
    qk: torch.Tensor,
    *,
    kind: str = "l2",
    top_k: int | None = None,
    chunk: int | None = None,
) -> torch.Tensor:
    """Readout ``mv @ W`` for every object: (B, K, CV, M).

    Args:
        mk: memory keys (B, CK, N); mv: memory values (B, K, CV, N); qk: query keys (B, CK, M).
        kind: ``"l2"`` or ``"dot"``. top_k: None for the full softmax (training); with top-k
            the k chosen values are gathered (:func:`gather_readout`).
        chunk: if set, process at most this many query positions at a time (bounded memory).

    The affinity and its softmax are computed in the keys' dtype; the product with the values
    in the values' dtype (float32 keys with bfloat16 values: the engine's bf16 path).
    """
    if mk.dim() != 3 or qk.dim() != 3 or mv.dim() != 4:
        raise ValueError(
            f"expected mk (B,CK,N), mv (B,K,CV,N), qk (B,CK,M); got {tuple(mk.shape)}, "
            f"{tuple(mv.shape)}, {tuple(qk.shape)}"
        )
    if mk.shape[:2] != qk.shape[:2] or mv.shape[-1] != mk.shape[-1] or mv.shape[0] != mk.shape[0]:
        raise ValueError(
            f"memory/query shapes do not fit: mk {tuple(mk.shape)}, mv {tuple(mv.shape)}, "
            f"qk {tuple(qk.shape)}"
        )
    m = qk.shape[-1]
    if chunk is None or chunk >= m:
        return _read(mk, mv, qk, kind, top_k)
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of query positions, got {chunk}")
    out = mv.new_empty(*mv.shape[:3], m)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        out[..., start:stop] = _read(mk, mv, qk[..., start:stop], kind, top_k)
    return out
