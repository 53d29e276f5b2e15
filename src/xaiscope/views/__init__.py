"""Views turn an Explanation into what a person looks at or listens to."""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.views.audio import AudioView, Span
    from xaiscope.views.overlay import colorize, lime_view, normalise, overlay, png_bytes, shap_view
    from xaiscope.views.summary import concentration, summarise

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
