"""The GSFM network; STCN is the same class with the GSFM additions switched off (paper §3, Fig. 2).

Data flow for one query frame (``docs/paper_vs_code.md`` §1–3):

1. **Key encoder** (ResNet to layer3) → f16, f8, f4. **LFM** filters f16 (paper §3.2); the
   filtered f16 feeds the key projection, key_comp and the value encoder's fusion block.
2. **Key projection** (3×3 conv → ``key_dim`` = 64, orthogonal init) gives the key;
   **key_comp** (3×3 conv → ``value_dim`` = 512) gives the query's own features.
3. **Memory read**: L2 affinity between query and memory keys, softmax over memory (top-k at
   inference), readout of the memory values — per object, one shared affinity.
4. **Decoder**: [readout, key_comp] + skips f8, f4 → mask logits (and boundary logits with the
   details-aware head with HFM, paper §3.3), upsampled to full resolution.
5. **Soft aggregation** merges the K objects' probabilities (``gsfm.model.aggregate``).
6. **Value encoder**: (image, own mask, other objects' mask) + f16 → memory value.

Switches (``gsfm.config.ModelConfig``): ``lfm`` ∈ {low, high, all, attention, off},
``hfm`` ∈ {high, low, all, off}, ``boundary``, ``sigma``, ``spectral_convs``, ``affinity``
∈ {l2, dot}. STCN = ``lfm="off", hfm="off", boundary=False, key_conv_bias=False``.

BatchNorm is frozen: :meth:`GSFMNet.train` keeps every BatchNorm layer in eval mode (running
statistics), as the authors' training does; the affine parameters still train.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from gsfm.config import ModelConfig, model_config
from gsfm.model.aggregate import aggregate_logits
from gsfm.model.attention import NonLocalBlock
from gsfm.model.decoder import build_decoder
from gsfm.model.encoders import KeyEncoder, ValueEncoder
from gsfm.model.memory import read_memory
from gsfm.spectral import FrequencyModule

__all__ = ["GSFMNet", "KeyFeatures", "build_model", "count_parameters"]


class KeyFeatures(NamedTuple):
    """What :meth:`GSFMNet.encode_key` returns for N frames.

    key (N, CK, h, w); value = key_comp output (N, CV, h, w); f16 after LFM (N, C16, h, w);
    f8 (N, C8, 2h, 2w); f4 (N, C4, 4h, 4w) — h, w = H/16, W/16.
    """

    key: torch.Tensor
    value: torch.Tensor
    f16: torch.Tensor
    f8: torch.Tensor
    f4: torch.Tensor

    def select(self, index: Any) -> KeyFeatures:
        """Index every field along dim 0 (e.g. one frame of a batch)."""
        return KeyFeatures(*(t[index] for t in self))


def _repeat_per_object(t: torch.Tensor, k: int) -> torch.Tensor:
    """(B, C, ...) → (B·K, C, ...): the same frame features for each of K objects (b-major
    order). One ``repeat`` along the channels viewed as K entries: two operators forward
    where unsqueeze-expand-flatten takes four."""
    b, c = t.shape[:2]
    return t.repeat(1, k, *(1,) * (t.dim() - 2)).view(b * k, c, *t.shape[2:])


def _cat_last(parts: list[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(parts, -1)``, without a copy when there is one part."""
    return parts[0] if len(parts) == 1 else torch.cat(parts, -1)


def _frequency_module(channels: int, band: str, cfg: ModelConfig) -> FrequencyModule:
    return FrequencyModule(
        channels,
        band=band,  # type: ignore[arg-type]
        sigma=cfg.sigma,
        sigma_mode=cfg.sigma_mode,  # type: ignore[arg-type]
        convs=cfg.spectral_convs,
        fast=cfg.spectral_fast,
    )


class GSFMNet(nn.Module):
    """GSFM / STCN network. Build it with :func:`build_model`; ``model.config`` holds its config."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        cfg = config
        self.key_encoder = KeyEncoder(cfg.key_encoder, cfg.key_encoder_weights, cfg.key_conv_bias)
        c4, c8, c16 = self.key_encoder.channels

        # LFM (or an alternative) on f16, encoder side
        self.lfm: nn.Module | None
        if cfg.lfm == "off":
            self.lfm = None
        elif cfg.lfm == "attention":
            self.lfm = NonLocalBlock(c16)
        else:
            self.lfm = _frequency_module(c16, cfg.lfm, cfg)

        self.key_proj = nn.Conv2d(c16, cfg.key_dim, kernel_size=3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight)
        nn.init.zeros_(self.key_proj.bias)
        self.key_comp = nn.Conv2d(c16, cfg.value_dim, kernel_size=3, padding=1)

        self.value_encoder = ValueEncoder(
            c16, cfg.value_dim, cfg.value_encoder, cfg.value_encoder_weights
        )
        hfm = None if cfg.hfm == "off" else _frequency_module(cfg.decoder_dim, cfg.hfm, cfg)
        self.decoder = build_decoder(2 * cfg.value_dim, c8, c4, cfg.decoder_dim, cfg.boundary, hfm)

    # --- frozen BatchNorm -----------------------------------------------------------------
    def train(self, mode: bool = True) -> GSFMNet:
        """Set train/eval mode; with ``config.freeze_bn`` (the authors' setting) every
        BatchNorm stays in eval mode (frozen running statistics, affine still trained)."""
        super().train(mode)
        if self.config.freeze_bn:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    # --- the pieces -----------------------------------------------------------------------
    def encode_key(self, frames: torch.Tensor) -> KeyFeatures:
        """Key-encoder features of N normalised frames (N, 3, H, W); H, W multiples of 16."""
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"expected frames (N, 3, H, W), got shape {tuple(frames.shape)}")
        h, w = frames.shape[-2:]
        if h % 16 or w % 16:
            raise ValueError(
                f"frame size {h}x{w} is not a multiple of 16; pad it first "
                "(gsfm.inference pads automatically)"
            )
        f16, f8, f4 = self.key_encoder(frames)  # (N, C16, H/16, W/16), (N, C8, ...), (N, C4, ...)
        if self.lfm is not None:
            f16 = self.lfm(f16)
        # key (N, CK, H/16, W/16), value (N, CV, H/16, W/16)
        return KeyFeatures(self.key_proj(f16), self.key_comp(f16), f16, f8, f4)

    def encode_value(
        self, image: torch.Tensor, f16: torch.Tensor, probs: torch.Tensor
    ) -> torch.Tensor:
        """Memory values of K objects: image (B,3,H,W), f16 (B,C16,h,w), probs (B,K,H,W).

        Object k is encoded with its own mask and the sum of the other objects' masks.
        Returns (B, K, CV, h, w).
        """
        b, k = probs.shape[:2]
        others = probs.sum(dim=1, keepdim=True) - probs  # (B, K, H, W)
        v = self.value_encoder(
            _repeat_per_object(image, k),
            _repeat_per_object(f16, k),
            probs.flatten(0, 1).unsqueeze(1),
            others.flatten(0, 1).unsqueeze(1),
        )
        return v.view(b, k, *v.shape[1:])  # (B, K, CV, h, w)

    def read(
        self,
        query_key: torch.Tensor,
        mem_keys: torch.Tensor,
        mem_values: torch.Tensor,
        *,
        top_k: int | None = None,
        chunk: int | None = None,
    ) -> torch.Tensor:
        """Memory readout for K objects: query_key (B, CK, h, w), mem_keys (B, CK, N),
        mem_values (B, K, CV, N) → (B, K, CV, h, w). One affinity, shared by the K objects."""
        b, _, h, w = query_key.shape
        out = read_memory(
            mem_keys,
            mem_values,
            query_key.flatten(2),
            kind=self.config.affinity,
            top_k=top_k,
            chunk=chunk,
        )
        return out.view(b, mem_values.shape[1], -1, h, w)

    def decode(
        self, query: KeyFeatures, readout: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode K objects: readout (B, K, CV, h, w) + the query's features.

        Returns mask logits (B, K, H, W) and boundary logits (B, K, H, W) or None.
        """
        b, k = readout.shape[:2]
        x16 = torch.cat(
            [readout.to(query.value.dtype).flatten(0, 1), _repeat_per_object(query.value, k)], 1
        )  # (B·K, 2·CV, h, w)
        logits, edge = self.decoder(
            x16, _repeat_per_object(query.f8, k), _repeat_per_object(query.f4, k)
        )
        logits = logits.view(b, k, *logits.shape[-2:])  # (B, K, H, W)
        if edge is not None:
            edge = edge.view(b, k, *edge.shape[-2:])
        return logits, edge

    def segment(
        self,
        query: KeyFeatures,
        mem_keys: torch.Tensor,
        mem_values: torch.Tensor,
        *,
        top_k: int | None = None,
        chunk: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Read memory and decode K objects of B query frames (:meth:`read` + :meth:`decode`).

        query: :class:`KeyFeatures` of B frames; mem_keys (B, CK, N); mem_values (B, K, CV, N).
        Returns mask logits (B, K, H, W) and boundary logits (B, K, H, W) or None.
        """
        readout = self.read(query.key, mem_keys, mem_values, top_k=top_k, chunk=chunk)
        return self.decode(query, readout)

    # --- training --------------------------------------------------------------------------
    def forward_train(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
        """The authors' training pass over T (= 3) frames with 2 objects (facts §3).

        Frame 0's values come from the ground truth; frame t ≥ 1 is segmented from the memory
        of frames 0..t-1, and its *predicted* soft masks (not detached) become its values.
        ``selector`` (B, 2) zeroes the second object of one-object samples.

        Returns, for t = 1..T-1: ``logits_t`` (B,3,H,W) aggregated logits (bg, obj 1, obj 2),
        ``mask_t`` (B,2,H,W) object probabilities, ``boundary_t`` (B,2,H,W) or None.
        """
        rgb, gt, sec_gt, sel = batch["rgb"], batch["gt"], batch["sec_gt"], batch["selector"]
        if rgb.dim() != 5 or rgb.shape[2] != 3 or rgb.shape[1] < 2:
            raise ValueError(f"expected rgb (B, T>=2, 3, H, W), got shape {tuple(rgb.shape)}")
        b, t_len = rgb.shape[:2]
        hw = rgb.shape[-2:]
        if gt.shape[:2] != (b, t_len) or gt.shape[-2:] != hw or sec_gt.shape != gt.shape:
            raise ValueError(
                f"gt/sec_gt {tuple(gt.shape)}/{tuple(sec_gt.shape)} do not fit rgb {tuple(rgb.shape)}"
            )
        sel = sel.to(rgb.dtype).view(b, 2, 1, 1)  # (B, 2, 1, 1)
        feats = self.encode_key(rgb.flatten(0, 1))  # every frame at once: (B·T, ...)
        feats = KeyFeatures(*(f.view(b, t_len, *f.shape[1:]) for f in feats))  # (B, T, ...)

        first = torch.cat([gt[:, 0], sec_gt[:, 0]], dim=1)  # (B, 2, H, W)
        # per memory frame: keys (B, CK, h·w), values (B, 2, CV, h·w)
        keys = [feats.key[:, 0].flatten(2)]
        values = [self.encode_value(rgb[:, 0], feats.f16[:, 0], first).flatten(3)]
        out: dict[str, torch.Tensor | None] = {}
        for t in range(1, t_len):
            query = feats.select((slice(None), t))
            logits, edge = self.segment(query, _cat_last(keys), _cat_last(values))
            prob = torch.sigmoid(logits) * sel  # (B, 2, H, W)
            agg = aggregate_logits(prob)  # (B, 3, H, W): background, object 1, object 2
            mask = torch.softmax(agg, dim=1)[:, 1:]  # (B, 2, H, W)
            out[f"logits_{t}"] = agg
            out[f"mask_{t}"] = mask
            out[f"boundary_{t}"] = None if edge is None else edge * sel
            if t < t_len - 1:
                keys.append(query.key.flatten(2))
                values.append(self.encode_value(rgb[:, t], query.f16, mask).flatten(3))
        return out

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
        """Same as :meth:`forward_train` (so DDP and ``model(batch)`` work)."""
        return self.forward_train(batch)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (buffers such as BN running statistics are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def build_model(name: str = "gsfm", /, profile: str = "paper", **overrides: Any) -> GSFMNet:
    """Build ``"gsfm"`` or ``"stcn"`` under ``profile`` ("smoke", "cpu", "paper").

    ``overrides`` are :class:`~gsfm.config.ModelConfig` fields, e.g. ``lfm="attention"``,
    ``boundary=False``, ``sigma=5``, or ``name="gsfm-sigma5"`` to label a variant; anything
    else is a ``ValueError``. A network of a given ``ModelConfig`` is ``GSFMNet(config)``.
    """
    return GSFMNet(model_config(name, profile, **overrides))
