"""The ablation studies as data: :class:`Variant`, :class:`EvalSplit`, :class:`Study` and
:data:`STUDIES`.

A :class:`Study` is a list of :class:`Variant` s (label, base model, :class:`~gsfm.config.
ModelConfig` overrides, inference settings) and the validation splits they are scored on. The
studies follow the paper's ablations (``docs/paper_vs_code.md`` §10 maps them to the paper's
rows and says what is approximated):

* ``sigma`` (Fig. 6a): σ ∈ {3, 5, 7, 10, 15}, twice: in bins at the profile's own map size
  (the authors' fixed-bin choice) and ``relative`` at σ/24 of the map size (the share of the
  spectrum σ covers on the paper's 24×24 training maps); scored on the validation split at
  its size and at 1.5 times it.
* ``placement`` (Table 3): the paper's six (LFM band, HFM band) pairs.
* ``components`` (Table 5): STCN plus LFM, HFM and the boundary branch as the table pairs
  them, all scored with the same inference settings (GSFM's) so that only training differs.
* ``generalization`` (Table 4, approximate): the frequency modules on an STM-style memory read
  (dot-product affinity, no top-k) and on STCN's L2 read.
* ``small_objects`` (Table 6): GSFM vs STCN, scored per object with its area.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gsfm.ablation.paper import PAPER_MAP_SIDE
from gsfm.config import model_config, profile_sizes
from gsfm.data.synthetic import get_version, split_names

__all__ = [
    "STUDIES",
    "EvalSplit",
    "Study",
    "Variant",
    "get_studies",
    "split_arguments",
    "split_label",
]


_GSFM_INFERENCE: dict[str, Any] = {"top_k": 50, "mem_every": 3}  # GSFM's own (docs §5)
_STCN_INFERENCE: dict[str, Any] = {"top_k": 20, "mem_every": 5}  # STCN's own
_PAPER_SIGMAS: tuple[int, ...] = (3, 5, 7, 10, 15)


@dataclass(frozen=True)
class Variant:
    """One row of an ablation: a base model, the ModelConfig fields it changes (training and
    architecture), and inference settings (``top_k``, ``mem_every``; empty: the model's own)."""

    label: str
    model: str = "gsfm"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    inference: Mapping[str, Any] = field(default_factory=dict)
    reference: bool = False  # differences in the study are taken against this variant
    # the variant this one is compared with when not the study's reference (e.g. a σ in the
    # relative mode against the paper's σ in that mode); None: the reference
    compare_to: str | None = None

    def __post_init__(self) -> None:
        model_config(self.model, "smoke", **dict(self.overrides))  # unknown fields raise here
        if self.reference and self.compare_to is not None:
            raise ValueError(f"variant {self.label!r}: the reference is compared with nothing")
        unknown = set(self.inference) - {"top_k", "mem_every"}
        if unknown:
            raise ValueError(f"variant {self.label!r}: unknown inference setting(s) {unknown}")


@dataclass(frozen=True)
class EvalSplit:
    """A validation split of the synthetic benchmark, at ``scale`` times the profile's size;
    ``version``: the benchmark version it is drawn from (``val96-v1``: 96 videos drawn as v1's
    val, scoring only)."""

    split: str = "val"
    scale: float = 1.0
    version: str = "v1"

    def __post_init__(self) -> None:
        # an unknown version, or a split it lacks, is refused here: before any plan or dry run
        split_names(self.split, self.version)
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")


@dataclass(frozen=True)
class Study:
    """An ablation: what it asks, where the paper reports it, its variants and splits."""

    name: str
    source: str
    question: str
    variants: tuple[Variant, ...]
    splits: tuple[EvalSplit, ...] = (EvalSplit(),)
    per_object: bool = False  # also write <study>_objects.csv
    # (variant, baseline) compared too, beyond each variant's own baseline: a second question
    # one variant answers (e.g. GSFM against STCN with the same three modules)
    extra_pairs: tuple[tuple[str, str], ...] = ()

    @property
    def reference(self) -> Variant:
        """The variant the others are compared with."""
        return next(v for v in self.variants if v.reference)

    def __post_init__(self) -> None:
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels):
            raise ValueError(f"study {self.name!r}: variant labels repeat: {labels}")
        if sum(v.reference for v in self.variants) != 1:
            raise ValueError(f"study {self.name!r} needs exactly one reference variant")
        for v in self.variants:
            if v.compare_to is not None and (v.compare_to not in labels or v.compare_to == v.label):
                raise ValueError(
                    f"study {self.name!r}: variant {v.label!r} is compared with "
                    f"{v.compare_to!r}, which is not another variant of the study"
                )
        for pair in self.extra_pairs:
            if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(labels):
                raise ValueError(
                    f"study {self.name!r}: extra pair {pair!r} must name two different "
                    f"variants of the study ({labels})"
                )

    def baselines(self) -> dict[str, str]:
        """Each variant but the reference: the label of the variant it is compared with."""
        return {
            v.label: v.compare_to or self.reference.label for v in self.variants if not v.reference
        }


def _sigma_variants() -> tuple[Variant, ...]:
    bins = [
        Variant(f"sigma={s}", overrides={} if s == 7 else {"sigma": float(s)}, reference=s == 7)
        for s in _PAPER_SIGMAS
    ]
    # each relative σ is compared with the paper's σ in the same mode (7/24), and that one
    # with the reference (7 bins): how much the mode itself moves the score at the paper's σ
    relative = [
        Variant(
            f"sigma={s}/{PAPER_MAP_SIDE} relative",
            overrides={"sigma": s / PAPER_MAP_SIDE, "sigma_mode": "relative"},
            compare_to=None if s == 7 else f"sigma=7/{PAPER_MAP_SIDE} relative",
        )
        for s in _PAPER_SIGMAS
    ]
    return (*bins, *relative)


# Table 3's (LFM, HFM) placements; freqL + freqH is GSFM itself.
_PLACEMENTS: tuple[tuple[str, str, str], ...] = (
    ("freqF+freqH", "all", "high"),
    ("freqH+freqH", "high", "high"),
    ("attention+freqH", "attention", "high"),
    ("freqL+freqF", "low", "all"),
    ("freqL+freqL", "low", "low"),
    ("freqL+freqH", "low", "high"),
)

_COMPONENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("STCN", {}),
    ("+LFM", {"lfm": "low"}),
    ("+HFM", {"hfm": "high"}),
    ("+LFM+HFM", {"lfm": "low", "hfm": "high"}),
    ("+HFM+boundary", {"hfm": "high", "boundary": True}),
    ("+LFM+HFM+boundary", {"lfm": "low", "hfm": "high", "boundary": True}),
)

STUDIES: dict[str, Study] = {
    s.name: s
    for s in (
        Study(
            "sigma",
            "Fig. 6a",
            "How wide should the LFM's low-pass Gaussian be, and does a width fixed in frequency "
            "bins transfer to another map size?",
            _sigma_variants(),
            splits=(EvalSplit("val", 1.0), EvalSplit("val", 1.5)),
        ),
        Study(
            "placement",
            "Table 3",
            "Which band should each module enhance: low in the encoder and high in the decoder, "
            "as GSFM does, or another pair?",
            tuple(
                Variant(label, overrides={"lfm": lfm, "hfm": hfm}, reference=label == "freqL+freqH")
                for label, lfm, hfm in _PLACEMENTS
            ),
        ),
        Study(
            "components",
            "Table 5",
            "What does each GSFM component add to STCN, alone and together (J&F and speed)?",
            (
                *(
                    Variant(label, "stcn", over, _GSFM_INFERENCE, reference=label == "STCN")
                    for label, over in _COMPONENTS
                ),
                Variant("GSFM", "gsfm", {}, _GSFM_INFERENCE),
            ),
            # GSFM and STCN+LFM+HFM+boundary differ only in the key encoder's conv biases
            # (`key_conv_bias`, the authors' mod_resnet). Under trained batch norm (the cpu
            # profile) those biases are cancelled, so this pair asks how far two runs of one
            # network can drift apart; with frozen BN (paper profile) it is the biases' effect.
            extra_pairs=(("GSFM", "+LFM+HFM+boundary"),),
        ),
        Study(
            "generalization",
            "Table 4 (approximate)",
            "Do the frequency modules help another memory read too? (An STM-style dot-product "
            "read without top-k stands in for the paper's STM / KMN / MiVOS rows.)",
            (
                Variant("STM-read", "stcn", {"affinity": "dot"}, {"top_k": None, "mem_every": 5}),
                Variant(
                    "STM-read+freq", "gsfm", {"affinity": "dot"}, {"top_k": None, "mem_every": 5}
                ),
                # each read at its own method's settings, with and without the modules: STCN's
                # (top-k 20, memory every 5 frames; the stcn model's own, hence no override)
                Variant("STCN-read", "stcn", reference=True),
                Variant("STCN-read+freq", "gsfm", {}, _STCN_INFERENCE),
            ),
        ),
        Study(
            "small_objects",
            "Table 6, Fig. 7",
            "Does the LFM's low-pass filtering in the encoder lose small objects?",
            (Variant("STCN", "stcn", reference=True), Variant("GSFM", "gsfm")),
            splits=(EvalSplit("val", 1.0), EvalSplit("small", 1.0)),
            per_object=True,
        ),
    )
}


def get_studies(names: str | Iterable[str] = "all") -> list[Study]:
    """The studies named (``"all"``: every one, in order); unknown names raise."""
    wanted = list(STUDIES) if names == "all" else [names] if isinstance(names, str) else list(names)
    unknown = [n for n in wanted if n not in STUDIES]
    if unknown:
        raise ValueError(f"unknown study {unknown}; choose from {list(STUDIES)} or 'all'")
    return [STUDIES[n] for n in wanted]


# --- evaluation splits -----------------------------------------------------------------------


def split_arguments(profile: str, split: EvalSplit) -> dict[str, Any]:
    """Keyword arguments of :func:`gsfm.data.synthetic.ensure_split` for ``split`` under
    ``profile``: the profile's evaluation subset and size, scaled (sides rounded to 16), and
    the benchmark version where it is not v1."""
    sizes, v = profile_sizes(profile), get_version(split.version)
    h, w = sizes.eval_height or v.height, sizes.eval_width or v.width
    if split.scale != 1.0:
        h, w = (max(16, round(x * split.scale / 16) * 16) for x in (h, w))
    out: dict[str, Any] = {"height": h, "width": w}
    if sizes.eval_videos is not None:
        out["limit"] = sizes.eval_videos
    if split.version != "v1":
        out["version"] = split.version
    return out


def split_label(profile: str, split: EvalSplit) -> str:
    """The ``split`` column: the split's name, plus its size when scaled (``val-240x432``) and
    its benchmark version when not v1 (``val-val96-v1``)."""
    label = split.split if split.version == "v1" else f"{split.split}-{split.version}"
    if split.scale == 1.0:
        return label
    s = split_arguments(profile, split)
    return f"{label}-{s['height']}x{s['width']}"
