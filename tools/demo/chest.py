"""Synthetic chest-like radiographs shaped by real lung masks, with optional inserted opacities.

A picture is drawn in display convention (dense = bright): air outside a bright body, two dark lung fields taken
from a real lung mask (jittered), a heart shadow, curved ribs, lung texture, optional skin markers (sharp bright
discs anywhere, in both classes, so that "any bright spot" does not mean opacity), and optionally one or two
opacities: soft, textured, brighter patches confined to the lungs. Each opacity's ground-truth mask is where
its profile exceeds a third of its peak inside the lungs. No pixel of a real radiograph is used.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

SIZE = 256


@dataclass(frozen=True)
class LungMask:
    """One lung mask of torchxrayvision's ``semantic_masks_v7labs_lungs.zip``."""

    name: str
    group: str
    mask: np.ndarray  # (SIZE, SIZE) bool


def masks_zip() -> Path:
    """The lung-mask archive shipped inside the ``torchxrayvision`` package (no download)."""
    import importlib.util

    spec = importlib.util.find_spec("torchxrayvision")
    if spec is None or spec.origin is None:
        from tools.demo import DemoBuildError

        raise DemoBuildError("torchxrayvision is not installed.", "Install the demo extra: pip install -e '.[demo]'.")
    return Path(spec.origin).parent / "data" / "semantic_masks_v7labs_lungs.zip"


def mask_group(name: str) -> str:
    """What must stay in one split: the image name without up to two trailing view or slice indices."""
    stem = Path(name).stem.lower()
    for _ in range(2):
        stem = re.sub(r"[_-]\d{1,2}$", "", stem)
    return stem


def load_masks(path: Path | None = None) -> list[LungMask]:
    """The usable masks (two lung fields covering 12-55 % of the picture), resized to ``SIZE`` square."""
    masks = []
    with zipfile.ZipFile(path or masks_zip()) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith("/"):
                continue
            picture = Image.open(io.BytesIO(archive.read(name))).convert("L").resize((SIZE, SIZE),
                                                                                     Image.Resampling.BILINEAR)
            mask = np.asarray(picture) > 127
            mask = ndimage.binary_opening(mask, iterations=2)
            labels, count = ndimage.label(mask)
            if count < 2 or not 0.12 <= mask.mean() <= 0.55:
                continue
            sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1]
            if sizes[1] < 0.25 * sizes[0]:
                continue
            keep = np.isin(labels, np.argsort(np.bincount(labels.ravel()))[::-1][1:3])
            masks.append(LungMask(Path(name).name, mask_group(Path(name).name), keep))
    return masks


def _smooth_noise(rng: np.random.Generator, sigma: float) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.standard_normal((SIZE, SIZE)), sigma)
    return noise / (noise.std() + 1e-9)


def _jitter(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    angle = float(rng.uniform(-5, 5))
    scale = float(rng.uniform(0.9, 1.05))
    shift = rng.uniform(-8, 8, size=2)
    rotated = ndimage.rotate(mask.astype(np.float32), angle, reshape=False, order=1)
    centre = np.array([SIZE / 2, SIZE / 2])
    matrix = np.eye(2) / scale
    offset = centre - matrix @ centre - shift
    return ndimage.affine_transform(rotated, matrix, offset=offset, order=1) > 0.5


def _disc(rows: np.ndarray, cols: np.ndarray, centre: tuple[float, float], radii: tuple[float, float],
          angle: float) -> np.ndarray:
    dy, dx = rows - centre[0], cols - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u, v = (dx * cos + dy * sin) / radii[1], (-dx * sin + dy * cos) / radii[0]
    return np.sqrt(u**2 + v**2)


def chest_picture(mask: np.ndarray, rng: np.random.Generator, opacities: int = 0,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Draw one picture.

    Args:
        mask: ``(SIZE, SIZE)`` bool lung mask.
        rng: the random source.
        opacities: how many opacities to insert (0 for a normal picture).

    Returns:
        ``(image, lesion)``: ``(SIZE, SIZE)`` uint8 picture and bool ground-truth mask of the opacities.
    """
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    lungs_mask = _jitter(mask, rng)
    lungs = ndimage.gaussian_filter(lungs_mask.astype(np.float32), float(rng.uniform(2.5, 4.5)))
    ys, xs = np.nonzero(lungs_mask) if lungs_mask.any() else (np.array([SIZE / 2]), np.array([SIZE / 2]))
    top, bottom = float(ys.min()), float(ys.max())
    centre_x = float(xs.mean())
    width = float(rng.uniform(0.40, 0.47)) * SIZE
    body = np.exp(-np.abs((cols - centre_x) / width) ** 6) * (0.55 + 0.1 * rows / SIZE)
    image = 0.04 + body * float(rng.uniform(0.85, 1.1))
    heart = np.clip(1.2 - _disc(rows, cols, (bottom - 0.2 * (bottom - top), centre_x + 0.03 * SIZE),
                                (0.13 * SIZE, 0.1 * SIZE), float(rng.uniform(-0.4, 0.0))), 0, 1)
    image += 0.1 * heart
    image -= float(rng.uniform(0.32, 0.42)) * lungs * (1 - 0.25 * heart)
    spacing = (bottom - top) / float(rng.uniform(7, 9))
    curvature = float(rng.uniform(0.004, 0.007))
    ribs = np.zeros_like(image)
    for index in range(10):
        y0 = top - spacing + index * spacing
        centre_line = y0 + curvature * (cols - centre_x) ** 2 * 0.5 - 0.25 * np.abs(cols - centre_x)
        ribs += np.exp(-((rows - centre_line) / float(rng.uniform(2.5, 3.5))) ** 2)
    image += 0.07 * np.clip(ribs, 0, 1) * (0.3 + 0.7 * lungs)
    image += 0.02 * _smooth_noise(rng, 2.0) * lungs + 0.02 * _smooth_noise(rng, 6)
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):  # skin markers, both classes
        centre = (float(rng.uniform(0.2, 0.9) * SIZE), float(rng.uniform(0.2, 0.8) * SIZE))
        radius = float(rng.uniform(3, 6))
        image += 0.35 * (_disc(rows, cols, centre, (radius, radius), 0.0) < 1)
    lesion = np.zeros((SIZE, SIZE), bool)
    inside = ndimage.distance_transform_edt(lungs_mask)
    for _ in range(opacities):
        radii = (float(rng.uniform(12, 24)), float(rng.uniform(12, 24)))
        candidates = np.argwhere(inside >= 0.6 * min(radii))
        if not len(candidates):
            candidates = np.argwhere(lungs_mask)
        cy, cx = candidates[int(rng.integers(len(candidates)))]
        distance = _disc(rows, cols, (float(cy), float(cx)), radii, float(rng.uniform(0, np.pi)))
        profile = np.exp(-(distance ** float(rng.uniform(1.5, 3.0))))
        profile *= np.clip(0.75 + 0.25 * _smooth_noise(rng, 2.0), 0, None)
        profile *= lungs
        image += float(rng.uniform(0.25, 0.4)) * profile
        lesion |= (profile > 0.33 * profile.max()) & lungs_mask
    gamma = float(rng.uniform(0.8, 1.25))
    image = np.clip(image, 0, 1) ** gamma
    image = ndimage.gaussian_filter(image, float(rng.uniform(0.3, 1.0)))
    image += 0.01 * rng.standard_normal(image.shape)
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), lesion
