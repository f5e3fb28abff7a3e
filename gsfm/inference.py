"""Video inference: propagate masks through a video with a growing memory (``docs/paper_vs_code.md`` §5).

The engine works on tensors; reading a DAVIS / YouTube-VOS folder and writing PNGs is
:mod:`gsfm.prediction`.

What one frame does (:meth:`InferenceEngine.step`):

1. pad the normalised frame to a multiple of 16 (zeros, split evenly, the extra pixel at the
   bottom / right);
2. encode its key (LFM included); read the memory with top-k (50 for GSFM, 20 for STCN); decode
   every object (without the boundary head's output, :func:`gsfm.model.decoder.masks_only`); sigmoid; soft aggregation over
   {background, objects};
3. if the frame carries an annotation, it is merged in (how depends on the protocol, below) and
   new object ids are added (objects may first appear mid-video, as in YouTube-VOS);
4. if it is a memory frame, encode the values of all objects from the aggregated soft
   probabilities (each with "the other objects" as the second extra channel) and add
   (key, values) to memory. Every annotated frame is a memory frame (the first one always);
   which other frames are depends on the protocol, but never the last frame of the video. The
   memory grows without limit, as in the authors' code.

Two protocols (``protocol=``), one per benchmark, because the authors evaluate DAVIS and
YouTube-VOS with two different loops and the differences move the scores:

``"davis"`` (default):
    frames are segmented at the size they are given (DAVIS 480p). A frame is a memory frame
    when its absolute index is a multiple of ``mem_every`` (3 for GSFM, 5 for STCN). An
    annotation is merged into the per-object sigmoid probabilities *before* the single
    aggregation: under the annotated pixels every object is zeroed and the annotated object set
    to 1, new objects get their mask as probability, then everything is aggregated once.

``"youtube"``:
    * resolution: each normalised float frame is resized so that its shorter side is
      ``short_side`` pixels (480; bicubic, no antialiasing, aspect ratio kept, the longer side
      rounded down), the annotations with nearest neighbour. The (K+1) probabilities come back
      to the original size by bilinear interpolation (before the argmax), so masks are always
      returned at the frame's own size. This matters for GSFM because σ of the spectral
      filters is counted in frequency bins of the feature map, whose size follows the frame's;
    * memory cadence counted from the previous memory frame: frame t is a memory frame when
      t − (the last frame that went into memory, annotated frames included) ≥ ``mem_every``;
    * an annotated frame is first propagated and aggregated as usual (K+1 probabilities); then
      every channel, background included, is zeroed under the annotated pixels, each annotated
      object's channel becomes its mask (a new object gets a new channel; an object annotated
      again has its whole channel replaced), and the object channels are aggregated a second
      time (:func:`~gsfm.model.aggregate.aggregate`: background Π(1 − p_k), clamp, logit,
      softmax). Where nothing has been predicted yet, the object channels are just the masks.

Objects that enter at the same frame share one memory bank (the frames from their first
annotation on); objects that enter later get their own, so an object never reads memory frames
from before it existed (the authors' YouTube-VOS code keeps one bank per object; banks that
hold the same frames give the same result).

Bounded memory: ``max_memory_chunk=n`` computes the affinity, top-k and readout for at most n
query positions at a time, so the affinity matrix needs O(N·n) instead of O(N·h·w) memory
(N = memory positions); every query column is computed exactly as without chunking.

Timing (:class:`VideoResult` ``fps``): the propagation loop (resizing included), unpadding,
argmax and the copy of the results to the CPU; not reading frames, not moving the input to the
device, not writing PNGs. The masks stay on the device until the last frame and are copied
once, so that frames without an annotation never wait for the device: on a GPU the next
frame's kernels are queued while the current ones run.

Fast path (both off by default; the float32 eager path is unchanged):

``amp="bf16"`` (CPU, CUDA) or ``"fp16"`` (CUDA only):
    the network's parts (key encoder, decoder, value encoder) run under ``torch.autocast``.
    What decides the masks stays float32: the spectral modules and the attention block
    (they switch autocast off themselves), the memory read's affinity and top-k softmax
    (computed here from float32 keys), the sigmoid, the aggregation and the argmax. The
    readout ``values @ weights`` runs in the autocast dtype, so the memory values are stored
    in it (they would be cast to it at every read anyway: the masks are the same, the bank
    half as large); the keys are stored in float32.
``compile="cuda-graphs"`` (CUDA only):
    the fixed-shape parts of a step (key encoder, decoder + sigmoid, value encoder) are
    recorded once per input shape as CUDA graphs and replayed, one launch instead of hundreds
    of small kernels (FFTs, complex ops, the boundary branch). The memory read, whose size
    grows every ``mem_every`` frames, stays eager. A new frame size or object count records
    new graphs (the last :data:`GRAPHS_KEPT` shapes are kept).
``compile="torch"``:
    the same three parts through ``torch.compile`` (``compile_options``, default
    ``mode="reduce-overhead"`` on CUDA), ``dynamic=False``. It works on the CPU too, but
    Inductor compiles C++ there for minutes; ``compile_options={"backend": "eager"}`` checks
    the wiring in seconds.

How far the fast path's masks may differ from float32's: :data:`gsfm.agreement.FAST_PATH_TOLERANCE`,
checked with :mod:`gsfm.agreement` on one video or on a DAVIS-layout folder.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from gsfm.model.aggregate import aggregate
from gsfm.model.decoder import masks_only
from gsfm.model.memory import read_memory
from gsfm.model.network import GSFMNet, KeyFeatures
from gsfm.runtime import fast_cuda_kernels

__all__ = [
    "AMP_DTYPES",
    "COMPILE_MODES",
    "PROTOCOLS",
    "InferenceEngine",
    "InferenceSettings",
    "VideoResult",
    "check_amp",
    "check_protocol",
    "pad_to_multiple",
    "short_side_size",
    "unpad",
]

InferenceProtocol = Literal["davis", "youtube"]
PROTOCOLS: tuple[str, ...] = ("davis", "youtube")

Pads = tuple[int, int, int, int]  # (left, right, top, bottom), F.pad order


def pad_to_multiple(x: torch.Tensor, multiple: int = 16) -> tuple[torch.Tensor, Pads]:
    """Zero-pad the last two dims to multiples of ``multiple``; the extra pixel goes bottom/right."""
    h, w = x.shape[-2:]
    ph = (multiple - h % multiple) % multiple
    pw = (multiple - w % multiple) % multiple
    pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    return (F.pad(x, pads) if ph or pw else x), pads


def unpad(x: torch.Tensor, pads: Pads) -> torch.Tensor:
    """Undo :func:`pad_to_multiple` on the last two dims."""
    left, right, top, bottom = pads
    h, w = x.shape[-2:]
    return x[..., top : h - bottom, left : w - right]


def check_protocol(protocol: Any) -> InferenceProtocol:
    """Return ``protocol`` if it is ``"davis"`` or ``"youtube"``, else raise one ValueError."""
    if not isinstance(protocol, str) or protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be 'davis' or 'youtube', got {protocol!r}")
    return protocol  # type: ignore[return-value]


def short_side_size(h: int, w: int, short_side: int) -> tuple[int, int]:
    """(height, width) with the shorter side ``short_side`` and the aspect ratio kept.

    The longer side is ``int(short_side * long / short)`` (rounded down), the rule of
    torchvision's ``Resize(int)``, which the authors' YouTube-VOS evaluation used.
    """
    if w <= h:
        return int(short_side * h / w), short_side
    return short_side, int(short_side * w / h)


AMP_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}
COMPILE_MODES: tuple[str, ...] = ("cuda-graphs", "torch")
GRAPHS_KEPT = 4  # input shapes whose CUDA graphs a part keeps (frame size x object count)
_GRAPH_WARMUP = 2  # eager runs before recording: cuDNN autotuning, cuFFT plans, lazy init


def check_amp(amp: Any, device: torch.device | str = "cpu") -> torch.dtype | None:
    """The autocast dtype of ``amp`` (None, "bf16" or "fp16") on ``device``; one ValueError
    for anything else, and for "fp16" off CUDA (CPU float16 autocast is not used here)."""
    if amp is None:
        return None
    if not isinstance(amp, str) or amp not in AMP_DTYPES:
        raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {amp!r}")
    kind = torch.device(device).type
    if kind not in ("cpu", "cuda"):
        raise ValueError(
            f"amp={amp!r}: autocast is supported on cpu and cuda, the model is on {kind}"
        )
    if amp == "fp16" and kind != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA model, the model is on {kind}; use amp='bf16'")
    return AMP_DTYPES[amp]


def _positive_or_none(name: str, value: Any, also: str = "") -> None:
    """One ValueError unless ``value`` is None or an integer >= 1 (``also``: what else the
    message lists as allowed)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be {also}a positive integer or None, got {value!r}")


@dataclass(frozen=True)
class InferenceSettings:
    """How :class:`InferenceEngine` segments a video: one object from the command line (or a
    caller) to the engine, checked once, here, when it is made.

    Args:
        top_k: memory entries kept per query position; ``"config"`` (default) takes
            ``model.config.top_k`` (GSFM 50, STCN 20); ``None`` = full softmax.
        mem_every: a memory frame every N frames; None (default) takes the config's (GSFM 3,
            STCN 5). ``"davis"`` counts the absolute frame index, ``"youtube"`` the frames
            since the last memory frame.
        max_memory_chunk: query positions per affinity chunk (bounded peak memory), or None.
        protocol: ``"davis"`` (default; frames at their own size, the authors' DAVIS loop) or
            ``"youtube"`` (resize to ``short_side``, relative memory cadence, annotations
            edited into the aggregated probabilities; the authors' YouTube-VOS loop). See the
            module docstring.
        short_side: with ``"youtube"``, the shorter side (pixels) frames are resized to
            before inference (480 in the authors' evaluation); ignored by ``"davis"``.
        amp: None (float32), ``"bf16"`` (CPU, CUDA) or ``"fp16"`` (CUDA): autocast for the
            network's parts; see "Fast path" in the module docstring.
        compile: None (eager; False is taken as None), ``"cuda-graphs"`` (CUDA only) or
            ``"torch"`` (``torch.compile`` with ``compile_options``): fewer kernel launches
            for the fixed-shape parts of a step.
        compile_options: keyword arguments of ``torch.compile`` (``compile="torch"`` only).

    What depends on the device (``fp16`` and ``cuda-graphs`` need CUDA) is checked by
    :meth:`check_device`, which the engine calls with its model's device.
    """

    top_k: int | None | Literal["config"] = "config"
    mem_every: int | None = None
    max_memory_chunk: int | None = None
    protocol: InferenceProtocol = "davis"
    short_side: int = 480
    amp: Literal["bf16", "fp16"] | None = None
    compile: Literal["cuda-graphs", "torch"] | None = None
    compile_options: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.top_k != "config":
            _positive_or_none("top_k", self.top_k, also="'config', ")
        _positive_or_none("mem_every", self.mem_every)
        _positive_or_none("max_memory_chunk", self.max_memory_chunk)
        check_protocol(self.protocol)
        if (
            isinstance(self.short_side, bool)
            or not isinstance(self.short_side, int)
            or self.short_side < 1
        ):
            raise ValueError(f"short_side must be a positive integer, got {self.short_side!r}")
        if self.amp is not None and (not isinstance(self.amp, str) or self.amp not in AMP_DTYPES):
            raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {self.amp!r}")
        if self.compile is False:
            object.__setattr__(self, "compile", None)
        if self.compile is not None and (
            not isinstance(self.compile, str) or self.compile not in COMPILE_MODES
        ):
            raise ValueError(
                f"compile must be None, 'cuda-graphs' or 'torch', got {self.compile!r}"
            )
        if self.compile_options and self.compile != "torch":
            raise ValueError("compile_options are only used with compile='torch'")

    def check_device(self, device: torch.device | str) -> None:
        """One ValueError if these settings cannot run on ``device`` (fp16 autocast and CUDA
        graphs need CUDA)."""
        check_amp(self.amp, device)
        kind = torch.device(device).type
        if self.compile == "cuda-graphs" and kind not in _GRAPH_RECORDERS:
            raise ValueError(
                f"compile='cuda-graphs' records CUDA graphs and needs a CUDA model, the model is "
                f"on {kind}; on the CPU use compile='torch' or no compile"
            )

    def resolved(self, config: Any) -> InferenceSettings:
        """These settings with ``top_k="config"`` and ``mem_every=None`` replaced by the
        model configuration's values (``config.top_k``, ``config.mem_every``)."""
        return replace(
            self,
            top_k=config.top_k if self.top_k == "config" else self.top_k,
            mem_every=config.mem_every if self.mem_every is None else self.mem_every,
        )

    def provenance(self) -> dict[str, Any]:
        """The settings that can change the masks or the speed, for a results file
        (``short_side`` only where the protocol uses it)."""
        return {
            "protocol": self.protocol,
            "top_k": self.top_k,
            "mem_every": self.mem_every,
            "short_side": self.short_side if self.protocol == "youtube" else None,
            "max_memory_chunk": self.max_memory_chunk,
            "amp": self.amp,
            "compile": self.compile,
        }


Recorder = Callable[
    [Callable[..., tuple[torch.Tensor, ...]], list[torch.Tensor]],
    tuple[Callable[[], None], tuple[torch.Tensor, ...]],
]


def _record_cuda_graph(
    fn: Callable[..., tuple[torch.Tensor, ...]], inputs: list[torch.Tensor]
) -> tuple[Callable[[], None], tuple[torch.Tensor, ...]]:
    """Record ``fn(*inputs)`` as a CUDA graph: (replay, its static outputs).

    Warm-up runs on a side stream first, as CUDA graph capture requires. The outputs hold
    nothing until the first replay; each replay overwrites them.
    """
    device = inputs[0].device
    side = torch.cuda.Stream(device=device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(_GRAPH_WARMUP):
            fn(*inputs)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = fn(*inputs)
    return graph.replay, outputs


# device type -> how a graph is recorded there (tests add an emulation for "cpu")
_GRAPH_RECORDERS: dict[str, Recorder] = {"cuda": _record_cuda_graph}


class _GraphedCall:
    """Call ``fn(*tensors) -> tuple of tensors`` by replaying a graph recorded for the
    arguments' shapes and dtypes: the arguments are copied into the graph's input buffers and
    the returned tensors are its output buffers, overwritten by the next call."""

    def __init__(self, fn: Callable[..., tuple[torch.Tensor, ...]], recorder: Recorder) -> None:
        self.fn = fn
        self.recorder = recorder
        self.graphs: OrderedDict[tuple, tuple[list[torch.Tensor], Callable[[], None], Any]] = (
            OrderedDict()
        )

    def __call__(self, *args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        signature = tuple((tuple(a.shape), a.dtype, a.device) for a in args)
        entry = self.graphs.get(signature)
        if entry is None:
            inputs = [a.clone() for a in args]
            replay, outputs = self.recorder(self.fn, inputs)
            entry = self.graphs[signature] = (inputs, replay, outputs)
            while len(self.graphs) > GRAPHS_KEPT:
                self.graphs.popitem(last=False)
        else:
            self.graphs.move_to_end(signature)
        inputs, replay, outputs = entry
        for buffer, a in zip(inputs, args, strict=True):
            buffer.copy_(a)
        replay()
        return outputs


class _NetworkParts:
    """The network calls of one step under the engine's precision and launch settings.

    ``key(image)`` → the 5 :class:`~gsfm.model.network.KeyFeatures` tensors; ``probs(*key,
    readout)`` → (K, H, W) float32 sigmoid probabilities; ``values(image, f16, probs)`` →
    (1, K, CV, h·w) memory values; :meth:`read` the memory readout; :meth:`stored` turns a
    key and values into what the bank keeps (its own copies when the parts return reused
    graph buffers).
    """

    def __init__(
        self,
        model: GSFMNet,
        device: torch.device,
        amp_dtype: torch.dtype | None,
        compile: str | None,
        compile_options: Mapping[str, Any] | None,
    ) -> None:
        self.model = model
        self.device_type = device.type
        self.amp_dtype = amp_dtype
        self.reused_outputs = compile is not None
        fns: tuple[Callable[..., tuple[torch.Tensor, ...]], ...] = (
            self._key,
            self._probs,
            self._values,
        )
        if compile == "cuda-graphs":
            recorder = _GRAPH_RECORDERS[device.type]
            fns = tuple(_GraphedCall(f, recorder) for f in fns)
        elif compile == "torch":
            default = {"mode": "reduce-overhead"} if device.type == "cuda" else {}
            options = {"dynamic": False, **dict(compile_options or default)}
            fns = tuple(torch.compile(f, **options) for f in fns)
        self.key, self.probs, self.values = fns

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        # no weight-cast cache: a cache freed when the context exits breaks recorded graphs
        return torch.autocast(self.device_type, dtype=self.amp_dtype, cache_enabled=False)

    def _key(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with self._autocast():
            return tuple(self.model.encode_key(image))

    def _probs(self, *query_and_readout: torch.Tensor) -> tuple[torch.Tensor, ...]:
        *query, readout = query_and_readout
        with self._autocast():
            logits, _ = self.model.decode(KeyFeatures(*query), readout)
        return (torch.sigmoid(logits[0].float()),)

    def _values(
        self, image: torch.Tensor, f16: torch.Tensor, probs: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        with self._autocast():
            return (self.model.encode_value(image, f16, probs).flatten(3),)

    def read(
        self, query_key: torch.Tensor, bank: _Bank, top_k: int | None, chunk: int | None
    ) -> torch.Tensor:
        """Readout (1, K, CV, h, w) of ``bank`` for the query key (1, CK, h, w).

        float32: the network's own read. With autocast: the affinity and the top-k softmax
        in float32 from float32 keys, the product with the values in the values' dtype.
        """
        if self.amp_dtype is None:
            return self.model.read(query_key, bank.keys, bank.values, top_k=top_k, chunk=chunk)
        b, _, h, w = query_key.shape
        kind = self.model.config.affinity
        with torch.autocast(self.device_type, enabled=False):
            out = read_memory(
                bank.keys, bank.values, query_key.flatten(2).float(), kind=kind, top_k=top_k,
                chunk=chunk,
            )  # fmt: skip
        return out.view(b, bank.values.shape[1], -1, h, w)

    def stored(self, key: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(key, values) as the bank keeps them: keys float32, values in the autocast dtype
        (float32 without it); copies when the parts' outputs are reused buffers."""
        copy = self.reused_outputs
        values_dtype = self.amp_dtype or torch.float32
        return key.to(torch.float32, copy=copy), values.to(values_dtype, copy=copy)


@dataclass
class _Bank:
    """The memory of a group of objects that entered at the same frame."""

    labels: list[int]
    keys: torch.Tensor  # (1, CK, N)
    values: torch.Tensor  # (1, K_group, CV, N)

    def add(self, key: torch.Tensor, values: torch.Tensor) -> None:
        self.keys = torch.cat([self.keys, key], dim=-1)
        self.values = torch.cat([self.values, values], dim=-1)


@dataclass
class VideoResult:
    """Output of :meth:`InferenceEngine.propagate`.

    masks: (T, H, W) uint8 object ids. labels: the object ids, in probability-channel order.
    probs: (T, K+1, H, W) float32 soft probabilities [background, *labels] if requested, zeros
    for objects not yet annotated at that frame. seconds/fps: propagation time without I/O.
    memory_frames: indices of the frames that went into memory.
    """

    masks: np.ndarray
    labels: list[int]
    seconds: float
    fps: float
    memory_frames: list[int] = field(default_factory=list)
    probs: np.ndarray | None = None


def _as_id_map(mask: Any, size: tuple[int, int], what: str) -> torch.Tensor:
    """Check an annotation (H, W) of integer object ids and return it as a long tensor."""
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
    if m.dim() != 2:
        raise ValueError(
            f"{what} must be a 2-D (H, W) map of object ids, got shape {tuple(m.shape)}"
        )
    if tuple(m.shape) != tuple(size):
        raise ValueError(
            f"{what} has size {m.shape[0]}x{m.shape[1]} but the frame is {size[0]}x{size[1]}"
        )
    if m.dtype == torch.bool:
        m = m.long()
    elif m.is_floating_point():
        if not torch.equal(m, m.round()):
            raise ValueError(f"{what} must hold integer object ids, got non-integer values")
        m = m.long()
    m = m.long()
    if m.numel() and (int(m.min()) < 0 or int(m.max()) > 255):
        raise ValueError(f"{what} has object ids outside 0..255")
    if not bool((m > 0).any()):
        raise ValueError(f"{what} contains no object (every pixel is background)")
    return m


class InferenceEngine:
    """Propagate object masks through a video with a GSFM / STCN network.

    Args:
        model: a :class:`~gsfm.model.GSFMNet` (put in eval mode here).
        settings: top-k, memory cadence, protocol, precision and compilation
            (:class:`InferenceSettings`; default: the model's own top-k and cadence, the DAVIS
            protocol, float32, eager). ``self.settings`` holds them with the model's defaults
            filled in.

    Whole video: :meth:`propagate`. Frame by frame: :meth:`reset`, then :meth:`step` per frame.
    """

    def __init__(self, model: GSFMNet, settings: InferenceSettings | None = None) -> None:
        settings = (settings or InferenceSettings()).resolved(model.config)
        self.model = model.eval()
        self.device = next(model.parameters()).device
        settings.check_device(self.device)
        self.settings = settings
        self.protocol: InferenceProtocol = settings.protocol
        self.short_side = settings.short_side
        self.top_k: int | None = settings.top_k  # type: ignore[assignment]
        self.mem_every: int = settings.mem_every  # type: ignore[assignment]
        self.max_memory_chunk = settings.max_memory_chunk
        self.amp: str | None = settings.amp
        self.compile: str | None = settings.compile
        fast_cuda_kernels(self.device)  # cuDNN autotuner and TF32 on a GPU
        self._parts = _NetworkParts(
            self.model,
            self.device,
            check_amp(settings.amp, self.device),
            settings.compile,
            settings.compile_options,
        )
        self.reset()

    # --- frame-by-frame API ----------------------------------------------------------------
    def reset(self) -> None:
        """Forget the current video (memory, objects, frame counter)."""
        self.labels: list[int] = []
        self.memory_frames: list[int] = []
        self._banks: list[_Bank] = []
        self._t = 0
        self._last_memory: int | None = None
        self._size: tuple[int, int] | None = None

    @property
    def frame_index(self) -> int:
        """Index of the next frame :meth:`step` expects."""
        return self._t

    @torch.inference_mode()
    def step(
        self, frame: torch.Tensor, annotation: Any | None = None, *, last: bool = False
    ) -> torch.Tensor:
        """Segment the next frame; returns probabilities (K+1, H, W) over [bg, *self.labels].

        The probabilities are at the frame's own size in both protocols (``"youtube"``
        segments a resized copy and interpolates the probabilities back).
        frame: a normalised (3, H, W) tensor. annotation: optional (H, W) object-id map for this
        frame (ids 1..255; objects in it override the prediction, new ids start being tracked).
        last: True for the last frame of the video (it is never added to memory).
        """
        t = self._t
        if not isinstance(frame, torch.Tensor) or frame.dim() != 3 or frame.shape[0] != 3:
            shape = tuple(frame.shape) if isinstance(frame, torch.Tensor) else type(frame).__name__
            raise ValueError(f"frame {t} must be a normalised (3, H, W) tensor, got {shape}")
        size = (int(frame.shape[1]), int(frame.shape[2]))
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise ValueError(
                f"frame {t} has size {size[0]}x{size[1]} but the video's frames are "
                f"{self._size[0]}x{self._size[1]}"
            )
        ann = (
            None if annotation is None else _as_id_map(annotation, size, f"annotation of frame {t}")
        )
        self._t += 1
        if not self.labels and ann is None:  # nothing to track yet
            out = torch.zeros(1, *size, device=self.device)
            out[0] = 1.0
            return out

        youtube = self.protocol == "youtube"
        x = frame.to(self.device, torch.float32).unsqueeze(0)
        ann_in = ann
        if youtube:
            x, ann_in = self._resize_input(x, ann)
        image, pads = pad_to_multiple(x)
        if self.compile == "torch":
            torch.compiler.cudagraph_mark_step_begin()  # the previous step's outputs are done
        query = KeyFeatures(*self._parts.key(image))
        if self._banks:
            readout = torch.cat(
                [
                    self._parts.read(query.key, bank, self.top_k, self.max_memory_chunk)
                    for bank in self._banks
                ],
                dim=1,
            )
            with masks_only(
                getattr(self.model, "decoder", None)
            ):  # the boundary logits are not used here
                (obj_prob,) = self._parts.probs(*query, readout)
        else:
            obj_prob = torch.zeros(len(self.labels), *image.shape[-2:], device=self.device)

        new_labels: list[int] = []
        if youtube:
            prob = aggregate(obj_prob.unsqueeze(0))[0]  # (K+1, Hp, Wp)
            if ann is not None:
                ann_p, _ = pad_to_multiple(ann_in.to(self.device))
                ids = [int(v) for v in torch.unique(ann).tolist() if v]  # before resizing
                prob, new_labels = self._edit_annotated(prob, ann_p, ids)
            is_memory = ann is not None or (
                not last
                and self._last_memory is not None
                and t - self._last_memory >= self.mem_every
            )
            if is_memory:
                self._memorise(t, image, query, prob, new_labels)
            out = unpad(prob, pads)
            if out.shape[-2:] != size:
                out = F.interpolate(out.unsqueeze(0), size, mode="bilinear", align_corners=False)[0]
            return out

        if ann is not None:
            ann_p, _ = pad_to_multiple(ann.to(self.device))
            obj_prob = obj_prob * (ann_p == 0)  # annotated pixels belong to their object only
            for i, label in enumerate(self.labels):
                obj_prob[i][ann_p == label] = 1.0
            new_labels = [
                int(v) for v in torch.unique(ann_p).tolist() if v and v not in self.labels
            ]
            if new_labels:
                new = torch.stack([(ann_p == v).float() for v in new_labels])
                obj_prob = torch.cat([obj_prob, new], dim=0)
            self.labels = self.labels + new_labels

        prob = aggregate(obj_prob.unsqueeze(0))[0]  # (K+1, Hp, Wp)
        if ann is not None or (t % self.mem_every == 0 and not last):
            self._memorise(t, image, query, prob, new_labels)
        return unpad(prob, pads)

    def _resize_input(
        self, x: torch.Tensor, ann: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """YouTube protocol: frame (1, 3, H, W) bicubic and annotation nearest to short_side."""
        h, w = x.shape[-2:]
        target = short_side_size(h, w, self.short_side)
        if target == (h, w):
            return x, ann
        x = F.interpolate(x, target, mode="bicubic", align_corners=False, antialias=False)
        if ann is not None:
            ann = F.interpolate(ann[None, None].float(), target, mode="nearest")[0, 0].long()
        return x, ann

    def _edit_annotated(
        self, prob: torch.Tensor, ann_p: torch.Tensor, ids: list[int]
    ) -> tuple[torch.Tensor, list[int]]:
        """YouTube protocol: write an annotation into aggregated probabilities, aggregate again.

        prob (K+1, H, W) over [bg, *self.labels]; ann_p (H, W) padded id map; ids the objects
        the annotation names. Returns the new (K'+1, H, W) probabilities and the new ids.
        """
        prob = prob * (ann_p == 0)  # every channel, background included, is 0 under the masks
        channels = list(prob[1:])
        new_labels: list[int] = []
        for label in ids:
            mask = (ann_p == label).float()
            if label in self.labels:
                channels[self.labels.index(label)] = mask
            else:
                new_labels.append(label)
                channels.append(mask)
        self.labels = self.labels + new_labels
        return aggregate(torch.stack(channels).unsqueeze(0))[0], new_labels

    def _memorise(
        self, t: int, image: torch.Tensor, query: Any, prob: torch.Tensor, new: list[int]
    ) -> None:
        (values,) = self._parts.values(image, query.f16, prob[1:].unsqueeze(0))
        key, values = self._parts.stored(query.key.flatten(2), values)
        start = 0
        for bank in self._banks:
            bank.add(key, values[:, start : start + len(bank.labels)])
            start += len(bank.labels)
        if new:
            self._banks.append(_Bank(list(new), key, values[:, start:]))
        self.memory_frames.append(t)
        self._last_memory = t

    # --- whole video -----------------------------------------------------------------------
    def propagate(
        self,
        frames: torch.Tensor | Sequence[torch.Tensor],
        annotations: Any,
        *,
        return_probs: bool = False,
    ) -> VideoResult:
        """Segment a whole video.

        frames: normalised (T, 3, H, W) tensor, or a sequence of (3, H, W) tensors.
        annotations: an (H, W) id map for frame 0, or {frame index: (H, W) id map}.
        Frames before the first annotation are background.
        """
        if isinstance(frames, torch.Tensor):
            if frames.dim() != 4 or frames.shape[1] != 3:
                raise ValueError(f"frames must be (T, 3, H, W), got shape {tuple(frames.shape)}")
            seq: Sequence[torch.Tensor] = list(frames)
        else:
            seq = list(frames)
        n = len(seq)
        if n == 0:
            raise ValueError("the video has no frames")
        ann_by_t: dict[int, Any] = (
            dict(annotations) if isinstance(annotations, Mapping) else {0: annotations}
        )
        if not ann_by_t:
            raise ValueError("no annotation given: at least one frame needs an object mask")
        bad = sorted(k for k in ann_by_t if not (isinstance(k, int) and 0 <= k < n))
        if bad:
            raise ValueError(f"annotations for frames {bad} but the video has {n} frames")
        for t, f in enumerate(seq):  # check sizes before spending any time
            if not isinstance(f, torch.Tensor) or f.dim() != 3 or f.shape[0] != 3:
                raise ValueError(f"frame {t} must be a (3, H, W) tensor")
            if f.shape != seq[0].shape:
                raise ValueError(
                    f"frame {t} has size {f.shape[1]}x{f.shape[2]} but frame 0 is "
                    f"{seq[0].shape[1]}x{seq[0].shape[2]}: all frames of a video must have one size"
                )
        seq = [f.to(self.device) for f in seq]

        self.reset()
        masks: list[torch.Tensor] = []
        probs: list[torch.Tensor] = []
        lookup_labels: list[int] | None = None
        _sync(self.device)
        start = time.perf_counter()
        for t, frame in enumerate(seq):
            prob = self.step(frame, ann_by_t.get(t), last=t == n - 1)
            if self.labels != lookup_labels:  # a host-to-device copy waits for the device
                lookup_labels = list(self.labels)
                lookup = torch.tensor([0, *lookup_labels], device=prob.device, dtype=torch.uint8)
            masks.append(lookup[prob.argmax(0)])  # stays on the device: no wait per frame
            if return_probs:
                probs.append(prob.float().cpu())
        mask_stack = torch.stack(masks).cpu()
        _sync(self.device)
        seconds = time.perf_counter() - start

        stacked = None
        if return_probs:
            k1 = len(self.labels) + 1
            stacked = np.zeros((n, k1, *seq[0].shape[-2:]), dtype=np.float32)
            for t, p in enumerate(probs):
                stacked[t, : p.shape[0]] = p.numpy()
        return VideoResult(
            masks=mask_stack.numpy(),
            labels=list(self.labels),
            seconds=seconds,
            fps=n / seconds if seconds > 0 else float("inf"),
            memory_frames=list(self.memory_frames),
            probs=stacked,
        )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
