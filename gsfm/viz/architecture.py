"""The paper's Fig. 2 drawn from a traced model: boxes, arrows and the recorded tensor shapes.

:func:`plot_architecture` takes an :class:`~gsfm.analysis.architecture.ArchitectureTrace`.
The layout (where each box sits) is fixed here; what each box says (its output shape, its
parameter count) and its colour (STCN's or one of GSFM's additions) come from the trace, so a
change to the network shows up in the figure.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

from gsfm.analysis.architecture import ArchitectureTrace, Shape
from gsfm.viz.figures import save_figure

__all__ = ["COLOURS", "plot_architecture"]

#: Face and edge colours: STCN's parts, GSFM's additions, inputs and outputs.
COLOURS: dict[str, tuple[str, str]] = {
    "STCN": ("#d6e6f5", "#3d6fa6"),
    "GSFM": ("#fbd9b5", "#d9731a"),
    "io": ("#eeeeee", "#777777"),
}

_W, _H = 2.3, 0.95  # box size in data units


@dataclass(frozen=True)
class _Box:
    key: str
    x: float
    y: float
    title: str
    shape_of: str  # a module name, or "frame", "memory", "readout", "mask", "boundary"
    modules: tuple[str, ...] = ()  # modules drawn by this box (colour and parameters)
    io: bool = False


_BOXES: tuple[_Box, ...] = (
    # value encoder (memory frames)
    _Box("mem", 1.4, 10.2, "memory frame\n+ its mask + other masks", "memory", io=True),
    _Box("venc", 4.2, 10.2, "value encoder\nResNet-18 to layer3", "value_encoder.layer3",
         ("value_encoder.conv1", "value_encoder.layer3")),
    _Box("fuse", 12.0, 10.2, "fusion with f16\nResBlock, CBAM, ResBlock", "value_encoder.fuser",
         ("value_encoder.fuser",)),
    # key encoder (query and memory frames)
    _Box("frame", 1.4, 7.6, "query frame", "frame", io=True),
    _Box("l1", 4.2, 7.6, "ResNet-50 stem\n+ layer1 → f4", "key_encoder.layer1",
         ("key_encoder.conv1", "key_encoder.layer1")),
    _Box("l2", 6.8, 7.6, "layer2 → f8", "key_encoder.layer2", ("key_encoder.layer2",)),
    _Box("l3", 9.4, 7.6, "layer3 → f16", "key_encoder.layer3", ("key_encoder.layer3",)),
    _Box("lfm", 12.0, 7.6, "LFM (spectral filter 1−g)", "lfm", ("lfm",)),
    _Box("kproj", 14.9, 8.25, "key projection 3×3", "key_proj", ("key_proj",)),
    _Box("kcomp", 14.9, 6.95, "key_comp 3×3", "key_comp", ("key_comp",)),
    _Box("read", 18.4, 8.25, "memory read\nL2 affinity, softmax", "readout"),
    # decoder trunk, right to left
    _Box("compress", 14.9, 4.9, "[readout, key_comp]\n→ compress ResBlock", "decoder.compress",
         ("decoder.compress",)),
    _Box("up8", 6.8, 4.9, "up ×2 + f8 skip\nResBlock", "decoder.up_16_8", ("decoder.up_16_8",)),
    _Box("up4", 4.2, 4.9, "up ×2 + f4 skip\nResBlock", "decoder.up_8_4", ("decoder.up_8_4",)),
    # details-aware head: boundary lane and mask lane
    _Box("b1", 6.8, 2.6, "boundary_1 3×3", "decoder.boundary_1", ("decoder.boundary_1",)),
    _Box("hfm", 9.4, 2.6, "HFM (spectral filter g)", "decoder.hfm", ("decoder.hfm",)),
    _Box("b23", 12.0, 2.6, "+ fusion_1, then\nboundary_2, boundary_3", "decoder.boundary_3",
         ("decoder.fusion_1", "decoder.boundary_2", "decoder.boundary_3")),
    _Box("pb", 14.9, 2.6, "predict_boundary_1, _2\n3×3, 3×3", "decoder.predict_boundary_2",
         ("decoder.predict_boundary_1", "decoder.predict_boundary_2")),
    _Box("bout", 18.4, 2.6, "boundary logits\n(×4 bilinear)", "boundary", io=True),
    _Box("m1", 6.8, 0.8, "mask_1 3×3", "decoder.mask_1", ("decoder.mask_1",)),
    _Box("pm", 12.0, 0.8, "+ fusion_2, then\npredict_mask 3×3", "decoder.predict_mask",
         ("decoder.fusion_2", "decoder.predict_mask")),
    _Box("pred", 14.9, 0.8, "pred 3×3\n(STCN's mask head)", "decoder.pred", ("decoder.pred",)),
    _Box("mout", 18.4, 0.8, "mask logits\n(×4 bilinear)", "mask", io=True),
)  # fmt: skip

# (from, to, label, connection style)
_ARROWS: tuple[tuple[str, str, str, str], ...] = (
    ("mem", "venc", "", "arc3"),
    ("venc", "fuse", "", "arc3"),
    ("frame", "l1", "", "arc3"),
    ("l1", "l2", "", "arc3"),
    ("l2", "l3", "", "arc3"),
    ("l3", "lfm", "", "arc3"),
    ("lfm", "kproj", "", "arc3"),
    ("lfm", "kcomp", "", "arc3"),
    ("lfm", "fuse", "f16 after LFM", "arc3"),
    ("kproj", "read", "query key,\nmemory keys", "arc3"),
    ("fuse", "read", "memory values", "arc3"),
    ("read", "compress", "readout", "arc3"),
    ("kcomp", "compress", "", "arc3"),
    ("compress", "up8", "", "arc3"),
    ("l2", "up8", "f8", "arc3"),
    ("up8", "up4", "", "arc3"),
    ("l1", "up4", "f4", "arc3"),
    ("up4", "b1", "", "arc3"),
    ("up4", "m1", "", "arc3"),
    ("b1", "hfm", "", "arc3"),
    ("hfm", "b23", "", "arc3"),
    ("m1", "b23", "fusion_1 (1×1)\nmask → boundary", "arc3"),
    ("b23", "pb", "", "arc3"),
    ("b23", "pm", "fusion_2 (1×1)\nboundary → mask", "arc3"),
    ("pb", "bout", "", "arc3"),
    ("m1", "pm", "", "arc3"),
    ("pm", "pred", "", "arc3"),
    ("pred", "mout", "", "arc3"),
)


def _fmt_shape(shape: Shape | None) -> str:
    return "×".join(str(s) for s in shape) if shape else "?"


def _shape_for(trace: ArchitectureTrace, what: str) -> Shape | None:
    if what == "frame":
        return trace.frame
    if what == "memory":
        return trace.memory_input
    if what == "readout":
        return trace.readout
    if what in ("mask", "boundary"):
        out = trace.modules["decoder"].out_shape
        first = out[0] if what == "mask" else out[1]
        return first if isinstance(first, tuple) else None
    return trace.shape(what)


def _edge(box: _Box, towards: _Box, pad: float = 0.06) -> tuple[float, float]:
    """Where the straight line from ``box``'s centre to ``towards``' centre leaves ``box``."""
    dx, dy = towards.x - box.x, towards.y - box.y
    tx = (_W / 2 + pad) / abs(dx) if dx else float("inf")
    ty = (_H / 2 + pad) / abs(dy) if dy else float("inf")
    t = min(tx, ty)
    return box.x + t * dx, box.y + t * dy


def _params(n: int) -> str:
    return f"{n / 1e6:.2f} M params" if n >= 100_000 else f"{n:,} params"


def plot_architecture(
    trace: ArchitectureTrace, out_path: str | os.PathLike[str] | None = None
) -> Figure:
    """Block diagram of GSFM (paper Fig. 2) with the traced output shape of every block.

    STCN's parts are blue, GSFM's additions (LFM, HFM, the boundary branch) orange; a box
    counts as GSFM's when any module it draws is GSFM-only in the trace. Shapes are
    channels×height×width for one frame and one object.
    """
    fig, ax = plt.subplots(figsize=(17, 10.4))
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.02)
    ax.set_xlim(0, 19.7)
    ax.set_ylim(-0.2, 11.3)
    ax.axis("off")
    boxes = {b.key: b for b in _BOXES}
    for b in _BOXES:
        recs = [trace.modules[m] for m in b.modules]
        gsfm = any(r.group is not None for r in recs)
        part = "io" if b.io else ("GSFM" if gsfm else "STCN")
        face, edge = COLOURS[part]
        ax.add_patch(
            FancyBboxPatch(
                (b.x - _W / 2, b.y - _H / 2),
                _W,
                _H,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                fc=face,
                ec=edge,
                lw=1.8 if gsfm else 1.2,
            )
        )
        lines = [b.title, _fmt_shape(_shape_for(trace, b.shape_of))]
        if gsfm:
            lines.append(_params(sum(r.params for r in recs)))
        ax.text(
            b.x, b.y, "\n".join(lines), ha="center", va="center", fontsize=7.6, linespacing=1.25
        )

    for src, dst, label, style in _ARROWS:
        a, b = boxes[src], boxes[dst]
        ax.annotate(
            "",
            xy=_edge(b, a),
            xytext=_edge(a, b),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#444444",
                "lw": 1.1,
                "shrinkA": 0,
                "shrinkB": 0,
                "connectionstyle": style,
                "patchA": None,
                "patchB": None,
            },
            zorder=1,
        )
        if label:
            mx, my = (a.x + b.x) / 2, (a.y + b.y) / 2
            ax.text(
                mx,
                my,
                label,
                fontsize=7,
                ha="center",
                va="center",
                color="#333333",
                bbox={"fc": "white", "ec": "none", "pad": 0.6, "alpha": 0.9},
                zorder=3,
            )
    lanes = (
        (11.05, "value encoder (memory frames only)"),
        (8.9, "key encoder (every frame)"),
        (5.75, "decoder trunk (STCN's refine module)"),
        (3.45, "details-aware head: boundary branch"),
        (1.65, "mask branch"),
    )
    for y, text in lanes:
        ax.text(0.25, y, text, fontsize=8.5, style="italic", color="#555555", va="center")

    groups = trace.group_params()
    extra = sum(trace.extra_params.values())
    parts = ", ".join(f"{g} {n:,}" for g, n in groups.items())
    h, w = trace.size
    ax.legend(
        handles=[
            Patch(fc=COLOURS["STCN"][0], ec=COLOURS["STCN"][1], label="STCN (the baseline)"),
            Patch(fc=COLOURS["GSFM"][0], ec=COLOURS["GSFM"][1], label="GSFM's additions"),
            Patch(fc=COLOURS["io"][0], ec=COLOURS["io"][1], label="input / output"),
        ],
        loc="upper right",
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(1.0, 1.0),
    )
    fig.suptitle(
        f"GSFM (paper Fig. 2) traced from build_model('gsfm', 'paper'): one {h}×{w} frame, "
        "one object; shapes are channels×height×width",
        fontsize=12,
    )
    ax.text(
        0.25,
        -0.15,
        f"GSFM-only modules (absent from build_model('stcn', 'paper')): {parts} parameters"
        f" = {sum(groups.values()):,};\nplus {extra:,} trainable conv biases inside the key "
        "encoder's modules. Memory keys come from the same key encoder, LFM and key "
        "projection run on the memory frame.",
        fontsize=8,
        color="#333333",
        va="bottom",
    )
    return save_figure(fig, out_path, tight=True)
