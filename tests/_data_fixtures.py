"""Tiny data sets in the real DAVIS 2016 / 2017 and YouTube-VOS layouts, written into tmp dirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from gsfm.data.io import write_image, write_mask


def moving_square_video(n: int, h: int, w: int, ids: tuple[int, ...] = (1, 2), seed: int = 0):
    """Frames and id masks of squares moving right by 2 px a frame (object k from frame k-1)."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8)
    masks = np.zeros((n, h, w), np.uint8)
    for t in range(n):
        for j, k in enumerate(ids):
            y, x = 2 + 8 * j, 2 + 2 * t + j
            masks[t, y : y + 6, x : x + 6] = k
    return frames, masks


def write_davis2017(root: Path, videos: dict[str, int], h: int = 24, w: int = 40) -> Path:
    """DAVIS 2017 trainval layout; ``videos``: name -> number of frames; val split = all."""
    for i, (name, n) in enumerate(videos.items()):
        frames, masks = moving_square_video(n, h, w, seed=i)
        for t in range(n):
            write_image(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", frames[t])
            write_mask(root / "Annotations" / "480p" / name / f"{t:05d}.png", masks[t])
    sets = root / "ImageSets" / "2017"
    sets.mkdir(parents=True)
    (sets / "val.txt").write_text("".join(f"{v}\n" for v in videos))
    (sets / "train.txt").write_text("".join(f"{v}\n" for v in videos))
    return root


def write_davis2016(root: Path, name: str = "bear", n: int = 5, h: int = 24, w: int = 40) -> Path:
    """DAVIS 2016 layout: grayscale 0/255 masks, ImageSets/480p/val.txt with path pairs."""
    frames, masks = moving_square_video(n, h, w, ids=(1,))
    lines = []
    for t in range(n):
        write_image(root / "JPEGImages" / "480p" / name / f"{t:05d}.jpg", frames[t])
        p = root / "Annotations" / "480p" / name / f"{t:05d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((masks[t] > 0).astype(np.uint8) * 255, mode="L").save(p)
        lines.append(f"/JPEGImages/480p/{name}/{t:05d}.jpg /Annotations/480p/{name}/{t:05d}.png\n")
    (root / "ImageSets" / "480p").mkdir(parents=True)
    (root / "ImageSets" / "480p" / "val.txt").write_text("".join(lines))
    return root


def write_youtube_valid(root: Path, h: int = 24, w: int = 40) -> Path:
    """YouTube-VOS valid + all_frames: object 1 from frame 0, object 2 first annotated at 00010."""
    frames, masks = moving_square_video(15, h, w, ids=(1, 2))
    name = "abc123"
    meta = {
        "videos": {
            name: {
                "objects": {
                    "1": {"category": "cat", "frames": []},
                    "2": {"category": "dog", "frames": []},
                }
            }
        }
    }
    for t in range(15):
        stem = f"{t:05d}"
        write_image(
            root / "all_frames" / "valid_all_frames" / "JPEGImages" / name / f"{stem}.jpg",
            frames[t],
        )
        if t % 5 == 0:
            write_image(root / "valid" / "JPEGImages" / name / f"{stem}.jpg", frames[t])
            for k in (1, 2):
                if k == 1 or t >= 10:
                    meta["videos"][name]["objects"][str(k)]["frames"].append(stem)
    m0 = np.where(masks[0] == 1, 1, 0).astype(np.uint8)
    write_mask(root / "valid" / "Annotations" / name / "00000.png", m0)
    m10 = np.where(masks[10] == 2, 2, 0).astype(np.uint8)
    write_mask(root / "valid" / "Annotations" / name / "00010.png", m10)
    (root / "valid" / "meta.json").write_text(json.dumps(meta))
    return root


def write_youtube_train(root: Path, n: int = 8, h: int = 24, w: int = 40) -> Path:
    """YouTube-VOS train_480p layout (flat: JPEGImages/<video>/, every 5th frame number)."""
    frames, masks = moving_square_video(n, h, w)
    for t in range(n):
        stem = f"{5 * t:05d}"
        write_image(root / "JPEGImages" / "yt1" / f"{stem}.jpg", frames[t])
        write_mask(root / "Annotations" / "yt1" / f"{stem}.png", masks[t])
    return root
