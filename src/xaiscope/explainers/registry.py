"""The one registry of explanation methods (and the ``random`` control), and name look-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xaiscope.explainers.base import Method
from xaiscope.explainers.cam import CAM_METHODS
from xaiscope.explainers.control import CONTROL_METHODS
from xaiscope.explainers.gradient import GRADIENT_METHODS
from xaiscope.explainers.perturbation import PERTURBATION_METHODS
from xaiscope.explainers.tiles import TILE_METHODS
from xaiscope.plugins import Choice, Registry

if TYPE_CHECKING:
    from xaiscope.models.model import Model

#: Every method by name, in the order lists show them; the ``random`` control (family ``control``) last.
REGISTRY: Registry[Method] = Registry(
    "explanation method",
    [cls() for cls in (*CAM_METHODS, *GRADIENT_METHODS, *PERTURBATION_METHODS, *TILE_METHODS, *CONTROL_METHODS)],
    aliases={"grad-cam": "gradcam", "gradcam++": "gradcampp", "grad-cam++": "gradcampp", "ig": "integrated_gradients",
             "integratedgradients": "integrated_gradients", "saliency": "smoothgrad", "kernelshap": "kernel_shap",
             "partition_shap": "shap", "guidedbackprop": "guided_backprop", "score-cam": "scorecam",
             "inputxgradient": "gradient_x_input", "gradient*input": "gradient_x_input",
             "tile-lime": "tile_lime", "tile-kernelshap": "tile_kernel_shap", "tile-occlusion": "tile_occlusion"},
    listing="xaiscope methods")

#: A method and whether it suits a model and input kind, with the reason when it does not.
MethodChoice = Choice[Method]


def get_method(name: str) -> Method:
    """The registered method called ``name`` (case-insensitive; common spellings accepted).

    Raises:
        ExplanationError: unknown name; the message lists the methods.
    """
    return REGISTRY.get(name)


def methods(modality: str | None = None, model: Model | None = None, *, controls: bool = True,
            ) -> list[MethodChoice]:
    """Every method, marked available or not for ``modality`` and ``model`` (either may be None).

    Args:
        controls: include the ``control`` family (the ``random`` map), which evaluations use as chance level.
    """
    return [choice for choice in REGISTRY.choices(model, modality)
            if controls or choice.plugin.family != "control"]
