"""Joint image / mask augmentation (torchvision.transforms.v2) and normalisation.

The recipes follow the authors' training code (``docs/paper_vs_code.md`` §4):

* :class:`VOSAugment`: video triplets (DAVIS / YouTube-VOS / synthetic folders). Shared by all
  frames: horizontal flip, RandomResizedCrop (bicubic images, nearest masks, scale 0.36-1),
  ColorJitter(0.1, 0.03, 0.03, 0), RandomGrayscale(0.05). Per frame: RandomAffine(15 deg,
  shear 10, bilinear (see below), fill ``IM_MEAN`` / 0) and ColorJitter(0.01, 0.01, 0.01, 0).
* :class:`StaticAugment`: one image -> 3 frames. Shared: RandomAffine(scale 0.8-1.5,
  nearest, fill ``IM_MEAN``), flip, ColorJitter(0.1, 0.05, 0.05, 0.05), RandomGrayscale(0.05).
  Per frame: RandomAffine(20 deg, scale 0.9-1.1, shear 10, bilinear for image AND mask, so the
  mask turns soft as in the authors' code), Resize(shorter side), RandomCrop with padding,
  ColorJitter(0.1, 0.05, 0.05, 0), and a thin-plate-spline warp with probability 0.33
  (:func:`tps_warp`, our own implementation of the ``thinplate`` recipe).

Deviation: torchvision's tensor affine has no bicubic mode, so the per-frame RandomAffine is
bilinear (the authors' PIL pipeline uses bicubic); the static GT still turns soft.

Images and masks get the same random parameters because they go through one v2 call
(``tv_tensors.Video`` + ``tv_tensors.Mask``). Randomness comes from torch's generator; pass a
``seed`` to make a call reproducible without touching the caller's global RNG state
(:func:`seeded`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import cv2
import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IM_MEAN",
    "StaticAugment",
    "VOSAugment",
    "denormalize",
    "normalize",
    "seeded",
    "tps_warp",
    "to_chw_uint8",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
IM_MEAN: tuple[int, int, int] = (124, 116, 104)  # fill value for padded image pixels


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the block under ``torch.manual_seed(seed)``, restoring the CPU RNG afterwards.

    ``None`` runs it on the current global RNG (e.g. DataLoader worker seeding).
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed) % (2**63))
        yield


def to_chw_uint8(frames: np.ndarray) -> torch.Tensor:
    """``(T, H, W, 3)`` or ``(H, W, 3)`` uint8 numpy -> ``(T, 3, H, W)`` / ``(3, H, W)`` uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(np.asarray(frames), -1, -3)))


def normalize(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``(..., 3, H, W)`` -> float32 ImageNet-normalised (mean .485/.456/.406, std .229/.224/.225)."""
    if frames.device.type != "cpu":
        x = frames.to(torch.float32) / 255.0
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32, device=frames.device).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32, device=frames.device).view(3, 1, 1)
        return (x - mean) / std
    # CPU: NumPy is single-threaded and much faster than torch for this on a busy machine
    scale = (1.0 / (255.0 * np.asarray(IMAGENET_STD, np.float32))).reshape(3, 1, 1)
    shift = (np.asarray(IMAGENET_MEAN, np.float32) / np.asarray(IMAGENET_STD, np.float32)).reshape(
        3, 1, 1
    )
    x = frames.numpy().astype(np.float32) * scale - shift
    return torch.from_numpy(x)


def denormalize(frames: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`normalize`: float32 in [0, 1] (for plotting)."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=frames.dtype, device=frames.device).view(3, 1, 1)
    return (frames * std + mean).clamp(0, 1)


_FILL = {tv_tensors.Image: list(IM_MEAN), tv_tensors.Video: list(IM_MEAN), tv_tensors.Mask: 0}


class VOSAugment:
    """Augment a clip: ``(frames uint8 (T,3,H,W), masks uint8 (T,H,W)) -> same, cropped``."""

    def __init__(self, crop_size: int = 384, scale: tuple[float, float] = (0.36, 1.0)) -> None:
        self.crop_size = int(crop_size)
        self.shared_geom = v2.Compose(
            [
                v2.RandomHorizontalFlip(),
                v2.RandomResizedCrop(
                    (self.crop_size, self.crop_size),
                    scale=scale,
                    interpolation=InterpolationMode.BICUBIC,
                    antialias=True,
                ),
            ]
        )
        self.shared_color = v2.Compose(
            [v2.ColorJitter(0.1, 0.03, 0.03, 0), v2.RandomGrayscale(0.05)]
        )
        self.frame_geom = v2.RandomAffine(
            degrees=15, shear=10, interpolation=InterpolationMode.BILINEAR, fill=_FILL
        )
        self.frame_color = v2.ColorJitter(0.01, 0.01, 0.01, 0)

    def __call__(
        self, frames: torch.Tensor, masks: torch.Tensor, seed: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        with seeded(seed):
            video, mask = self.shared_geom(tv_tensors.Video(frames), tv_tensors.Mask(masks))
            video = self.shared_color(video)
            out_f, out_m = [], []
            for t in range(video.shape[0]):
                f, m = self.frame_geom(tv_tensors.Image(video[t]), tv_tensors.Mask(mask[t]))
                out_f.append(self.frame_color(f))
                out_m.append(m)
        return torch.stack([f.as_subclass(torch.Tensor) for f in out_f]), torch.stack(
            [m.as_subclass(torch.Tensor) for m in out_m]
        )


def tps_warp(
    image: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator,
    n_points: int = 12,
    sigma: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Thin-plate-spline warp: ``n_points`` random control points in the unit square each
    move by N(0, ``sigma``) (normalised coordinates); bilinear image, nearest mask.

    Own implementation of the recipe described in ``docs/paper_vs_code.md`` §4 (the authors
    call the ``thinplate`` package): the TPS is solved so that it maps destination control
    points to source points, then the source is sampled with ``cv2.remap``.
    """
    h, w = mask.shape[:2]
    dst = rng.random((n_points, 2))
    src = dst + rng.normal(0.0, sigma, size=(n_points, 2))

    def kernel(r2: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = r2 * np.log(r2)
        return np.nan_to_num(out)

    n = n_points
    d2 = ((dst[:, None, :] - dst[None, :, :]) ** 2).sum(-1)
    a = np.zeros((n + 3, n + 3))
    a[:n, :n] = kernel(d2)
    a[:n, n] = 1
    a[:n, n + 1 :] = dst
    a[n, :n] = 1
    a[n + 1 :, :n] = dst.T
    b = np.zeros((n + 3, 2))
    b[:n] = src
    coef = np.linalg.lstsq(a, b, rcond=None)[0]
    ys, xs = np.mgrid[0:h, 0:w]
    grid = np.stack([xs.ravel() / max(w - 1, 1), ys.ravel() / max(h - 1, 1)], 1)
    g2 = ((grid[:, None, :] - dst[None, :, :]) ** 2).sum(-1)
    mapped = kernel(g2) @ coef[:n] + coef[n] + grid @ coef[n + 1 :]
    map_x = (mapped[:, 0] * (w - 1)).reshape(h, w).astype(np.float32)
    map_y = (mapped[:, 1] * (h - 1)).reshape(h, w).astype(np.float32)
    img = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    msk = cv2.remap(mask, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    return img, msk


class StaticAugment:
    """One image + soft mask -> ``num_frames`` augmented frames (authors' static recipe).

    Call with ``image`` uint8 ``(3,H,W)`` and ``mask`` uint8 ``(H,W)`` (0..255); returns
    frames uint8 ``(T,3,S,S)`` and soft masks float32 ``(T,S,S)`` in [0, 1].
    """

    def __init__(self, crop_size: int = 384, num_frames: int = 3, tps_prob: float = 0.33) -> None:
        self.crop_size = int(crop_size)
        self.num_frames = int(num_frames)
        self.tps_prob = float(tps_prob)
        fill4 = [*IM_MEAN, 0]  # image channels + mask channel, geometric ops on a 4-channel stack
        self.shared_geom = v2.Compose(
            [
                v2.RandomAffine(
                    degrees=0, scale=(0.8, 1.5), interpolation=InterpolationMode.NEAREST, fill=fill4
                ),
                v2.RandomHorizontalFlip(),
            ]
        )
        self.shared_color = v2.Compose(
            [v2.ColorJitter(0.1, 0.05, 0.05, 0.05), v2.RandomGrayscale(0.05)]
        )
        self.frame_geom = v2.Compose(
            [
                v2.RandomAffine(
                    degrees=20,
                    scale=(0.9, 1.1),
                    shear=10,
                    interpolation=InterpolationMode.BILINEAR,
                    fill=fill4,
                ),
                v2.Resize(self.crop_size, interpolation=InterpolationMode.BICUBIC, antialias=True),
                v2.RandomCrop(self.crop_size, pad_if_needed=True, fill=fill4),
            ]
        )
        self.frame_color = v2.ColorJitter(0.1, 0.05, 0.05, 0)

    def __call__(
        self, image: torch.Tensor, mask: torch.Tensor, seed: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        frames, masks = [], []
        with seeded(seed):
            stack = torch.cat([image, mask[None]], 0)
            stack = self.shared_geom(tv_tensors.Image(stack))
            img = self.shared_color(tv_tensors.Image(stack[:3].contiguous()))
            stack = torch.cat([img.as_subclass(torch.Tensor), stack[3:]], 0)
            tps_seeds = torch.randint(0, 2**31 - 1, (self.num_frames,)).tolist()
            tps_draw = torch.rand(self.num_frames).tolist()
            for t in range(self.num_frames):
                s = self.frame_geom(tv_tensors.Image(stack)).as_subclass(torch.Tensor)
                f = self.frame_color(tv_tensors.Image(s[:3].contiguous())).as_subclass(torch.Tensor)
                m = s[3]
                if tps_draw[t] < self.tps_prob:
                    rng = np.random.default_rng(tps_seeds[t])
                    fi, mi = tps_warp(
                        f.permute(1, 2, 0).contiguous().numpy(), m.contiguous().numpy(), rng
                    )
                    f = torch.from_numpy(fi).permute(2, 0, 1).contiguous()
                    m = torch.from_numpy(mi)
                frames.append(f)
                masks.append(m.to(torch.float32) / 255.0)
        return torch.stack(frames), torch.stack(masks)
