"""Views turn an Explanation into what a person looks at or listens to."""

from xaiscope.views.audio import AudioView, Span
from xaiscope.views.overlay import colorize, lime_view, normalise, overlay, png_bytes, shap_view
from xaiscope.views.summary import concentration, summarise

__all__ = ["AudioView", "Span", "colorize", "concentration", "lime_view", "normalise", "overlay", "png_bytes",
           "shap_view", "summarise"]
