"""The superpixel parameters shared by LIME and KernelSHAP, and the labelling they declare."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.maps import segment
from xaiscope.plugins import Param

SEGMENTATION_PARAMS = (
    Param("segmentation", str, "quickshift",
          "Superpixel algorithm: quickshift (lime's default), slic, or grid (square tiles; time-frequency tiles "
          "on a spectrogram).", choices=("quickshift", "slic", "grid")),
    Param("segments", int, 50, "slic and grid: approximate number of superpixels.", 4, 1000),
)


def superpixels(picture: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    """Superpixels of ``picture`` ``(H, W, 3)`` in [0, 1] as declared by :data:`SEGMENTATION_PARAMS`: ``(H, W)``."""
    return segment(picture, params["segmentation"], params["segments"], seed)
