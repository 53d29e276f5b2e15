"""Cutting a picture into regions: the one labelling used by LIME, KernelSHAP, deletion curves and the views.

Every function returns ``(H, W)`` int64 labels numbered from 0 without gaps.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Algorithm = Literal["quickshift", "slic", "grid"]


def dense_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber any ``(H, W)`` labelling from 0 without gaps (order of first label value kept)."""
    _, dense = np.unique(labels, return_inverse=True)
    return dense.reshape(labels.shape).astype(np.int64)


def grid_labels(height: int, width: int, side: int) -> np.ndarray:
    """Square tiles of ``side`` pixels, row by row (the last row and column may be narrower)."""
    side = max(1, int(side))
    rows, columns = np.arange(height)[:, None] // side, np.arange(width)[None, :] // side
    return dense_labels(rows * (-(-width // side)) + columns)


def slic_labels(picture: np.ndarray, count: int) -> np.ndarray:
    """SLIC superpixels of ``picture`` ``(H, W, 3)`` in [0, 1]: about ``count`` of them, compactness 10, sigma 1."""
    from skimage.segmentation import slic

    return dense_labels(slic(picture, n_segments=int(count), compactness=10, sigma=1, start_label=0))


def segment(picture: np.ndarray, algorithm: Algorithm, count: int, seed: int = 0) -> np.ndarray:
    """Regions of ``picture`` ``(H, W, 3)`` in [0, 1].

    ``quickshift`` uses lime's defaults (kernel size 4, max distance 200, ratio 0.2; ``count`` is ignored);
    ``slic`` see :func:`slic_labels`; ``grid`` cuts square tiles of side ``round(sqrt(H * W / count))``.
    """
    height, width = picture.shape[:2]
    if algorithm == "grid":
        return grid_labels(height, width, round(float(np.sqrt(height * width / int(count)))))
    if algorithm == "slic":
        return slic_labels(picture, count)
    from skimage.segmentation import quickshift

    return dense_labels(quickshift(picture, kernel_size=4, max_dist=200, ratio=0.2, rng=seed))


def segment_means(values: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (``(H, W)`` or ``(H, W, C)``) in each region of ``segments`` ``(H, W)``.

    Returns:
        ``(n_segments,)`` or ``(n_segments, C)`` float64; paint back with ``result[segments]``.
    """
    labels = segments.ravel()
    counts = np.maximum(np.bincount(labels), 1)
    flat = values.reshape(labels.size, -1)
    means = np.stack([np.bincount(labels, weights=flat[:, c]) / counts for c in range(flat.shape[1])], axis=1)
    return means[:, 0] if values.ndim == 2 else means


def paint(segments: np.ndarray, weights: dict[int, float]) -> np.ndarray:
    """Paint each region of ``segments`` ``(H, W)`` with its weight (0 where none is given); ``(H, W)`` float32."""
    lookup = np.zeros(int(segments.max()) + 1, np.float32)
    for segment_id, weight in weights.items():
        lookup[int(segment_id)] = weight
    return lookup[segments]
