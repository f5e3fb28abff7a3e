"""Property test of the folder readers: a correct read or one clear error, never a traceback.

Hypothesis writes tiny folders in the DAVIS layout (``JPEGImages/<res>/<video>``,
``Annotations/<res>/<video>``, optionally ``ImageSets/2017/val.txt``) or the YouTube-VOS valid
layout (``valid/JPEGImages/<video>``, ``valid/Annotations/<video>``, ``valid/meta.json``) and a
prediction folder, with up to three random defects:

* missing files: a frame's JPEG or PNG gone, an annotation without a frame, every PNG gone, a
  whole image / annotation / prediction folder gone, a prediction missing (gaps in the frame
  numbering are part of every draw; a frame or prediction without ground truth is an error of
  ``score_folders``, and a frame without annotation or an annotation without frame one of
  ``VOSTripletDataset``, found when it is built);
* extra files: ``notes.txt``, ``.DS_Store``, ``._00000.png``-style AppleDouble files, a
  sub-folder (also one named like a frame, ``extra.png``), a hidden folder, stray files at
  the top levels;
* unreadable images: random bytes, an empty file, a truncated file, a JPEG with a byte flipped
  (which may still decode), a header claiming 30000 x 30000 pixels (a "decompression bomb");
* a mask or a frame of another size (a frame and its mask both of another size too);
* annotation modes: palette "P", grey "L" and 16-bit grey PNGs (valid); RGB / RGBA / LA PNGs and
  16-bit ids above 255 (documented errors);
* ids: non-consecutive and large ids (7, 200), an object first annotated in a later frame, void
  (255); a predicted id the ground truth lacks, a predicted 255;
* ``meta.json`` / ``ImageSets`` faults: unparsable, an object in no PNG, an object in a PNG but
  not in ``meta.json``, a listed video that does not exist.

Every reader (``DAVISEvalDataset``, ``YouTubeVOSEvalDataset``, ``VOSTripletDataset``,
``score_folders``) must then either read the folder correctly (frame counts, mask shape = frame
shape, object ids, perfect scores for a perfect prediction) or raise ``FileNotFoundError`` /
``ValueError`` whose message names the offending file or folder. Extra files are ignored.
"""

from __future__ import annotations

import io
import json
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from gsfm.data.davis import DAVISEvalDataset
from gsfm.data.io import DAVIS_PALETTE
from gsfm.data.triplets import VOSTripletDataset
from gsfm.data.youtube import YouTubeVOSEvalDataset
from gsfm.metrics import score_folders

H, W = 16, 24
BIG = (H + 4, W + 8)  # "another size"
ID_POOL = (1, 2, 3, 4, 7, 200)
UNKNOWN_ID = 250  # never in the ground truth
VOID = 255
DAVIS_NAMES = ("bear", "cows")
YT_NAMES = ("0a1b2c3d", "ff00ee11")
ORPHAN = "00099"  # an annotation stem that has no frame

# --- the case: plain data, so that Hypothesis prints it and @example can state it --------------

_video = st.fixed_dictionaries(
    {
        "n": st.integers(2, 4),
        "start": st.integers(0, 3),
        "steps": st.lists(st.sampled_from([1, 1, 2, 5]), min_size=3, max_size=3),
        "ids": st.lists(st.sampled_from(ID_POOL), max_size=3, unique=True),
        "late": st.booleans(),  # the last id is first annotated in frame 1
        "void": st.booleans(),  # a 255 region in every frame
        "mode": st.sampled_from(["P", "L", "I;16"]),
        "pred_mode": st.sampled_from(["P", "L"]),
    }
)
_v = st.integers(0, 1)
_t = st.integers(0, 3)
EXTRA_NAMES = (
    "notes.txt",
    ".DS_Store",
    "._{stem}.jpg",
    "._{stem}.png",
    "Thumbs.db",
    "dir:sub",
    "dir:extra.png",
    "dir:extra.jpg",
    "dir:.ipynb_checkpoints",
    "dup:{stem}.jpeg",  # a second frame 00000 beside 00000.jpg (an error in a frame folder)
)
STRAY_PLACES = ("root", "img_top", "ann_top", "img_res", "ann_res", "pred_top")
_defect = st.one_of(
    st.tuples(st.just("drop_jpg"), _v, _t),
    st.tuples(st.just("drop_png"), _v, _t),
    st.tuples(st.just("drop_all_png"), _v),
    st.tuples(st.just("no_dir"), st.sampled_from(["img", "ann", "pred"]), _v),
    st.tuples(st.just("orphan_png"), _v),
    st.tuples(
        st.just("extra"), st.sampled_from(["img", "ann", "pred"]), _v, st.sampled_from(EXTRA_NAMES)
    ),
    st.tuples(
        st.just("stray"),
        st.sampled_from(STRAY_PLACES),
        st.sampled_from(["README.txt", ".DS_Store", "list.txt"]),
    ),
    st.tuples(
        st.just("corrupt"),
        st.sampled_from(["jpg", "png", "pred"]),
        _v,
        _t,
        st.sampled_from(["garbage", "empty", "trunc", "flip", "bomb"]),
        st.binary(min_size=1, max_size=32),
        st.integers(0, 10**6),
    ),
    st.tuples(st.just("big"), st.sampled_from(["jpg", "png", "pred", "pair"]), _v, _t),
    st.tuples(
        st.just("bad_mode"),
        st.sampled_from(["png", "pred"]),
        _v,
        _t,
        st.sampled_from(["RGB", "RGBA", "LA", "I16>255"]),
    ),
    st.tuples(st.just("pred_missing"), _v, _t),
    st.tuples(st.just("pred_id"), _v, _t, st.sampled_from([UNKNOWN_ID, VOID])),
    st.tuples(
        st.just("meta"),
        st.sampled_from(["corrupt", "extra_object", "missing_object", "drop_video"]),
        _v,
    ),
    st.tuples(st.just("split"), st.sampled_from(["ghost", "subset"]), _v),
)
CASES = st.fixed_dictionaries(
    {
        "layout": st.sampled_from(["davis", "youtube"]),
        "res": st.sampled_from(["480p", "Full-Resolution"]),
        "imagesets": st.booleans(),
        "videos": st.lists(_video, min_size=1, max_size=2),
        "defects": st.lists(_defect, min_size=1, max_size=3),
    }
)


def _vid(**kw: Any) -> dict[str, Any]:
    """A video spec for the regression examples (defaults: 3 frames, objects 1 and 2)."""
    spec = {
        "n": 3,
        "start": 0,
        "steps": [1, 1, 1],
        "ids": [1, 2],
        "late": False,
        "void": False,
        "mode": "P",
        "pred_mode": "P",
    }
    spec.update(kw)
    return spec


def _case(*defects: tuple, layout: str = "davis", res: str = "480p", n_videos: int = 1, **kw):
    return {
        "layout": layout,
        "res": res,
        "imagesets": kw.pop("imagesets", False),
        "videos": [_vid(**kw) for _ in range(n_videos)],
        "defects": list(defects),
    }


# --- the folder model: what is on disk, and what each file should read as ---------------------


@dataclass
class Video:
    name: str
    spec: dict[str, Any]
    stems: list[str]
    # per stem: kind "ok" | "bad" (unreadable) | "flip" (one byte flipped, may decode) |
    # "mode" (a mode that is not an id map), and the size of the written image
    jpg: dict[str, str] = field(default_factory=dict)
    jpg_size: dict[str, tuple[int, int]] = field(default_factory=dict)
    png: dict[str, str] = field(default_factory=dict)
    png_size: dict[str, tuple[int, int]] = field(default_factory=dict)
    pred: dict[str, str] = field(default_factory=dict)
    pred_size: dict[str, tuple[int, int]] = field(default_factory=dict)
    pred_id: dict[str, int] = field(default_factory=dict)
    bad_bytes: dict[tuple[str, str], tuple[str, bytes, int]] = field(default_factory=dict)
    bad_mode: dict[tuple[str, str], str] = field(default_factory=dict)
    dirs: dict[str, bool] = field(default_factory=lambda: {"img": True, "ann": True, "pred": True})
    extras: list[tuple[str, str]] = field(default_factory=list)
    meta_extra: bool = False
    meta_missing: int | None = None
    meta_dropped: bool = False

    @property
    def duplicate_frame(self) -> bool:
        """Whether the image folder holds 00000.jpg and 00000.jpeg (see ``EXTRA_NAMES``)."""
        return (
            self.dirs["img"]
            and self.stems[0] in self.jpg
            and any(p == "img" and n.startswith("dup:") for p, n in self.extras)
        )

    def frame_index(self, stem: str) -> int:
        return self.stems.index(stem) if stem in self.stems else len(self.stems)

    def truth(self, stem: str, size: tuple[int, int] = (H, W)) -> np.ndarray:
        """The id map written for ``stem`` (objects in fixed cells of an 8x8 grid)."""
        t = self.frame_index(stem)
        m = np.zeros(size, np.uint8)
        ids = self.spec["ids"]
        for j, k in enumerate(ids):
            if self.spec["late"] and j == len(ids) - 1 and len(ids) > 1 and t < 1:
                continue
            r0, c0 = 8 * (j // 3), 8 * (j % 3)
            m[r0 + 1 + t % 2 : r0 + 6, c0 + 1 + t % 3 : c0 + 7] = k
        if self.spec["void"]:
            m[9:15, 17:23] = VOID
        return m

    def objects(self, stems: list[str]) -> set[int]:
        ids: set[int] = set()
        for s in stems:
            ids |= set(np.unique(self.truth(s)).tolist())
        return ids - {0, VOID}


@dataclass
class Case:
    spec: dict[str, Any]
    root: Path
    pred_root: Path
    videos: list[Video]
    split: list[str] | None = None
    meta: dict[str, Any] | None = None
    meta_corrupt: bool = False
    strays: list[tuple[str, str]] = field(default_factory=list)

    @property
    def youtube(self) -> bool:
        return self.spec["layout"] == "youtube"

    @property
    def data_root(self) -> Path:
        """What the DAVIS-layout readers and score_folders are pointed at."""
        return self.root / "valid" if self.youtube else self.root

    @property
    def img_root(self) -> Path:
        base = self.data_root / "JPEGImages"
        return base if self.youtube else base / self.spec["res"]

    @property
    def ann_root(self) -> Path:
        base = self.data_root / "Annotations"
        return base if self.youtube else base / self.spec["res"]

    def by_name(self, name: str) -> Video | None:
        return next((v for v in self.videos if v.name == name), None)

    def jpg_path(self, v: Video, s: str) -> Path:
        return self.img_root / v.name / f"{s}.jpg"

    def png_path(self, v: Video, s: str) -> Path:
        return self.ann_root / v.name / f"{s}.png"

    def pred_path(self, v: Video, s: str) -> Path:
        return self.pred_root / v.name / f"{s}.png"


def make_case(spec: dict[str, Any], tmp: Path) -> Case:
    names = YT_NAMES if spec["layout"] == "youtube" else DAVIS_NAMES
    videos = []
    for i, vs in enumerate(spec["videos"]):
        offsets = np.cumsum([vs["start"], *vs["steps"]])[: vs["n"]]
        stems = [f"{int(o):05d}" for o in offsets]
        v = Video(names[i], vs, stems)
        for s in stems:
            v.jpg[s], v.jpg_size[s] = "ok", (H, W)
            v.png[s], v.png_size[s] = "ok", (H, W)
            v.pred[s], v.pred_size[s] = "ok", (H, W)
        videos.append(v)
    case = Case(spec, tmp / "data", tmp / "pred", videos)
    if not case.youtube and spec["imagesets"]:
        case.split = [v.name for v in videos]
    for d in spec["defects"]:
        apply_defect(case, d)
    if case.youtube:
        case.meta = {"videos": {}}
        for v in videos:
            if v.meta_dropped:
                continue
            ids = sorted(v.objects(list(v.png)))
            if v.meta_missing is not None and ids:
                ids.remove(ids[v.meta_missing % len(ids)])
            if v.meta_extra:
                ids.append(99)
            case.meta["videos"][v.name] = {
                "objects": {str(k): {"category": "thing", "frames": []} for k in ids}
            }
    write_case(case)
    return case


def apply_defect(case: Case, d: tuple) -> None:
    kind = d[0]
    if kind == "stray":
        case.strays.append((d[1], d[2]))
        return
    if kind == "split":
        if case.split is not None:
            if d[1] == "ghost":
                case.split.append("ghost")
            else:
                name = case.videos[d[2] % len(case.videos)].name
                case.split = [n for n in case.split if n != name]
        return
    if kind == "meta" and d[1] == "corrupt":
        case.meta_corrupt = True
        return
    # tuple shapes: (kind, v, t, ...) or (kind, part, v, t, ...)
    v_at = 1 if kind in ("drop_jpg", "drop_png", "drop_all_png", "orphan_png") else 2
    v_at = 1 if kind in ("pred_missing", "pred_id") else v_at
    v = case.videos[d[v_at] % len(case.videos)]
    with_t = ("drop_jpg", "drop_png", "pred_missing", "pred_id", "corrupt", "big", "bad_mode")
    stem = v.stems[d[v_at + 1] % len(v.stems)] if kind in with_t else ""
    if kind == "drop_jpg":
        v.jpg.pop(stem, None)
    elif kind == "drop_png":
        v.png.pop(stem, None)
    elif kind == "drop_all_png":
        v.png.clear()
    elif kind == "no_dir":
        v.dirs[d[1]] = False
    elif kind == "orphan_png":
        v.png[ORPHAN], v.png_size[ORPHAN] = "ok", (H, W)
        v.pred[ORPHAN], v.pred_size[ORPHAN] = "ok", (H, W)
    elif kind == "extra":
        v.extras.append((d[1], d[3]))
    elif kind == "corrupt":
        part, how, payload, k = d[1], d[4], d[5], d[6]
        if how == "flip" and part != "jpg":
            how = "trunc"  # a flipped PNG byte may decode to other ids: not a reader fault
        table = {"jpg": v.jpg, "png": v.png, "pred": v.pred}[part]
        table[stem] = "flip" if how == "flip" else "bad"
        v.bad_bytes[(part, stem)] = (how, payload, k)
    elif kind == "big":
        part = d[1]
        if part in ("jpg", "pair"):
            v.jpg_size[stem] = BIG
        if part in ("png", "pair"):
            v.png_size[stem] = BIG
        if part == "pred":
            v.pred_size[stem] = BIG
        if part == "pair":
            v.pred_size[stem] = BIG
    elif kind == "bad_mode":
        table = v.png if d[1] == "png" else v.pred
        table[stem] = "mode"
        v.bad_mode[(d[1], stem)] = d[4]
    elif kind == "pred_missing":
        v.pred.pop(stem, None)
    elif kind == "pred_id":
        v.pred_id[stem] = d[3]
    elif kind == "meta":
        if d[1] == "extra_object":
            v.meta_extra = True
        elif d[1] == "missing_object":
            v.meta_missing = d[2]
        elif d[1] == "drop_video":
            v.meta_dropped = True


# --- writing ----------------------------------------------------------------------------------


def _encode_mask(m: np.ndarray, mode: str) -> bytes:
    if mode == "P":
        img = Image.fromarray(m, mode="P")
        img.putpalette(DAVIS_PALETTE.ravel().tolist())
    elif mode == "L":
        img = Image.fromarray(m, mode="L")
    elif mode in ("I;16", "I16>255"):
        a = m.astype(np.uint16)
        if mode == "I16>255":
            a = a + 300  # every pixel, so that an empty mask is out of range too
        img = Image.fromarray(a)
    elif mode == "RGB":
        img = Image.fromarray(DAVIS_PALETTE[m])
    elif mode == "RGBA":
        img = Image.fromarray(np.dstack([DAVIS_PALETTE[m], np.full(m.shape, 255, np.uint8)]))
    elif mode == "LA":
        img = Image.fromarray(np.dstack([m, np.full(m.shape, 255, np.uint8)]), mode="LA")
    else:  # pragma: no cover
        raise AssertionError(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _encode_jpeg(size: tuple[int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(
        buf, format="JPEG", quality=90
    )
    return buf.getvalue()


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


# a well-formed PNG header that claims 30000 x 30000 pixels: Pillow's decompression-bomb guard
BOMB = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
    + _png_chunk(b"IEND", b"")
)


def _damage(data: bytes, how: str, payload: bytes, k: int) -> bytes:
    if how == "bomb":
        return BOMB
    if how == "garbage":
        return payload
    if how == "empty":
        return b""
    if how == "trunc":
        return data[: max(1, int(len(data) * (0.05 + (k % 56) / 100)))]
    flipped = bytearray(data)
    flipped[k % len(data)] ^= 0xFF
    return bytes(flipped)


def _write_extra(folder: Path, name: str, stem: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if name.startswith("dup:"):
        (folder / name[4:].format(stem=stem)).write_bytes(_encode_jpeg((H, W), 7))
    elif name.startswith("dir:"):
        sub = folder / name[4:]
        sub.mkdir(exist_ok=True)
        (sub / "inside.png").write_bytes(b"not a png")
    else:
        (folder / name.format(stem=stem)).write_bytes(b"\x00\x05\x16\x07junk")


def write_case(case: Case) -> None:
    case.img_root.mkdir(parents=True, exist_ok=True)
    case.ann_root.mkdir(parents=True, exist_ok=True)
    case.pred_root.mkdir(parents=True, exist_ok=True)
    for vi, v in enumerate(case.videos):
        folders = {
            "img": case.img_root / v.name,
            "ann": case.ann_root / v.name,
            "pred": case.pred_root / v.name,
        }
        for part, folder in folders.items():
            if v.dirs[part]:
                folder.mkdir(parents=True, exist_ok=True)
        if v.dirs["img"]:
            for s, kind in v.jpg.items():
                data = _encode_jpeg(v.jpg_size[s], 100 * vi + v.frame_index(s))
                if kind in ("bad", "flip"):
                    data = _damage(data, *v.bad_bytes[("jpg", s)])
                case.jpg_path(v, s).write_bytes(data)
        if v.dirs["ann"]:
            for s, kind in v.png.items():
                mode = v.bad_mode.get(("png", s), v.spec["mode"])
                data = _encode_mask(v.truth(s, v.png_size[s]), mode)
                if kind == "bad":
                    data = _damage(data, *v.bad_bytes[("png", s)])
                case.png_path(v, s).write_bytes(data)
        if v.dirs["pred"]:
            for s, kind in v.pred.items():
                m = v.truth(s, v.pred_size[s])
                m[m == VOID] = 0  # a perfect prediction: void is not an object
                if s in v.pred_id:
                    m[0:2, 0:3] = v.pred_id[s]
                mode = v.bad_mode.get(("pred", s), v.spec["pred_mode"])
                data = _encode_mask(m, mode)
                if kind == "bad":
                    data = _damage(data, *v.bad_bytes[("pred", s)])
                case.pred_path(v, s).write_bytes(data)
        for part, name in v.extras:
            if v.dirs[part] and (not name.startswith("dup:") or v.stems[0] in v.jpg):
                _write_extra(folders[part], name, v.stems[0])
    places = {
        "root": case.root,
        "img_top": case.data_root / "JPEGImages",
        "ann_top": case.data_root / "Annotations",
        "img_res": case.img_root,
        "ann_res": case.ann_root,
        "pred_top": case.pred_root,
    }
    for place, name in case.strays:
        (places[place] / name).write_text("stray\n")
    if case.split is not None:
        sets = case.root / "ImageSets" / "2017"
        sets.mkdir(parents=True)
        (sets / "val.txt").write_text("".join(f"{n}\n" for n in case.split))
    if case.youtube:
        text = "{not json" if case.meta_corrupt else json.dumps(case.meta)
        (case.data_root / "meta.json").write_text(text)


# --- the oracle: which errors a reader must / may raise ---------------------------------------


def _video_read_faults(case: Case, v: Video) -> tuple[set[Path], set[Path]]:
    """(must, may) error paths when DAVISVideo reads all frames and annotations of ``v``."""
    must: set[Path] = set()
    may: set[Path] = set()
    img_dir, ann_dir = case.img_root / v.name, case.ann_root / v.name
    if not v.dirs["img"]:
        return {img_dir}, may
    if not v.jpg or v.duplicate_frame:
        return {img_dir}, may
    if not v.dirs["ann"]:
        return {ann_dir}, may
    frames = sorted(v.jpg)
    for s in v.png:
        if s not in v.jpg:
            must.add(case.png_path(v, s))
    if not v.png:
        must.add(ann_dir)
    first = frames[0]
    for s in frames:
        kind = v.jpg[s]
        if kind == "bad":
            must.add(case.jpg_path(v, s))
        elif kind == "flip":
            may.add(case.jpg_path(v, s))
        if v.jpg_size[s] != v.jpg_size[first]:
            must.add(case.jpg_path(v, s))
            may.add(case.jpg_path(v, first))
    for s, kind in v.png.items():
        if kind != "ok":
            must.add(case.png_path(v, s))
        if s in v.jpg and v.png_size[s] != v.jpg_size[s]:
            must.add(case.png_path(v, s))
            may.add(case.jpg_path(v, s))
        if s in v.jpg and v.jpg[s] == "flip":
            may.add(case.png_path(v, s))
    if any(k == "flip" for k in v.jpg.values()):
        may.update(case.jpg_path(v, s) for s in frames)
        may.update(case.png_path(v, s) for s in v.png)
    return must, may


def _check_eval_item(v: Video, item: dict[str, Any]) -> None:
    frames = sorted(v.jpg)
    t_len = len(frames)
    info = item["info"]
    assert info["name"] == v.name and info["frames"] == frames and info["num_frames"] == t_len
    assert item["rgb"].shape[:2] == (t_len, 3)
    assert item["masks"].shape == (t_len, *item["rgb"].shape[-2:])  # mask shape = frame shape
    assert tuple(info["size"]) == tuple(item["rgb"].shape[-2:])
    if not any(k == "flip" for k in v.jpg.values()):
        assert tuple(info["size"]) == v.jpg_size[frames[0]]
        annotated = [s in v.png for s in frames]
        assert item["annotated"].tolist() == annotated
        for t, s in enumerate(frames):
            want = v.truth(s, v.png_size[s]) if annotated[t] else 0
            np.testing.assert_array_equal(item["masks"][t].numpy(), want)
        first: dict[int, int] = {}
        for t, s in enumerate(frames):
            if annotated[t]:
                for k in sorted(v.objects([s])):
                    first.setdefault(k, t)
        assert info["first_frame"] == dict(sorted(first.items()))
        assert info["labels"] == sorted(first)


def check_davis_eval(case: Case) -> None:
    must: set[Path] = set()
    may: set[Path] = set()
    if case.split is not None:
        listed = list(dict.fromkeys(case.split))
        if not listed:
            must.add(case.root / "ImageSets" / "2017" / "val.txt")
    else:
        listed = sorted(v.name for v in case.videos if v.dirs["ann"])
        if not listed:
            must.add(case.ann_root)
    for name in listed:
        v = case.by_name(name)
        if v is None:
            must.add(case.img_root / name)
            continue
        m, y = _video_read_faults(case, v)
        must |= m
        may |= y

    def read() -> list[tuple[Video, dict[str, Any]]]:
        ds = DAVISEvalDataset(case.data_root, split="val")
        assert ds.videos == listed
        return [(case.by_name(ds.videos[i]), ds[i]) for i in range(len(ds))]

    def verify(items: list[tuple[Video, dict[str, Any]]]) -> None:
        for v, item in items:
            _check_eval_item(v, item)

    expect("DAVISEvalDataset", read, must, may, verify)


def check_youtube_eval(case: Case) -> None:
    meta_path = case.data_root / "meta.json"
    must: set[Path] = set()
    may: set[Path] = set()
    listed = [] if case.meta is None else sorted(case.meta["videos"])
    if case.meta_corrupt or not listed:
        must.add(meta_path)
    for name in listed:
        v = case.by_name(name)
        assert v is not None
        m, y = _video_read_faults(case, v)
        must |= m
        may |= y
        readable = v.dirs["img"] and v.dirs["ann"] and v.jpg and v.png
        if readable and v.meta_extra:
            must.add(case.ann_root / name)
        if readable and v.meta_missing is not None and v.objects(list(v.png)):
            ids = sorted(v.objects(list(v.png)))
            lost = ids[v.meta_missing % len(ids)]
            must.update(case.png_path(v, s) for s in v.png if lost in v.objects([s]))

    def read() -> list[tuple[Video, dict[str, Any]]]:
        ds = YouTubeVOSEvalDataset(case.root, split="valid")
        assert ds.videos == listed
        return [(case.by_name(ds.videos[i]), ds[i]) for i in range(len(ds))]

    def verify(items: list[tuple[Video, dict[str, Any]]]) -> None:
        for v, item in items:
            _check_eval_item(v, item)
            info = item["info"]
            assert info["labels"] == sorted(int(k) for k in case.meta["videos"][v.name]["objects"])
            assert info["output_frames"] == sorted(v.jpg)
            assert sorted(k for ks in info["gt_obj"].values() for k in ks) == info["labels"]

    expect("YouTubeVOSEvalDataset", read, must, may, verify)


def check_triplets(case: Case) -> None:
    must: set[Path] = set()
    may: set[Path] = set()
    listed = sorted(v.name for v in case.videos if v.dirs["ann"])
    if not listed:
        must.add(case.ann_root)
    kept = []
    for name in listed:
        v = case.by_name(name)
        if not v.dirs["img"] or not v.jpg or v.duplicate_frame:
            must.add(case.img_root / name)
        elif len(v.jpg) >= 3:
            kept.append(v)
    if listed and not must and not kept:
        must.add(case.img_root)
    for v in kept:
        frames = sorted(v.jpg)
        # checked when the data set is built: every annotation has its frame, every frame its
        # annotation (the file lists; a header that cannot be read is named too)
        must.update(case.jpg_path(v, s) for s in v.png if s not in v.jpg)
        must.update(case.png_path(v, s) for s in frames if s not in v.png)
        for s in frames:
            if v.jpg[s] != "ok" or v.jpg_size[s] != (H, W):
                may.add(case.jpg_path(v, s))
            if v.png.get(s) != "ok" or v.png_size[s] != v.jpg_size[s] or v.png_size[s] != (H, W):
                may.add(case.png_path(v, s))

    def read() -> list[tuple[Video, dict[str, Any]]]:
        ds = VOSTripletDataset(case.data_root, augment=False, seed=0)
        assert ds.videos == [v.name for v in kept]
        return [(case.by_name(ds.videos[i]), ds[i]) for i in range(len(ds))]

    def verify(samples: list[tuple[Video, dict[str, Any]]]) -> None:
        for v, s in samples:
            assert s["rgb"].shape[:2] == (3, 3)
            size = s["rgb"].shape[-2:]
            assert s["gt"].shape == (3, 1, *size) and s["cls_gt"].shape == (3, *size)
            assert set(s["cls_gt"].unique().tolist()) <= {0, 1, 2}
            assert torch.equal(s["gt"][:, 0] == 1, s["cls_gt"] == 1)
            assert set(s["info"]["frames"]) <= set(v.jpg)
            if v.objects([s["info"]["frames"][0]]) and not any(
                v.jpg[f] == "flip" for f in s["info"]["frames"]
            ):
                assert s["gt"][0].sum() > 0  # the target is an object of the first frame

    expect("VOSTripletDataset", read, must, may, verify)


def _expected_objects(gt: np.ndarray) -> set[int]:
    """Object ids score_folders reports (the module doc's rules, restated)."""
    gt = np.where(gt == VOID, 0, gt)
    t_len = gt.shape[0]
    present = [set(np.unique(g).tolist()) - {0} for g in gt]
    all_ids = set().union(*present)
    if all_ids <= present[0]:
        return set(range(1, int(gt[0].max()) + 1)) if t_len > 2 else set()
    first = {k: next(t for t in range(t_len) if k in present[t]) for k in all_ids}
    return {k for k in all_ids if max(1, first[k] + 1) < t_len - 1}


def check_score_folders(case: Case) -> None:
    must: set[Path] = set()
    may: set[Path] = set()
    gt_videos = sorted(v.name for v in case.videos if v.dirs["ann"])
    if not gt_videos:
        must.add(case.ann_root)
    expected: set[tuple[str, int]] = set()
    for name in gt_videos:
        v = case.by_name(name)
        names = sorted(v.png)
        if not names:
            must.add(case.ann_root / name)
            continue
        if not v.dirs["pred"]:
            must.add(case.pred_root / name)
        # a frame (JPEG) or a prediction without its ground truth is refused
        others = (set(v.jpg) if v.dirs["img"] else set()) | (
            set(v.pred) if v.dirs["pred"] else set()
        )
        must.update(case.png_path(v, s) for s in others - set(names))
        for s in names:
            if v.png[s] != "ok":
                must.add(case.png_path(v, s))
            if v.png_size[s] != v.png_size[names[0]]:
                must |= {case.png_path(v, s), case.png_path(v, names[0])}
            if s not in v.pred or v.pred[s] != "ok" or v.pred_size[s] != v.png_size[s]:
                must.add(case.pred_path(v, s))
        for i, s in enumerate(names):
            if s in v.pred_id and 1 <= i < len(names) - 1:
                must.add(case.pred_path(v, s))
        if not must:
            gt = np.stack([v.truth(s, v.png_size[s]) for s in names])
            expected |= {(name, k) for k in _expected_objects(gt)}
    if gt_videos and not must and not expected:
        must.add(case.ann_root)

    def verify(res: Any) -> None:
        rows = set(zip(res.per_object["sequence"], res.per_object["object"], strict=True))
        assert rows == expected
        assert (res.per_object["J&F-Mean"] == 1.0).all()  # the prediction is the ground truth
        assert int(res.global_scores["n_sequences"].iloc[0]) == len(gt_videos)

    expect(
        "score_folders", lambda: score_folders(case.data_root, case.pred_root), must, may, verify
    )


def expect(reader: str, read, must: set[Path], may: set[Path], verify) -> None:
    """The property: a correct read, or FileNotFoundError / ValueError naming a culprit."""
    try:
        out = read()
    except (FileNotFoundError, ValueError) as exc:
        allowed = sorted(str(p) for p in must | may)
        assert allowed, f"{reader} failed on a valid folder: {exc!r}"
        assert any(p in str(exc) for p in allowed), (
            f"{reader}: error {exc!r} names none of the culprits {allowed}"
        )
        return
    assert not must, f"{reader} read a broken folder; expected an error naming one of {must}"
    verify(out)


def run_case(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        case = make_case(spec, Path(tmp))
        check_davis_eval(case)
        check_score_folders(case)
        check_triplets(case)
        if case.youtube:
            check_youtube_eval(case)


# --- the property, with one regression example per reader bug it found ------------------------


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=CASES)
@example(spec=_case())  # the valid case
@example(spec=_case(layout="youtube", n_videos=2, late=True, void=True, mode="L"))
# the bugs it found (see the regression tests below for their messages)
@example(spec=_case(("stray", "ann_res", "list.txt"), res="Full-Resolution"))
@example(spec=_case(("extra", "ann", 0, "._{stem}.png"), ("extra", "ann", 0, "dir:extra.png")))
@example(spec=_case(("big", "pair", 0, 2), n=4))
@example(spec=_case(("meta", "missing_object", 0), layout="youtube"))
@example(spec=_case(("pred_id", 0, 1, UNKNOWN_ID)))
@example(spec=_case(("corrupt", "png", 0, 1, "bomb", b"", 0)))
@example(spec=_case(("extra", "img", 0, "dup:{stem}.jpeg")))
def test_readers_read_correctly_or_name_the_culprit(spec: dict[str, Any]) -> None:
    for d in spec["defects"]:  # shown by pytest --hypothesis-show-statistics
        event(f"defect {d[0]} {d[1] if isinstance(d[1], str) else ''}".strip())
    run_case(spec)


def _single_defects() -> list[tuple]:
    """Every defect template once (the property test draws them in random combinations)."""
    out: list[tuple] = [
        ("drop_jpg", 0, 0),
        ("drop_jpg", 0, 2),
        ("drop_png", 0, 0),
        ("drop_png", 0, 2),
        ("drop_all_png", 0),
        ("orphan_png", 0),
        ("pred_missing", 0, 1),
        ("pred_missing", 0, 3),
        ("pred_id", 0, 1, UNKNOWN_ID),
        ("pred_id", 0, 1, VOID),
        ("pred_id", 0, 0, UNKNOWN_ID),  # first frame: not scored, so not an error
    ]
    out += [("no_dir", part, 0) for part in ("img", "ann", "pred")]
    out += [("extra", part, 0, n) for part in ("img", "ann", "pred") for n in EXTRA_NAMES]
    out += [("stray", place, n) for place in STRAY_PLACES for n in ("list.txt", ".DS_Store")]
    out += [
        ("corrupt", part, 0, t, how, b"\x89PNG junk", 7)
        for part in ("jpg", "png", "pred")
        for how in ("garbage", "empty", "trunc", "flip", "bomb")
        for t in (0, 2)
    ]
    out += [("big", part, 0, t) for part in ("jpg", "png", "pred", "pair") for t in (0, 2)]
    out += [
        ("bad_mode", part, 0, 1, mode)
        for part in ("png", "pred")
        for mode in ("RGB", "RGBA", "LA", "I16>255")
    ]
    out += [("meta", k, 0) for k in ("corrupt", "extra_object", "missing_object", "drop_video")]
    out += [("split", k, 0) for k in ("ghost", "subset")]
    return out


@pytest.mark.parametrize("i_defect", list(enumerate(_single_defects())), ids=repr)
def test_each_defect_alone(i_defect: tuple[int, tuple]) -> None:
    i, defect = i_defect
    layout = "youtube" if defect[0] == "meta" or (defect[0] != "split" and i % 2) else "davis"
    spec = {
        "layout": layout,
        "res": "Full-Resolution" if i % 3 == 0 else "480p",
        "imagesets": defect[0] == "split" or i % 4 == 0,
        "videos": [
            _vid(n=4, ids=[1, 3], void=True, mode=("P", "L", "I;16")[i % 3]),
            _vid(n=4, ids=[2, 7, 200], late=True, steps=[5, 5, 1], pred_mode="L"),
        ],
        "defects": [defect],
    }
    run_case(spec)


# --- regressions: the reader bugs the property found, each with its message ----------------


def _built(tmp_path: Path, *defects: tuple, **kw: Any) -> Case:
    return make_case(_case(*defects, **kw), tmp_path)


def test_full_resolution_folder_is_a_resolution(tmp_path):
    # was: only names ending in "p" were resolutions, and only with nothing but folders in them
    case = _built(tmp_path, ("stray", "ann_res", "list.txt"), res="Full-Resolution")
    ds = DAVISEvalDataset(case.root)
    assert ds.image_root == case.img_root and ds.videos == ["bear"]


def test_hidden_files_and_folders_are_not_annotations(tmp_path):
    # was: "annotation .../._00000.png has no frame ._00000", "missing frame: .../extra.png"
    case = _built(
        tmp_path, ("extra", "ann", 0, "._{stem}.png"), ("extra", "ann", 0, "dir:extra.png")
    )
    assert DAVISEvalDataset(case.root)[0]["annotated"].all()
    assert score_folders(case.root, case.pred_root).jf == 1.0


def test_frame_of_another_size_is_named_not_its_mask(tmp_path):
    # was: "annotation 00001.png is 24x16 but its frame 00001.jpg is 32x20" (a false size)
    case = _built(tmp_path, ("big", "pair", 0, 1))
    jpg = case.img_root / "bear"
    with pytest.raises(
        ValueError, match=re.escape(f"frame {jpg}/00001.jpg is 32x20 but frame {jpg}/00000")
    ):
        DAVISEvalDataset(case.root)[0]


def test_triplet_of_frames_of_two_sizes_names_the_frame(tmp_path):
    # was: numpy's "all input arrays must have the same shape"
    case = _built(tmp_path, *[("big", "pair", 0, t) for t in (1, 2)])
    with pytest.raises(
        ValueError, match=r"frame \S*bear/0000\d\.jpg is \d+x\d+ but frame \S*bear/0000\d\.jpg"
    ):
        VOSTripletDataset(case.root, augment=False, seed=0)[0]


def test_youtube_id_missing_from_meta_is_an_error(tmp_path):
    # was: read silently, the object in ``masks`` but not in ``labels``
    case = _built(tmp_path, ("meta", "missing_object", 0), layout="youtube")
    with pytest.raises(ValueError, match=r"00000\.png holds object id\(s\) \[1\] that .*meta"):
        YouTubeVOSEvalDataset(case.root)[0]


def test_unknown_predicted_id_names_the_prediction_file(tmp_path):
    # was: only the prediction folder was named
    case = _built(tmp_path, ("pred_id", 0, 1, UNKNOWN_ID))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"[{UNKNOWN_ID}] that the ground truth lacks (first in {case.pred_root}/bear/00001.png)"
        ),
    ):
        score_folders(case.root, case.pred_root)


@pytest.mark.parametrize("part", ["jpg", "png"])
def test_decompression_bomb_header_is_a_value_error(tmp_path, part):
    # was: PIL.Image.DecompressionBombError escaped
    case = _built(tmp_path, ("corrupt", part, 0, 1, "bomb", b"", 0))
    with pytest.raises(ValueError, match=r"cannot read .*00001\.(jpg|png): Image size"):
        DAVISEvalDataset(case.root)[0]


def test_two_frames_with_one_stem_is_an_error(tmp_path):
    # was: frame 00000 listed twice, its annotation given to the second copy
    case = _built(tmp_path, ("extra", "img", 0, "dup:{stem}.jpeg"))
    with pytest.raises(ValueError, match=r"two frames named 00000: 00000\.jpeg, 00000\.jpg"):
        DAVISEvalDataset(case.root)[0]
    with pytest.raises(ValueError, match="two frames named"):
        VOSTripletDataset(case.root, augment=False, seed=0)
