"""The CAM family, through pytorch-grad-cam (maintained, batched Score-CAM, one target-layer contract).

Each CAM method is one :class:`CamMethod` subclass naming the pytorch-grad-cam class it wraps. The target
layer comes from the model card (the earlier tool's layers for the seed architectures, a traced one
otherwise) and may be overridden with the ``layer`` parameter. The input asks for gradients, so maps stay
non-empty when the weights are frozen (``requires_grad=False``), and in-place activations are switched off
while the hooks are attached. pytorch-grad-cam rectifies and min-max scales each map to [0, 1], so CAM
attributions are non-negative.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam import score_cam as score_cam_module
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from xaiscope.explainers.base import AttributionResult, ExplanationError, Method, Param, without_inplace_activations

_LAYER = Param("layer", str, "", "Target layer (dotted module path); empty = the model card's layer.")


class CamMethod(Method):
    """A class activation map computed at one layer."""

    family = "cam"
    library = "pytorch-grad-cam"
    cam_class: ClassVar[type[BaseCAM]]
    params = (_LAYER,)

    def unsuitable_reason(self, model: Any) -> str | None:
        if not model.card.cam_target_layer:
            return "the model card names no convolutional target layer (the network has no spatial feature maps)"
        return None

    def model_calls(self, model: Any, params: dict[str, Any]) -> int:
        return 1

    def target_layer(self, model: Any, params: dict[str, Any]) -> torch.nn.Module:
        path = params.get("layer") or model.card.cam_target_layer
        try:
            return model.network.get_submodule(path)
        except AttributeError as error:
            raise ExplanationError(f"{model.card.architecture} has no layer '{path}'.",
                                   "Give a dotted module path such as 'features.28' or 'layer4.2'.") from error

    def attribute(self, model: Any, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        layer = self.target_layer(model, params)
        with without_inplace_activations(model.network), \
                self.cam_class(model=model.class_view, target_layers=[layer], **self.cam_options()) as cam:
            cam.compute_input_gradient = True  # gradients exist even when every weight is frozen
            self.configure(cam, params)
            maps = cam(input_tensor=inputs.clone(), targets=[ClassifierOutputTarget(target)])
        return AttributionResult(attribution=maps[0].astype("float32"), extras={"layer": params.get("layer") or
                                                                                model.card.cam_target_layer})

    def cam_options(self) -> dict[str, Any]:
        return {}

    def configure(self, cam: BaseCAM, params: dict[str, Any]) -> None:
        """Hook for per-method settings on the constructed CAM object."""


class GradCamMethod(CamMethod):
    name = "gradcam"
    label = "Grad-CAM"
    summary = "Channel maps at the target layer weighted by their average gradient (Selvaraju et al. 2017)."
    cam_class = GradCAM


class GradCamPlusPlusMethod(CamMethod):
    name = "gradcampp"
    label = "Grad-CAM++"
    summary = "Grad-CAM with higher-order gradient weights, better for several instances (Chattopadhay et al. 2018)."
    cam_class = GradCAMPlusPlus


class XGradCamMethod(CamMethod):
    name = "xgradcam"
    label = "XGrad-CAM"
    summary = "Grad-CAM with axiom-derived, activation-normalised weights (Fu et al. 2020)."
    cam_class = XGradCAM


class LayerCamMethod(CamMethod):
    name = "layercam"
    label = "Layer-CAM"
    summary = "Element-wise positive gradients times activations, finer maps (Jiang et al. 2021)."
    cam_class = LayerCAM


class EigenCamMethod(CamMethod):
    name = "eigencam"
    label = "Eigen-CAM"
    summary = "First principal component of the layer's activations; class-agnostic, no gradients (Muhammad 2020)."
    cam_class = EigenCAM


class ScoreCamMethod(CamMethod):
    name = "scorecam"
    label = "Score-CAM"
    summary = "Each channel map masks the input; weights are the class scores of the masked inputs (Wang et al. 2020)."
    cam_class = ScoreCAM
    params = (_LAYER, Param("batch_size", int, 16, "Masked images per forward pass.", 1, 512))

    def model_calls(self, model: Any, params: dict[str, Any]) -> int:
        return 1 + layer_channels(model, params.get("layer") or model.card.cam_target_layer)

    def configure(self, cam: BaseCAM, params: dict[str, Any]) -> None:
        cam.batch_size = int(params["batch_size"])
        # pytorch-grad-cam draws its own tqdm bar here; xaiscope reports progress by counting model calls.
        score_cam_module.tqdm = SimpleNamespace(tqdm=lambda iterable, *args, **kwargs: iterable)


def layer_channels(model: Any, path: str) -> int:
    """Number of channels of ``path``'s output for ``model`` (traced once per model and layer)."""
    return _traced_channels(model, path)


@lru_cache(maxsize=64)
def _traced_channels(model: Any, path: str) -> int:
    shapes: list[torch.Size] = []
    size = model.card.preprocessing.image_size
    with model.lock:  # concurrency (issue 11): this hook and forward pass must not meet another session's
        handle = model.network.get_submodule(path).register_forward_hook(
            lambda _module, _inputs, output: shapes.append(output.shape))
        try:
            with torch.inference_mode():
                model.network(torch.zeros(1, 3, size, size))
        finally:
            handle.remove()
    return int(shapes[0][1])


CAM_METHODS: tuple[type[CamMethod], ...] = (GradCamMethod, GradCamPlusPlusMethod, XGradCamMethod, LayerCamMethod,
                                            EigenCamMethod, ScoreCamMethod)
