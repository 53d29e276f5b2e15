"""Explanations: one registry of methods and one :func:`explain` call for all of them.

:mod:`.base` is the plug-in point (:class:`Method`), :mod:`.registry` lists the methods, :mod:`.api` holds
:func:`explain`; :mod:`.cam`, :mod:`.gradient`, :mod:`.perturbation` and :mod:`.control` are the families.
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.errors import ExplanationError, ExplanationStopped
    from xaiscope.explainers.api import Explanation, explain
    from xaiscope.explainers.base import AttributionResult, Method
    from xaiscope.explainers.registry import REGISTRY, MethodChoice, get_method, methods
    from xaiscope.plugins import Param

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
