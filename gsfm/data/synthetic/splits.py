"""Splits on disk: :func:`write_split` writes a split in the DAVIS layout, and the functions
around it say what a written split is (:func:`split_settings`, :func:`describe_split`), where
its files are (:func:`split_paths`), whether a folder holds it intact (:func:`split_problems`)
and how to remove it (:func:`remove_split`). The manifest ``synth_<split>.json`` records the
SHA-256 of every file written (``"digests"``), so a check verifies content, not only presence: a
mask replaced by a valid empty PNG is found. A split written before manifests held digests is
complete when every file is there and readable, and :func:`split_unverified` says its content
could not be verified (``python -m gsfm synth`` says so; ``--force`` rewrites it with digests).
:func:`ensure_split` writes a split once under a data folder (:func:`synth_data_dir` by default)
and completes it when a file is missing: the one step that the ``synth-train`` training data,
the notebooks and the ablations share.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from gsfm.data.io import image_size, write_image, write_mask
from gsfm.data.synthetic.spec import _split_size, get_version, split_names
from gsfm.data.synthetic.video import SyntheticVideo, generate_video, object_table
from gsfm.files import atomic_folder, atomic_write, atomic_write_json, exclusive
from gsfm.runtime import resolve_path

__all__ = [
    "DATA_DIR_ENV",
    "default_workers",
    "describe_split",
    "ensure_split",
    "read_split_record",
    "remove_split",
    "split_identity",
    "split_paths",
    "split_problems",
    "split_folder",
    "split_settings",
    "split_unverified",
    "synth_data_dir",
    "write_split",
]

DATA_DIR_ENV = "GSFM_DATA_DIR"  # names the folder that splits written on demand go to
DIGESTS = "digests"  # the manifest's table: path relative to the split's root -> SHA-256
MIN_SIZE = 16  # the smallest frame side the generator renders


def split_identity(
    version: str, split: str, seed: int, height: int, width: int, videos: Sequence[str]
) -> dict[str, Any]:
    """What identifies a written split: the keys of ``synth_<split>.json`` a reuse check compares."""
    return {
        "benchmark": f"synth-{version}",
        "split": split,
        "seed": seed,
        "height": height,
        "width": width,
        "videos": list(videos),
    }


def _write_video(root: Path, res: str, vid: SyntheticVideo) -> None:
    """Write ``vid``'s frames and annotations, each folder swapped into place when complete."""
    for kind, suffix in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
        with atomic_folder(root / kind / res / vid.spec.name) as tmp:
            for t in range(len(vid.images)):
                if kind == "JPEGImages":
                    write_image(tmp / f"{t:05d}{suffix}", vid.images[t])
                else:
                    write_mask(tmp / f"{t:05d}{suffix}", vid.masks[t])


def default_workers() -> int:
    """Processes a split is rendered with by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _render_video(
    root: Path, res: str, split: str, index: int, version: str, seed: int, h: int, w: int
) -> tuple[str, pd.DataFrame]:
    """Generate video ``index`` of ``split`` and write it under ``root``; its name and its
    object table. One task of :func:`_render_videos` (top level: sent to worker processes)."""
    vid = generate_video(split, index, version, seed, h, w)
    _write_video(root, res, vid)
    return vid.spec.name, object_table([vid])


def _render_videos(
    root: Path,
    res: str,
    split: str,
    indices: Sequence[int],
    version: str,
    seed: int,
    h: int,
    w: int,
    *,
    workers: int | None = None,
    progress: bool = False,
) -> list[tuple[str, pd.DataFrame]]:
    """Render and write the videos ``indices`` of ``split`` under ``root`` (DAVIS layout at
    ``res``); their names and object tables, in the order of ``indices``.

    ``workers`` processes (default :func:`default_workers`; at most one per video) render the
    videos side by side; 1 renders them here, one after the other. Each video depends on its
    arguments only, so the files are the same bytes either way. Each video folder is swapped
    into place when complete (:func:`gsfm.files.atomic_folder`); if one video fails, the videos
    not started yet are cancelled, the ones in flight finish, the error is raised, and the
    resolution folders this call created are removed again when they are empty.
    """
    n_workers = default_workers() if workers is None else int(workers)
    if n_workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    n_workers = min(n_workers, len(indices))
    args = [(root, res, split, i, version, seed, h, w) for i in indices]
    bar = None
    if progress:
        # lazy: `python -m gsfm --help` imports this module; tqdm is slow to import
        from tqdm.auto import tqdm

        bar = tqdm(total=len(indices), desc=f"synth-{version} {split}", unit="video")
    out: list[tuple[str, pd.DataFrame]] = []
    try:
        if n_workers <= 1:
            for a in args:
                out.append(_render_video(*a))
                if bar is not None:
                    bar.update(1)
            return out
        # the resolution folders made here, once: workers never create or remove them
        folders = [root / kind / res for kind in ("JPEGImages", "Annotations")]
        created = [d for f in folders for d in (f, *f.parents) if not d.exists()]
        for f in folders:
            f.mkdir(parents=True, exist_ok=True)
        # lazy: `python -m gsfm --help` imports this module; the pool imports multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=n_workers)
        try:
            for result in pool.map(_render_video, *zip(*args, strict=True)):
                out.append(result)
                if bar is not None:
                    bar.update(1)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            for folder in sorted(set(created), key=lambda d: len(d.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise
        pool.shutdown(wait=True)
        return out
    finally:
        if bar is not None:
            bar.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _video_files(root: Path, res: str, video: str) -> list[Path]:
    """The files of one written video: its frames and annotations (sorted)."""
    folders = [root / kind / res / video for kind in ("JPEGImages", "Annotations")]
    return sorted(f for d in folders if d.is_dir() for f in d.iterdir() if f.is_file())


def _digests(root: Path, files: Sequence[Path]) -> dict[str, str]:
    """``{path relative to root (POSIX): SHA-256}`` of ``files``."""
    return {f.relative_to(root).as_posix(): _sha256(f) for f in files}


def write_split(
    out: str | os.PathLike[str],
    split: str = "val",
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    limit: int | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Write ``split`` in the DAVIS layout under ``out`` and return ``out``.

    Writes ``JPEGImages/<H>p/<video>/00000.jpg``, ``Annotations/<H>p/<video>/00000.png``,
    ``ImageSets/synth-<version>/<split>.txt``, ``objects_<split>.csv`` (per-object metadata)
    and ``synth_<split>.json`` (version, seed, size, the generator parameters and the SHA-256
    of every other file written, under ``"digests"``). Each video
    is written into a hidden temporary folder and renamed into place when complete.
    ``limit`` writes only the first videos (for quick looks and tests). ``workers``: processes
    that render videos side by side (default: one per CPU; 1 renders here, one video after the
    other); the files are byte for byte the same for any number. Files of the same
    names are replaced and nothing else in ``out`` is looked at: callers decide whether ``out``
    may be written (``python -m gsfm synth`` refuses a folder holding anything else, see
    :func:`split_problems`).
    """
    wanted = split_settings(split, version, seed, height, width, limit)  # checks the arguments
    v = get_version(version)
    n_videos, h, w = len(wanted["videos"]), wanted["height"], wanted["width"]
    root = Path(out)
    if root.exists() and not root.is_dir():
        raise ValueError(f"output path {root} exists and is not a folder")
    res = f"{h}p"
    rendered = _render_videos(
        root, res, split, range(n_videos), version, seed, h, w, workers=workers, progress=progress
    )
    names = [name for name, _ in rendered]
    tables = [table for _, table in rendered]
    sets = root / "ImageSets" / f"synth-{version}" / f"{split}.txt"
    atomic_write(sets, lambda p: Path(p).write_text("".join(f"{n}\n" for n in names)))
    table = pd.concat(tables, ignore_index=True)
    atomic_write(root / f"objects_{split}.csv", lambda p: table.to_csv(p, index=False))
    files = [f for n in names for f in _video_files(root, res, n)]
    files += [sets, root / f"objects_{split}.csv"]
    meta = {
        **split_identity(version, split, seed, h, w, names),
        "parameters": asdict(v),
        DIGESTS: _digests(root, files),
    }
    atomic_write_json(root / f"synth_{split}.json", meta)
    return root


# --- checking a written split ------------------------------------------------------------------


def split_settings(
    split: str = "val",
    version: str = "v1",
    seed: int = 0,
    height: int | None = None,
    width: int | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The :func:`split_identity` that :func:`write_split` with these arguments records."""
    v = get_version(version)
    names = split_names(split, version)
    for what, size in (("height", height), ("width", width)):
        if size is not None and int(size) < MIN_SIZE:
            raise ValueError(f"frame {what} must be at least {MIN_SIZE} pixels, got {size}")
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        names = names[: int(limit)]
    h = v.height if height is None else int(height)
    w = v.width if width is None else int(width)
    return split_identity(version, split, seed, h, w, names)


def describe_split(identity: dict[str, Any]) -> str:
    """``synth-v1 val (seed 0, 160x288, 24 videos)`` for a split identity or a saved record."""
    n = len(identity.get("videos") or [])
    return (
        f"{identity.get('benchmark')} {identity.get('split')} (seed {identity.get('seed')}, "
        f"{identity.get('height')}x{identity.get('width')}, {n} video{'s' if n != 1 else ''})"
    )


def read_split_record(root: str | os.PathLike[str], split: str) -> dict[str, Any] | None:
    """The ``synth_<split>.json`` that :func:`write_split` left in ``root``; ``None`` if there is
    none or it cannot be read (not JSON, not an object)."""
    try:
        saved = json.loads((Path(root) / f"synth_{split}.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return saved if isinstance(saved, dict) else None


def _safe_name(name: Any) -> bool:
    """A video name from a record that may be joined to a path (no separators, not hidden)."""
    return isinstance(name, str) and bool(name) and name == Path(name).name and name[0] != "."


def split_paths(root: str | os.PathLike[str], identity: dict[str, Any]) -> list[Path]:
    """Every path :func:`write_split` writes for ``identity`` (a split identity or a record):
    the video folders under ``JPEGImages/<H>p`` and ``Annotations/<H>p``, the ImageSets list,
    ``objects_<split>.csv`` and ``synth_<split>.json``. Names that are not plain file names are
    skipped, so a tampered record never points outside ``root``."""
    root = Path(root)
    split, height = identity.get("split"), identity.get("height")
    if not _safe_name(split) or not isinstance(height, int):
        return []
    res = f"{height}p"
    videos = [v for v in identity.get("videos") or [] if _safe_name(v)]
    paths = [root / kind / res / v for v in videos for kind in ("JPEGImages", "Annotations")]
    if _safe_name(identity.get("benchmark")):
        paths.append(root / "ImageSets" / str(identity["benchmark"]) / f"{split}.txt")
    paths += [root / f"objects_{split}.csv", root / f"synth_{split}.json"]
    return paths


def remove_split(
    root: str | os.PathLike[str], record: dict[str, Any], keep: Sequence[Path] = ()
) -> list[Path]:
    """Delete what ``record`` (a split's saved ``synth_<split>.json``) says :func:`write_split`
    wrote into ``root``, except the paths in ``keep``; then remove the folders this leaves
    empty. Returns the deleted paths. Nothing outside :func:`split_paths` is touched."""
    root = Path(root)
    kept = {Path(k) for k in keep}
    removed: list[Path] = []
    parents: set[Path] = set()
    for path in split_paths(root, record):
        if path in kept or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(path)
        parents.update(p for p in path.parents if root in p.parents)
    for folder in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def _record_problems(record: dict[str, Any], identity: dict[str, Any], meta: str) -> list[str]:
    """How the saved ``record`` (file name ``meta``) differs from the split ``identity``."""
    problems = []
    for key, value in identity.items():
        saved = record.get(key)
        if saved == value:
            continue
        if key == "videos" and isinstance(saved, list):
            problems.append(f"{meta} records {len(saved)} videos, not {len(value)}")
        else:
            problems.append(f"{meta} records {key} {saved!r}, not {value!r}")
    return problems


def _recorded_digests(record: dict[str, Any]) -> dict[str, str] | None:
    """The manifest's digests; ``None`` for a split written before manifests held them."""
    digests = record.get(DIGESTS)
    if digests is None:
        return None
    if not isinstance(digests, dict) or not all(
        isinstance(k, str) and isinstance(d, str) for k, d in digests.items()
    ):
        return {}  # damaged: no file can be verified, so every file is reported
    return digests


def split_unverified(root: str | os.PathLike[str], split: str) -> bool:
    """Whether the split's manifest holds no digests (written by an older gsfm), so that
    :func:`split_problems` could check only presence, readability and size."""
    record = read_split_record(root, split)
    return record is not None and record.get(DIGESTS) is None


def _changed(root: Path, path: Path, digests: dict[str, str] | None, meta: str) -> list[str]:
    """A problem when ``path``'s SHA-256 is not the one ``digests`` records for it."""
    if digests is None:
        return []
    rel = path.relative_to(root).as_posix()
    if rel not in digests:
        return [f"{rel} has no digest in {meta}"]
    if _sha256(path) != digests[rel]:
        return [f"{rel} changed since it was written (its SHA-256 is not the one {meta} records)"]
    return []


def _video_problems(
    root: Path,
    video: str,
    n_frames: int,
    h: int,
    w: int,
    digests: dict[str, str] | None = None,
    meta: str = "",
) -> list[str]:
    """Missing, unreadable, mis-sized or changed frames and annotations of ``video`` under
    ``root`` (changed: a SHA-256 other than ``digests`` records; ``None``: not checked)."""
    problems = []
    for kind, ext in (("JPEGImages", ".jpg"), ("Annotations", ".png")):
        folder = root / kind / f"{h}p" / video
        rel = folder.relative_to(root)
        if not folder.is_dir():
            problems.append(f"{rel}/ is missing")
            continue
        for t in range(n_frames):
            name = f"{t:05d}{ext}"
            try:
                size = image_size(folder / name)
            except FileNotFoundError:
                problems.append(f"{rel}/{name} is missing")
                continue
            except ValueError:
                problems.append(f"{rel}/{name} is not a readable image")
                continue
            if size != (h, w):
                problems.append(f"{rel}/{name} is {size[1]}x{size[0]}, not {w}x{h}")
                continue
            problems += _changed(root, folder / name, digests, meta)
    return problems


def split_problems(root: str | os.PathLike[str], identity: dict[str, Any]) -> list[str]:
    """What keeps ``root`` from holding the split ``identity`` (see :func:`split_settings`),
    complete and intact; an empty list when it does.

    Checked: ``synth_<split>.json`` records the same identity; the ImageSets list names the
    split's videos; ``objects_<split>.csv`` exists; every video has every frame (JPEG) and
    annotation (PNG), each readable and of the recorded size; and every file has the SHA-256
    the manifest records (when it records digests: see :func:`split_unverified`). Paths in the
    messages are relative to ``root``.
    """
    root = Path(root)
    split = identity["split"]
    record = read_split_record(root, split)
    meta = f"synth_{split}.json"
    if record is None:
        exists = (root / meta).exists()
        return [f"{meta} {'cannot be read' if exists else 'is missing'}"]
    problems = _record_problems(record, identity, meta)
    if problems:  # another split: its files are not ours to check
        return problems
    sets = root / "ImageSets" / str(identity["benchmark"]) / f"{split}.txt"
    digests = _recorded_digests(record)
    if not sets.is_file():
        problems.append(f"{sets.relative_to(root)} is missing")
    elif _read_names(sets) != list(identity["videos"]):
        problems.append(f"{sets.relative_to(root)} does not list the split's videos")
    else:
        problems += _changed(root, sets, digests, meta)
    table = root / f"objects_{split}.csv"
    if not table.is_file():
        problems.append(f"objects_{split}.csv is missing")
    else:
        problems += _changed(root, table, digests, meta)
    version = str(identity["benchmark"]).removeprefix("synth-")
    n_frames = _split_size(get_version(version), split)[1]
    h, w = int(identity["height"]), int(identity["width"])
    for video in identity["videos"]:
        problems += _video_problems(root, video, n_frames, h, w, digests, meta)
    return problems


def _read_names(path: Path) -> list[str] | None:
    """The names of an ImageSets list; ``None`` when it is not UTF-8 text."""
    try:
        return path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        return None


# --- writing a split once ------------------------------------------------------------------------


def synth_data_dir() -> Path:
    """The folder that splits written on demand live in: ``$GSFM_DATA_DIR`` when set, else
    ``data/synth`` of the project root (relative paths: from the project root, see
    :func:`gsfm.runtime.resolve_path`)."""
    return resolve_path(os.environ.get(DATA_DIR_ENV) or "data/synth")


def _folder_name(identity: dict[str, Any], n_all: int) -> str:
    """``<split>`` for the official split (every video, the version's size, seed 0), else
    ``<split>-<H>x<W>[-first<N>][-seed<S>]``; ``-<version>`` after the split for versions
    other than v1, so that variants never mix in one DAVIS layout."""
    version = str(identity["benchmark"]).removeprefix("synth-")
    v = get_version(version)
    h, w, n, seed = identity["height"], identity["width"], len(identity["videos"]), identity["seed"]
    name = identity["split"] if version == "v1" else f"{identity['split']}-{version}"
    if (h, w) != (v.height, v.width) or n != n_all or seed != 0:
        name += f"-{h}x{w}"
        name += f"-first{n}" if n != n_all else ""
        name += f"-seed{seed}" if seed != 0 else ""
    return name


def _broken_videos(root: Path, identity: dict[str, Any]) -> list[str] | None:
    """The videos to write again when only videos of ``root``'s split are damaged; ``None`` when
    more than that is wrong (another record, a missing list or table): write it all."""
    split = identity["split"]
    record = read_split_record(root, split)
    if record is None or _record_problems(record, identity, ""):
        return None
    sets = root / "ImageSets" / str(identity["benchmark"]) / f"{split}.txt"
    if not sets.is_file() or _read_names(sets) != identity["videos"]:
        return None
    table = root / f"objects_{split}.csv"
    digests = _recorded_digests(record)
    if not table.is_file() or digests == {}:
        return None
    meta = f"synth_{split}.json"
    if _changed(root, sets, digests, meta) or _changed(root, table, digests, meta):
        return None
    version = str(identity["benchmark"]).removeprefix("synth-")
    n_frames = _split_size(get_version(version), split)[1]
    h, w = int(identity["height"]), int(identity["width"])
    return [
        v for v in identity["videos"] if _video_problems(root, v, n_frames, h, w, digests, meta)
    ]


def _complete(
    root: Path,
    identity: dict[str, Any],
    problems: list[str],
    progress: bool,
    workers: int | None = None,
) -> None:
    """Write what ``root`` lacks of the split ``identity``: the damaged videos only, when the
    rest is intact; else the whole split (after removing another split recorded under the same
    ``synth_<split>.json``: its own files only), with ``workers`` processes. Says on stderr
    what it repairs."""
    split, version = identity["split"], str(identity["benchmark"]).removeprefix("synth-")
    what = describe_split(identity)
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    broken = _broken_videos(root, identity) if root.is_dir() else None
    if broken:
        print(
            f"{root}: {problems[0]}{more}; writing {len(broken)} video(s) of {what} again",
            file=sys.stderr,
        )
        h, w = int(identity["height"]), int(identity["width"])
        index = {name: i for i, name in enumerate(split_names(split, version))}
        _render_videos(
            root, f"{h}p", split, [index[name] for name in broken], version,
            identity["seed"], h, w, workers=workers,
        )  # fmt: skip
        record = read_split_record(root, split)
        if record is not None and isinstance(record.get(DIGESTS), dict):  # the new files' bytes
            files = [f for name in broken for f in _video_files(root, f"{h}p", name)]
            record[DIGESTS].update(_digests(root, files))
            atomic_write_json(root / f"synth_{split}.json", record)
        return
    if root.exists():
        print(f"{root}: {problems[0]}{more}; writing {what} there", file=sys.stderr)
        record = read_split_record(root, split)
        if record is not None and _record_problems(record, identity, ""):
            remove_split(root, record)  # a stale split of other settings under our name
    write_split(
        root,
        split,
        version,
        identity["seed"],
        identity["height"],
        identity["width"],
        limit=len(identity["videos"]),
        progress=progress,
        workers=workers,
    )


def split_folder(
    data_dir: str | os.PathLike[str] | None = None,
    split: str = "val",
    *,
    limit: int | None = None,
    height: int | None = None,
    width: int | None = None,
    seed: int = 0,
    version: str = "v1",
) -> Path:
    """Where :func:`ensure_split` keeps the split of these settings under ``data_dir``
    (default :func:`synth_data_dir`); nothing is read or written."""
    identity = split_settings(split, version, seed, height, width, limit)
    base = synth_data_dir() if data_dir is None else resolve_path(data_dir)
    return base / _folder_name(identity, len(split_names(split, version)))


def ensure_split(
    data_dir: str | os.PathLike[str] | None = None,
    split: str = "val",
    *,
    limit: int | None = None,
    height: int | None = None,
    width: int | None = None,
    seed: int = 0,
    version: str = "v1",
    progress: bool = False,
    workers: int | None = None,
) -> Path:
    """The folder of a split under ``data_dir`` (default :func:`synth_data_dir`), written only
    if it is not complete yet (by ``workers`` processes, default one per CPU, see
    :func:`write_split`), and returned.

    The folder is ``data_dir/<split>`` for the official split (all videos, the version's size,
    seed 0) and ``data_dir/<split>-<H>x<W>[-first<N>][-seed<S>]`` for any other. It is complete
    when :func:`split_problems` finds nothing. An incomplete one is completed: only its damaged
    videos when its record, list and table are intact, else written whole (a split of other
    settings recorded there is removed first); either is said on stderr. Processes of one
    machine take turns through a lock file ``data_dir/.<folder>.lock``, so the ranks of a
    ``torchrun`` write the split once. Raises ``RuntimeError`` naming the folder and the first
    problem if writing still leaves it incomplete.
    """
    identity = split_settings(split, version, seed, height, width, limit)  # checks the arguments
    root = split_folder(
        data_dir, split, limit=limit, height=height, width=width, seed=seed, version=version
    )
    base = root.parent
    if base.exists() and not base.is_dir():
        raise ValueError(f"data folder {base} exists and is not a folder")
    if not split_problems(root, identity):
        return root
    with exclusive(base / f".{root.name}.lock"):
        problems = split_problems(root, identity)  # another process may have written it
        if problems:
            _complete(root, identity, problems, progress, workers)
    problems = split_problems(root, identity)
    if problems:
        raise RuntimeError(
            f"writing {describe_split(identity)} into {root} left it incomplete: {problems[0]}"
        )
    return root
