"""Superpixel segmentation shared by LIME, KernelSHAP and the SHAP display (scikit-image)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.explainers.base import Param

SEGMENTATION_PARAMS = (
    Param("segmentation", str, "quickshift",
          "Superpixel algorithm: quickshift (lime's default), slic, or grid (square tiles; time-frequency tiles "
          "on a spectrogram).", choices=("quickshift", "slic", "grid")),
    Param("segments", int, 50, "slic and grid: approximate number of superpixels.", 4, 1000),
)


def segment(picture: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    """Superpixels of ``picture`` ``(H, W, 3)`` in [0, 1].

    ``quickshift`` uses lime's defaults (kernel size 4, max distance 200, ratio 0.2); ``slic`` uses
    ``params["segments"]`` superpixels with compactness 10 and sigma 1; ``grid`` cuts square tiles of side
    ``round(sqrt(H * W / segments))``.

    Returns:
        ``(H, W)`` int labels numbered from 0 without gaps.
    """
    from skimage.segmentation import quickshift, slic

    if params["segmentation"] == "grid":
        height, width = picture.shape[:2]
        side = max(1, round(float(np.sqrt(height * width / int(params["segments"])))))
        rows, columns = np.arange(height)[:, None] // side, np.arange(width)[None, :] // side
        labels = rows * (-(-width // side)) + columns
    elif params["segmentation"] == "slic":
        labels = slic(picture, n_segments=int(params["segments"]), compactness=10, sigma=1, start_label=0)
    else:
        labels = quickshift(picture, kernel_size=4, max_dist=200, ratio=0.2, rng=seed)
    _, dense = np.unique(labels, return_inverse=True)
    return dense.reshape(labels.shape).astype(np.int64)


def slic_average(attribution: np.ndarray, picture: np.ndarray, n_segments: int = 120) -> np.ndarray:
    """Average ``attribution`` ``(H, W)`` within SLIC superpixels of ``picture`` (the earlier tool's SHAP display).

    Uses ``n_segments=120, compactness=10, sigma=1``; returns ``(H, W)`` float32.
    """
    from skimage.segmentation import slic

    labels = slic(picture, n_segments=n_segments, compactness=10, sigma=1, start_label=0)
    return segment_means(attribution, labels)[labels].astype(np.float32)


def segment_means(values: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (``(H, W)`` or ``(H, W, C)``) in each superpixel of ``segments`` ``(H, W)``.

    Returns:
        ``(n_segments,)`` or ``(n_segments, C)`` float64; paint back with ``result[segments]``.
    """
    labels = segments.ravel()
    counts = np.maximum(np.bincount(labels), 1)
    flat = values.reshape(labels.size, -1)
    means = np.stack([np.bincount(labels, weights=flat[:, c]) / counts for c in range(flat.shape[1])], axis=1)
    return means[:, 0] if values.ndim == 2 else means
