"""Operations on attribution maps and the pictures they explain, shared by explainers, trust metrics and views.

Importing this package imports no explanation library.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.maps.segmentation import (
        dense_labels,
        grid_labels,
        paint,
        segment,
        segment_means,
        slic_labels,
    )
    from xaiscope.maps.similarity import comparable, is_constant, rank_correlation, ssim

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
