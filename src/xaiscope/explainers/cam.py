"""The CAM family, through pytorch-grad-cam (maintained, batched Score-CAM, one target-layer contract).

Each CAM method is one :class:`CamMethod` subclass naming the pytorch-grad-cam class it wraps. The target
layer comes from the model card (the earlier tool's layers for the seed architectures, a traced one
otherwise) and may be overridden with the ``layer`` parameter. The input asks for gradients, so maps stay
non-empty when the weights are frozen (``requires_grad=False``), and in-place activations are switched off
while the hooks are attached. pytorch-grad-cam rectifies and min-max scales each map to [0, 1], so CAM
attributions are non-negative.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM, XGradCAM
from pytorch_grad_cam import score_cam as score_cam_module
from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from xaiscope.explainers.base import AttributionResult, ExplanationError, Method, Param, without_inplace_activations
from xaiscope.explainers.libraries import no_progress_bar, replaced
from xaiscope.preprocessing.codec import input_shape

if TYPE_CHECKING:
    from xaiscope.models.model import Model

_LAYER = Param("layer", str, "", "Target layer (dotted module path); empty = the model card's layer.")


class CamMethod(Method):
    """A class activation map computed at one layer."""

    family = "cam"
    library = "pytorch-grad-cam"
    cam_class: ClassVar[type[BaseCAM]]
    params: ClassVar[tuple[Param, ...]] = (_LAYER,)
    input_kinds: ClassVar[tuple[str, ...]] = ("picture", "xray-gray", "features")
    needs_gradients = True

    def input_kind_note(self, input_kind: str) -> str:
        if input_kind == "waveform":
            return (": a raw-waveform model has no spatial or time-frequency feature grid for a class activation "
                    "map (use a gradient or occlusion map over time)")
        return ""

    def unsuited_model(self, model: Model) -> str | None:
        if not model.card.cam_target_layer:
            return ("the model card names no convolutional target layer (the network has no spatial feature maps, and "
                    "no token-to-grid reshape for a transformer)")
        return None

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1

    def target_layer(self, model: Model, params: dict[str, Any]) -> torch.nn.Module:
        path = layer_path(model, params)
        try:
            return model.network.get_submodule(path)
        except AttributeError as error:
            raise ExplanationError(f"{model.card.architecture} has no layer '{path}'.",
                                   "Give a dotted module path such as 'features.28' or 'layer4.2'.") from error

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        layer = self.target_layer(model, params)
        with without_inplace_activations(model.network), self.quiet(), \
                self.cam_class(model=model.class_view, target_layers=[layer],
                               reshape_transform=token_grid_reshape(model)) as cam:
            cam.compute_input_gradient = True  # gradients exist even when every weight is frozen
            if inputs.ndim == 3:  # a features matrix (1, A, B): maps are resized to (A, B), not to an image's size
                cam.get_target_width_height = lambda tensor: (int(tensor.size(-1)), int(tensor.size(-2)))
            self.configure(cam, params)
            maps = cam(input_tensor=inputs.clone(), targets=[ClassifierOutputTarget(target)])
        return AttributionResult(attribution=maps[0].astype("float32"), extras={"layer": layer_path(model, params)})

    def configure(self, cam: BaseCAM, params: dict[str, Any]) -> None:
        """Hook for per-method settings on the constructed CAM object."""

    def quiet(self) -> contextlib.AbstractContextManager[None]:
        """Silences the library's own progress bar while the method runs (where it draws one)."""
        return contextlib.nullcontext()


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
    input_kinds = ("picture", "xray-gray")  # pytorch-grad-cam masks channel-first images only

    def input_kind_note(self, input_kind: str) -> str:
        if input_kind == "features":
            return ": Score-CAM masks channel-first images with its maps, and a features matrix has no channels"
        return super().input_kind_note(input_kind)

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1 + layer_channels(model, layer_path(model, params))

    def configure(self, cam: BaseCAM, params: dict[str, Any]) -> None:
        cam.batch_size = params["batch_size"]

    def quiet(self) -> contextlib.AbstractContextManager[None]:
        # pytorch-grad-cam draws its own tqdm bar here; xaiscope reports progress by counting model calls.
        return replaced(score_cam_module, "tqdm", SimpleNamespace(tqdm=no_progress_bar))


def token_grid_reshape(model: Model) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The card's token-to-grid reshape for a transformer's target layer, or None for convolutional maps.

    The card's ``source_options["token_grid"]`` is ``{"skip": k, "rows": R, "cols": C, "transpose": bool}``: the
    layer outputs ``(N, k + R * C, D)`` tokens; the first ``k`` (class and distillation tokens) are dropped and the
    rest laid out row-major as an ``(N, D, R, C)`` map (``transpose`` swaps the grid's axes, for AST whose
    frequency-major patches explain a ``(frames, mel_bins)`` input).
    """
    grid = model.card.source_options.get("token_grid")
    if not grid:
        return None
    skip, rows, cols, transpose = int(grid["skip"]), int(grid["rows"]), int(grid["cols"]), bool(grid.get("transpose"))

    def reshape(tokens: torch.Tensor) -> torch.Tensor:
        """``(N, skip + rows * cols, D)`` -> ``(N, D, rows, cols)`` (axes swapped when ``transpose``)."""
        laid = tokens[:, skip:skip + rows * cols, :].reshape(tokens.size(0), rows, cols, tokens.size(2))
        laid = laid.permute(0, 3, 1, 2)
        return laid.transpose(2, 3) if transpose else laid

    return reshape


def layer_path(model: Model, params: dict[str, Any]) -> str:
    """The CAM target layer: the ``layer`` parameter, else the model card's."""
    return str(params.get("layer") or model.card.cam_target_layer or "")


#: network -> {layer path: channels}; weak keys, so a dropped model is not kept alive by this cache.
_channels: weakref.WeakKeyDictionary[torch.nn.Module, dict[str, int]] = weakref.WeakKeyDictionary()


def layer_channels(model: Model, path: str) -> int:
    """Number of channels of ``path``'s output for ``model`` (traced once per network and layer).

    The tracing forward pass runs under the model's lock, like every forward pass of a shared model.
    """
    known = _channels.setdefault(model.network, {})
    if path not in known:
        shapes: list[torch.Size] = []
        with model.lock:
            handle = model.network.get_submodule(path).register_forward_hook(
                lambda _module, _inputs, output: shapes.append(output.shape))
            try:
                with torch.inference_mode():
                    model.network(torch.zeros(1, *input_shape(model.card.preprocessing)))
            finally:
                handle.remove()
        # a transformer's tokens (N, T, D) have D channels once laid on their grid; a feature map (N, C, H, W) has C
        known[path] = int(shapes[0][-1] if model.card.source_options.get("token_grid") else shapes[0][1])
    return known[path]


CAM_METHODS: tuple[type[CamMethod], ...] = (GradCamMethod, GradCamPlusPlusMethod, XGradCamMethod, LayerCamMethod,
                                            EigenCamMethod, ScoreCamMethod)
