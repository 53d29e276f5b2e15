"""The time-frequency plane (seconds by Hz) on which every audio explanation is shown, scored and heard.

:mod:`.grid` states the plane (:class:`PlaneGrid`, :class:`PlaneMap`), :mod:`.project` carries maps from a model's
own input space onto it, :mod:`.tiles` hides parts of a recording on it and resynthesises the rest, and
:mod:`.differentiable` is the torch STFT through which gradient methods reach it.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.plane.grid import PlaneGrid, PlaneMap
    from xaiscope.plane.project import to_plane
    from xaiscope.plane.tiles import REPLACEMENTS, ClipMasker, TileLayout, keep_cells

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
