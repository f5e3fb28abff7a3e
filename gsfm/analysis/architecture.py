"""The network of the paper's Fig. 2, read off the model itself (notebook 02, ``fig2_architecture``).

:func:`trace_architecture` runs one query frame and one memory frame of one object through
``build_model("gsfm", "paper")`` with the model's own methods (``encode_key`` →
``encode_value`` → ``read`` → ``decode``, the steps of ``GSFMNet.forward_train``), with a forward
hook on every module, and records each module's input and output shapes. Which modules are
GSFM's additions is not written down by hand: a module is GSFM's when its name does not exist
in ``build_model("stcn", "paper")`` (the same class with LFM, HFM and the boundary branch
switched off; ``docs/paper_vs_code.md`` §7). Those modules fall into three groups: the LFM
(encoder side), the HFM (a frequency module in the decoder) and the boundary branch (the other
convs of the details-aware head, ``docs/paper_vs_code.md`` §1.5). GSFM's one addition that is
not a module, the trainable conv biases of the key encoder, is counted separately.

Plotting lives in :mod:`gsfm.viz.architecture`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from gsfm.model import build_model
from gsfm.spectral import FrequencyModule

__all__ = [
    "GSFM_GROUPS",
    "ArchitectureTrace",
    "ModuleRecord",
    "gsfm_group",
    "gsfm_only_modules",
    "trace_architecture",
]

#: The groups of GSFM-only modules, in the order they appear in the network.
GSFM_GROUPS: tuple[str, ...] = ("LFM", "HFM", "boundary branch")

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ModuleRecord:
    """One module of the traced network (shapes without the batch dimension)."""

    name: str  # dotted path in GSFMNet, e.g. "key_encoder.layer3", "decoder.hfm"
    kind: str  # class name
    in_shape: Shape | None  # first tensor argument of the first call
    out_shape: Shape | tuple[Shape | None, ...]  # a tuple of shapes for tuple outputs
    calls: int  # how many times the forward pass called it
    params: int  # parameters of the module, children included
    group: str | None  # None for STCN's modules, else one of GSFM_GROUPS


@dataclass(frozen=True)
class ArchitectureTrace:
    """What :func:`trace_architecture` recorded, in the order the modules were first called."""

    size: tuple[int, int]  # frame height and width
    modules: dict[str, ModuleRecord]
    readout: Shape  # the memory read's output for one object (not a module)
    frame: Shape  # a query frame
    memory_input: Shape  # what the value encoder's first conv sees: image + 2 mask channels
    extra_params: dict[str, int] = field(default_factory=dict)  # GSFM parameters in STCN modules

    def shape(self, name: str) -> Shape:
        """Output shape of module ``name`` (its first output if it returns a tuple)."""
        out = self.modules[name].out_shape
        if out and isinstance(out[0], tuple):
            first = out[0]
            assert first is not None
            return first
        return out  # type: ignore[return-value]

    def groups(self) -> dict[str, list[str]]:
        """GSFM group → its outermost modules (children of a listed module are left out)."""
        out: dict[str, list[str]] = {g: [] for g in GSFM_GROUPS}
        for name, rec in self.modules.items():
            if rec.group is None:
                continue
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            if parent in self.modules and self.modules[parent].group == rec.group:
                continue
            out[rec.group].append(name)
        return {g: names for g, names in out.items() if names}

    def group_params(self) -> dict[str, int]:
        """Parameters per GSFM group (outermost modules only, so nothing is counted twice)."""
        return {g: sum(self.modules[n].params for n in names) for g, names in self.groups().items()}

    def order(self, name: str) -> int:
        """Position of module ``name`` in the order of first calls."""
        return list(self.modules).index(name)


def gsfm_only_modules(model: nn.Module, reference: nn.Module) -> list[str]:
    """Names of ``model``'s modules that ``reference`` (STCN) does not have."""
    have = {name for name, _ in reference.named_modules()}
    return [name for name, _ in model.named_modules() if name and name not in have]


def gsfm_group(model: nn.Module, name: str) -> str:
    """The GSFM group of a GSFM-only module: "LFM", "HFM" or "boundary branch".

    The encoder's frequency module (``lfm``, and its convs) is the LFM; a frequency module in
    the decoder (and its convs) is the HFM; every other decoder addition is the boundary branch.
    """
    parts = name.split(".")
    if parts[0] == "lfm":
        return "LFM"
    modules = dict(model.named_modules())
    for i in range(len(parts), 0, -1):
        if isinstance(modules.get(".".join(parts[:i])), FrequencyModule):
            return "HFM"
    if parts[0] == "decoder":
        return "boundary branch"
    raise ValueError(f"{name!r} is neither the LFM nor part of the decoder")


def _shape(t: object) -> Shape | None:
    return tuple(t.shape[1:]) if isinstance(t, torch.Tensor) else None


def _out_shape(out: object) -> Shape | tuple[Shape | None, ...]:
    if isinstance(out, torch.Tensor):
        return tuple(out.shape[1:])
    if isinstance(out, Iterable) and not isinstance(out, str | bytes | dict):
        return tuple(_shape(o) for o in out)
    return ()


def _reference(profile: str) -> nn.Module:
    """STCN under ``profile``, built on the meta device: names only, no memory, no init cost."""
    with torch.device("meta"):
        return build_model("stcn", profile)


@torch.no_grad()
def trace_architecture(
    model: nn.Module | None = None,
    size: tuple[int, int] = (384, 384),
    reference: nn.Module | None = None,
) -> ArchitectureTrace:
    """Run one frame through ``model`` (default ``build_model("gsfm", "paper")``) and record it.

    One query frame of ``size`` (a multiple of 16; 384² is the training crop) is encoded; the
    same frame with an empty mask becomes the memory of one object; the query reads it and is
    decoded: every module of the network runs once. CPU, float32, no gradients; about 5 s for
    the paper's ResNet-50 at 384² on one core. ``reference`` is the STCN model whose module
    names define what is GSFM's (default: ``build_model("stcn", "paper")`` on the meta device).
    """
    h, w = size
    if h % 16 or w % 16 or h < 16 or w < 16:
        raise ValueError(f"frame size must be a positive multiple of 16, got {size}")
    model = build_model("gsfm", "paper") if model is None else model
    reference = _reference("paper") if reference is None else reference
    model = model.eval()
    device = next(model.parameters()).device
    extra = set(gsfm_only_modules(model, reference))
    ref_params = {n for n, _ in reference.named_parameters()}
    records: dict[str, dict] = {}
    handles = []

    def hook(name: str):
        def record(module: nn.Module, args: tuple, out: object) -> None:
            if name in records:
                records[name]["calls"] += 1
                return
            records[name] = {
                "kind": type(module).__name__,
                "in_shape": _shape(args[0]) if args else None,
                "out_shape": _out_shape(out),
                "calls": 1,
                "params": sum(p.numel() for p in module.parameters()),
            }

        return record

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(hook(name)))
    try:
        frame = torch.zeros(1, 3, h, w, device=device)
        query = model.encode_key(frame)
        value = model.encode_value(frame, query.f16, torch.zeros(1, 1, h, w, device=device))
        readout = model.read(query.key, query.key.flatten(2), value.flatten(3))
        model.decode(query, readout)
    finally:
        for handle in handles:
            handle.remove()

    # A frequency module applies its 1×1 convs' weights with F.conv2d (in float32), so their
    # own forward never runs: they are listed with 0 calls and no shapes.
    named = dict(model.named_modules())
    for name, module in named.items():
        if name and name not in records:
            parent = named.get(name.rsplit(".", 1)[0] if "." in name else "")
            if not isinstance(parent, FrequencyModule):
                raise RuntimeError(f"the trace did not reach module {name!r}")
            records[name] = {
                "kind": type(module).__name__,
                "in_shape": None,
                "out_shape": (),
                "calls": 0,
                "params": sum(p.numel() for p in module.parameters()),
            }
    order = {name: i for i, name in enumerate(records)}
    modules = {
        name: ModuleRecord(
            name=name, group=gsfm_group(model, name) if name in extra else None, **records[name]
        )
        for name in sorted(records, key=lambda n: (order[n], n))
    }
    in_extra_modules = {n for n, _ in model.named_parameters() if n.rsplit(".", 1)[0] in extra}
    extra_params: dict[str, int] = {}
    for n, p in model.named_parameters():
        if n not in ref_params and n not in in_extra_modules:
            key = f"{n.split('.')[0]} conv biases"
            extra_params[key] = extra_params.get(key, 0) + p.numel()
    v_in = modules["value_encoder.conv1"].in_shape
    assert v_in is not None
    return ArchitectureTrace(
        size=(h, w),
        modules=modules,
        readout=tuple(readout.shape[2:]),
        frame=(3, h, w),
        memory_input=v_in,
        extra_params=extra_params,
    )
