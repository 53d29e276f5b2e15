"""How alike two attribution maps are: the one rank correlation and SSIM used by sanity checks and the app.

Rule for constant maps (a CAM emptied by its ReLU, a map that randomisation flattened): a constant map ranks
nothing, so its rank correlation with any map is **undefined** (NaN), never 0 or 1. Callers show NaN as
"undefined" or "not applicable", so a flat map can neither pass a sanity check nor look like agreement.
"""

from __future__ import annotations

import numpy as np


def is_constant(attribution: np.ndarray) -> bool:
    """True when every value of the map is the same (an empty or flat map)."""
    array = np.asarray(attribution)
    return array.size == 0 or bool(np.ptp(array) == 0)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps of the same shape (flattened); NaN when either map is constant."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if is_constant(a) or is_constant(b):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two ``(H, W)`` maps, data range = the joint range of both (as Quantus' ``ssim``).

    A zero joint range means both maps are the same constant: 1.0.
    """
    from skimage.metrics import structural_similarity

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    joint = np.concatenate([a.ravel(), b.ravel()])
    data_range = float(joint.max() - joint.min())
    if data_range == 0:
        return 1.0
    return float(structural_similarity(a, b, data_range=data_range))


def comparable(attribution: np.ndarray, absolute: bool) -> np.ndarray:
    """The form in which maps are compared: optionally absolute, scaled to a maximum magnitude of 1."""
    array = np.abs(attribution) if absolute else np.asarray(attribution, np.float64)
    peak = float(np.abs(array).max()) if array.size else 0.0
    return array / peak if peak > 0 else array
