"""The embedded synthetic VOS benchmark (``synth-v1``): a procedural video generator, a
frozen validation split, a small-object split, a written training split, and an endless
in-memory training stream.

Why: nothing can be downloaded here, yet GSFM and its STCN baseline must be told apart by
measurement. So the videos are small enough for a CPU and hard in the paper's ways:

* lookalike distractors: unannotated objects with the target's texture and a perturbed copy of
  its shape, moving near it (the matching confusion of the paper's Fig. 1);
* small targets (below 1 % and 0.5 % of the frame, for Table 6);
* fine boundaries: thin limbs, rings with a gap, scikit-image's horse silhouette;
* occlusion by depth order (unannotated occluders and other objects pass in front);
* objects first annotated in a later frame (YouTube-VOS style) and objects that leave the
  frame and come back;
* camera pan and zoom, rotation, scale change and shear deformation, noise and blur;
* real photographic textures from scikit-image plus procedural textures
  (:mod:`gsfm.data.synthetic.textures`).

Each video of the val split has a primary *case* (one of :data:`CASES`, cycled over videos)
and samples the other factors at base rates. Every factor is recorded per object in the
metadata table written next to the videos (:func:`object_table`).

Modules, each importing only those above it:

* :mod:`.shapes` and :mod:`.textures`: the object silhouettes and the photographic and
  procedural textures the scenes are drawn with;
* :mod:`.spec`: the versions (:data:`VERSIONS`, :func:`get_version`), splits, cases and video
  names, and the scene dataclasses :class:`VideoSpec` / :class:`ObjectSpec`;
* :mod:`.sampling`: :func:`sample_video`, drawing a scene from a seeded generator;
* :mod:`.render`: :func:`render_frames`, a scene's frames and visible target labels;
* :mod:`.video`: :func:`generate_video` (sample, render, apply the first-annotation rule),
  :class:`SyntheticVideo` and :func:`object_table`;
* :mod:`.splits`: writing a split in the DAVIS layout (:func:`write_split`), checking or
  removing a written one (:func:`split_settings`, :func:`split_problems`, ...) and writing one
  once under a data folder (:func:`ensure_split`, :func:`split_folder`, :func:`synth_data_dir`);
* :mod:`.dataset`: :class:`SyntheticTrainSet`, the in-memory training stream.

Every public name is re-exported here: import from ``gsfm.data.synthetic``.

Versioning: the generator parameters of a version live in one place, :data:`VERSIONS`
(``SynthVersion``). ``v1`` is frozen: its videos must never change; a test hashes the decoded
masks of a val video against a recorded value. Change the generator only by adding ``v2``.
``small-v1`` is a second frozen version with one scoring-only ``small`` split (Table 6): every
object covers 0.1-5 % of the frame and at least one key-feature cell (``spec.KEY_CELL``) in
every frame; its version fields ``min_key_cells`` and ``area_share`` say so (v1 has none).

Determinism: video ``i`` of a split is a pure function of ``(version, split, seed, i)``
(numpy ``Generator`` seeded with that tuple; per-frame noise from ``(frame_seed, t)``), so one
video or one frame can be rendered alone. Rendering uses OpenCV's fixed-point ``warpAffine``
on uint8 images, float32 compositing and integer polygon filling. Within one machine two runs
write byte-identical trees (tested). Across machines the decoded pixels are identical given the
same OpenCV / NumPy / scikit-image versions; we cannot promise more for two reasons we do not
control: libm's sin/cos may differ in the last bit between platforms (a rare pixel flip), and
the file bytes depend on the JPEG (libjpeg-turbo) and PNG (zlib) encoders bundled with Pillow.
"""

from __future__ import annotations

from gsfm.data.synthetic.render import render_frames
from gsfm.data.synthetic.sampling import sample_video
from gsfm.data.synthetic.spec import (
    CASES,
    SPLITS,
    VERSIONS,
    ObjectSpec,
    SynthVersion,
    VideoSpec,
    split_names,
)
from gsfm.data.synthetic.spec import get_version as get_version
from gsfm.data.synthetic.splits import (
    DATA_DIR_ENV,
    default_workers,
    describe_split,
    ensure_split,
    read_split_record,
    remove_split,
    split_folder,
    split_paths,
    split_problems,
    split_settings,
    split_unverified,
    synth_data_dir,
    write_split,
)
from gsfm.data.synthetic.splits import split_identity as split_identity
from gsfm.data.synthetic.video import SyntheticVideo, generate_video, object_table


def __getattr__(name: str) -> object:
    """``SyntheticTrainSet`` on first use: its module imports torch, which the rest of the
    package (and ``python -m gsfm --help``, which reads the versions and splits) does not need."""
    if name == "SyntheticTrainSet":
        from gsfm.data.synthetic.dataset import SyntheticTrainSet

        return SyntheticTrainSet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ``get_version`` and ``split_identity`` are public too (explicit re-exports above), but are
# left out of ``import *`` as they always were.
__all__ = [
    "CASES",
    "DATA_DIR_ENV",
    "SPLITS",
    "VERSIONS",
    "ObjectSpec",
    "SynthVersion",
    "SyntheticTrainSet",
    "SyntheticVideo",
    "VideoSpec",
    "default_workers",
    "describe_split",
    "ensure_split",
    "generate_video",
    "object_table",
    "read_split_record",
    "remove_split",
    "render_frames",
    "sample_video",
    "split_names",
    "split_folder",
    "split_paths",
    "split_problems",
    "split_settings",
    "split_unverified",
    "synth_data_dir",
    "write_split",
]
