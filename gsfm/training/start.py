"""How a training run's weights start: its own random draw, or the *shared start* of its seed.

Under the default ``TrainConfig.start = "own"`` every configuration draws its weights from the
seed's random stream in the order its modules are built, so two variants of one seed share
only the tensors built before their first difference (GSFM's key-encoder conv biases, for
instance, shift every draw after them). Their paired difference then carries the spread of
two initialisations on top of the effect being measured.

``start = "shared"`` (the ablations' *design (b)*) starts every variant of a seed from one
common state: the full GSFM network of the profile, built at that seed (with the profile's
encoder initialisation). A variant copies each tensor whose name and shape it shares with that
state and keeps its own draw for the rest; then its frequency modules start as the identity
(``z = 0``: the last 1×1 conv of each LFM/HFM, and the output conv of a non-local block, is
zeroed, which the residual design allows). So at iteration 0, GSFM computes exactly STCN's
function, and two variants that differ only in a module differ only there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gsfm.config import START_MODES
from gsfm.model import build_model, init_encoders
from gsfm.model.attention import NonLocalBlock
from gsfm.runtime import seed_everything
from gsfm.spectral import FrequencyModule

__all__ = ["START_MODES", "SharedStart", "apply_shared_start", "identity_residual_modules"]


@dataclass(frozen=True)
class SharedStart:
    """What :func:`apply_shared_start` did: tensors copied from the shared state, tensors that
    kept the run's own draw (no match by name and shape), and the modules set to identity."""

    copied: tuple[str, ...]
    own: tuple[str, ...]
    identity: tuple[str, ...]
    encoders: dict[str, str]

    def describe(self) -> dict[str, object]:
        """The summary a run's ``config.json`` records."""
        return {
            "copied_tensors": len(self.copied),
            "own_tensors": list(self.own),
            "identity_modules": list(self.identity),
        }


def identity_residual_modules(net: nn.Module) -> tuple[str, ...]:
    """Zero the last layer of every residual spectral / attention module of ``net`` so that it
    adds nothing (``x + z`` with ``z = 0``); returns the modules' names.

    A frequency module with one conv (conv → ReLU) cannot start at ``z = 0`` and still learn
    (the ReLU's gradient at 0 is 0), so it is refused."""
    names = []
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, FrequencyModule):
                if module.conv2 is None:
                    raise ValueError(
                        f"{name}: a one-conv frequency module (spectral_convs=1) cannot start as "
                        "the identity and still learn; use the own start"
                    )
                last = module.conv2
            elif isinstance(module, NonLocalBlock):
                last = module.out
            else:
                continue
            last.weight.zero_()
            if last.bias is not None:
                last.bias.zero_()
            names.append(name)
    return tuple(names)


def apply_shared_start(net: nn.Module, profile: str, seed: int, encoder_init: str) -> SharedStart:
    """Start ``net`` from the shared state of ``seed`` under ``profile`` (module docstring).

    Leaves the global random state as :func:`gsfm.runtime.seed_everything` ``(seed)`` does, so
    what the run draws next does not depend on whether it started shared."""
    seed_everything(seed)
    common = build_model("gsfm", profile)
    encoders = init_encoders(common, encoder_init)
    shared = common.state_dict()
    own_state = net.state_dict()
    copied, own = [], []
    with torch.no_grad():
        for key, tensor in own_state.items():
            source = shared.get(key)
            if source is not None and source.shape == tensor.shape:
                tensor.copy_(source)
                copied.append(key)
            else:
                own.append(key)
    identity = identity_residual_modules(net)
    seed_everything(seed)
    return SharedStart(tuple(copied), tuple(own), identity, encoders)
