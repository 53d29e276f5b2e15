"""Operations on attribution maps and the pictures they explain, shared by explainers, trust metrics and views.

Importing this package imports no explanation library.
"""

from xaiscope.maps.segmentation import (
    dense_labels,
    grid_labels,
    paint,
    segment,
    segment_means,
    slic_labels,
)
from xaiscope.maps.similarity import comparable, is_constant, rank_correlation, ssim

__all__ = ["comparable", "dense_labels", "grid_labels", "is_constant", "paint", "rank_correlation", "segment",
           "segment_means", "slic_labels", "ssim"]
