"""The CAM family: class activation maps at one layer, computed in one forward pass and a backward pass that stops
at that layer.

The target layer comes from the model card (the earlier tool's layers for the seed architectures, a traced one
otherwise) and may be overridden with the ``layer`` parameter. A forward hook on the layer detaches its output into
a leaf that asks for gradients and hands the network a copy of it (:func:`layer_signals`), so:

* the forward pass records no graph below the layer, and ``torch.autograd.grad`` stops there (Grad-CAM needs the
  gradient at the layer, not at the input pixels);
* maps stay non-empty when every weight is frozen (``requires_grad=False``);
* an in-place activation after the layer changes the copy, never the captured activations.

Channel weights follow pytorch-grad-cam's formulas (Grad-CAM, Grad-CAM++, XGrad-CAM, Layer-CAM, Eigen-CAM), and
so does the post-processing: rectified, min-max scaled, resized to the input, rectified and scaled again, so CAM
attributions lie in [0, 1]; a test compares the maps with pytorch-grad-cam's. Score-CAM, which masks the input
with every channel, stays with pytorch-grad-cam's batched implementation.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xaiscope.explainers.base import AttributionResult, ExplanationError, Method, Param, without_inplace_activations
from xaiscope.explainers.libraries import no_progress_bar, replaced
from xaiscope.preprocessing.codec import input_shape

if TYPE_CHECKING:
    import torch

    from xaiscope.models.model import Model

_LAYER = Param("layer", str, "", "Target layer (dotted module path); empty = the model card's layer.")


def layer_signals(model: Model, layer: torch.nn.Module, inputs: torch.Tensor, target: int, gradients: bool,
                  reshape: Callable[[torch.Tensor], torch.Tensor] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """One forward pass (and, with ``gradients``, a backward pass to ``layer`` only).

    Args:
        model: the model; its ``class_view`` gives one logit per class.
        layer: a module of ``model.network``.
        inputs: the model input, ``(1, 3, H, W)`` for a picture (``(1, A, B)`` for a features matrix).
        target: the class whose logit is differentiated.
        gradients: whether to differentiate.
        reshape: lays a transformer layer's tokens ``(1, T, D)`` out as a ``(1, D, h, w)`` map (the card's token
            grid, :func:`token_grid_reshape`); activations and gradients are laid out alike.

    Returns:
        The layer's activations ``(1, C, h, w)`` and the gradient of the target logit with respect to them (same
        shape), or None without ``gradients``; float32 numpy arrays.
    """
    import torch

    captured: list[torch.Tensor] = []
    grad_mode = torch.is_grad_enabled()

    def hook(_module: torch.nn.Module, _inputs: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
        leaf = output.detach().requires_grad_(gradients)
        captured.append(leaf)
        torch.set_grad_enabled(gradients)  # the graph starts here: nothing below the layer is recorded
        return leaf.clone()

    handle = layer.register_forward_hook(hook)
    try:
        with without_inplace_activations(model.network):
            torch.set_grad_enabled(False)
            logits = model.class_view(inputs)
    finally:
        handle.remove()
        torch.set_grad_enabled(grad_mode)
    if not captured:
        raise ExplanationError("The target layer was not used by the forward pass.",
                               "Choose a layer on the path from the input to the output.")
    activations = captured[-1]
    laid = reshape(activations.detach()) if reshape is not None else activations.detach()
    if laid.dim() != 4:
        raise ExplanationError(f"The target layer's output has shape {tuple(laid.shape)}, not (1, C, h, w).",
                               "Choose a convolutional layer whose output is a spatial feature map, or state the "
                               "token grid of a transformer layer in the card.")
    if not gradients:
        return laid.float().cpu().numpy(), None
    (gradient,) = torch.autograd.grad(logits[0, target], activations)
    gradient = reshape(gradient) if reshape is not None else gradient
    return laid.float().cpu().numpy(), gradient.float().cpu().numpy()


def _scale(maps: np.ndarray) -> np.ndarray:
    """Each ``(h, w)`` map of ``(N, h, w)`` shifted to a minimum of 0 and divided by ``1e-7 + max``."""
    shifted = maps - maps.min(axis=(1, 2), keepdims=True)
    return shifted / (1e-7 + shifted.max(axis=(1, 2), keepdims=True))


def finish_cam(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(1, h, w)`` raw class activation -> ``(H, W)`` float32 map in [0, 1] at the input's ``size``.

    Rectified and scaled, resized bilinearly (half-pixel centres, as OpenCV), rectified and scaled again: the
    post-processing of pytorch-grad-cam.
    """
    import torch

    scaled = _scale(np.maximum(cam, 0).astype(np.float32))
    resized = torch.nn.functional.interpolate(torch.from_numpy(scaled)[:, None], size=size, mode="bilinear",
                                              align_corners=False)[:, 0].numpy()
    return _scale(np.maximum(resized, 0))[0].astype(np.float32)


def principal_projection(activations: np.ndarray) -> np.ndarray:
    """``(1, C, h, w)`` -> ``(1, h, w)``: the centred activations projected on their first principal direction."""
    channels = activations[0].reshape(activations.shape[1], -1).T  # (h * w, C)
    channels = np.nan_to_num(channels) - np.nan_to_num(channels).mean(axis=0)
    _, _, directions = np.linalg.svd(channels, full_matrices=False)
    return (channels @ directions[0]).reshape(1, *activations.shape[2:]).astype(np.float32)


class CamMethod(Method):
    """A class activation map at one layer: :meth:`cam` turns the layer's activations and gradients into a map."""

    family = "cam"
    library = "xaiscope (single pass; pytorch-grad-cam's formulas)"
    uses_gradients: ClassVar[bool] = True
    params: ClassVar[tuple[Param, ...]] = (_LAYER,)
    input_kinds: ClassVar[tuple[str, ...]] = ("picture", "xray-gray", "features")
    needs_gradients = True

    def input_kind_note(self, input_kind: str) -> str:
        if input_kind == "waveform":
            return (": a raw-waveform model has no spatial or time-frequency feature grid for a class activation "
                    "map (use a gradient method or a tile method: both map it on the time-frequency plane)")
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
        activations, gradient = layer_signals(model, layer, inputs, target, self.uses_gradients,
                                              token_grid_reshape(model))
        cam = self.cam(activations, gradient)
        return AttributionResult(attribution=finish_cam(cam, (inputs.shape[-2], inputs.shape[-1])),
                                 extras={"layer": layer_path(model, params)})

    def cam(self, activations: np.ndarray, gradient: np.ndarray | None) -> np.ndarray:
        """``(1, C, h, w)`` activations and gradients -> ``(1, h, w)`` raw map (before rectifying and scaling)."""
        if gradient is None:
            raise ExplanationError(f"{self.label} needs gradients.", "Run it on a differentiable model.")
        weights = self.channel_weights(activations, gradient)
        return (weights[:, :, None, None] * activations).sum(axis=1)

    def channel_weights(self, activations: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        """``(1, C)`` weight of each channel."""
        raise NotImplementedError


class GradCamMethod(CamMethod):
    name = "gradcam"
    label = "Grad-CAM"
    summary = "Channel maps at the target layer weighted by their average gradient (Selvaraju et al. 2017)."
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.993, deletion-AUC
    #: difference 0.000.
    reduced_precision_ok = True

    def channel_weights(self, activations: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        return gradient.mean(axis=(2, 3))


class GradCamPlusPlusMethod(CamMethod):
    name = "gradcampp"
    label = "Grad-CAM++"
    summary = "Grad-CAM with higher-order gradient weights, better for several instances (Chattopadhay et al. 2018)."
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.990, deletion-AUC
    #: difference 0.000.
    reduced_precision_ok = True

    def channel_weights(self, activations: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        squared = gradient ** 2
        alpha = squared / (2 * squared + activations.sum(axis=(2, 3), keepdims=True) * squared * gradient + 1e-6)
        alpha = np.where(gradient != 0, alpha, 0)
        return (np.maximum(gradient, 0) * alpha).sum(axis=(2, 3))


class XGradCamMethod(CamMethod):
    name = "xgradcam"
    label = "XGrad-CAM"
    summary = "Grad-CAM with axiom-derived, activation-normalised weights (Fu et al. 2020)."
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr -0.73, deletion-AUC
    #: difference 0.001.
    reduced_precision_ok = False

    def channel_weights(self, activations: np.ndarray, gradient: np.ndarray) -> np.ndarray:
        totals = activations.sum(axis=(2, 3), keepdims=True)
        return (gradient * activations / (totals + 1e-7)).sum(axis=(2, 3))


class LayerCamMethod(CamMethod):
    name = "layercam"
    label = "Layer-CAM"
    summary = "Element-wise positive gradients times activations, finer maps (Jiang et al. 2021)."
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.986, deletion-AUC
    #: difference 0.000.
    reduced_precision_ok = True

    def cam(self, activations: np.ndarray, gradient: np.ndarray | None) -> np.ndarray:
        if gradient is None:
            raise ExplanationError(f"{self.label} needs gradients.", "Run it on a differentiable model.")
        return (np.maximum(gradient, 0) * activations).sum(axis=1)


class EigenCamMethod(CamMethod):
    name = "eigencam"
    label = "Eigen-CAM"
    summary = "First principal component of the layer's activations; class-agnostic, no gradients (Muhammad 2020)."
    uses_gradients = False
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 1.000, deletion-AUC
    #: difference 0.000.
    reduced_precision_ok = True

    def cam(self, activations: np.ndarray, gradient: np.ndarray | None) -> np.ndarray:
        return principal_projection(activations)


class ScoreCamMethod(CamMethod):
    name = "scorecam"
    label = "Score-CAM"
    summary = "Each channel map masks the input; weights are the class scores of the masked inputs (Wang et al. 2020)."
    library = "pytorch-grad-cam"
    params = (_LAYER, Param("batch_size", int, 16, "Masked images per forward pass.", 1, 512))
    input_kinds = ("picture", "xray-gray")  # pytorch-grad-cam masks channel-first images only

    def input_kind_note(self, input_kind: str) -> str:
        if input_kind == "features":
            return ": Score-CAM masks channel-first images with its maps, and a features matrix has no channels"
        return super().input_kind_note(input_kind)

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1 + layer_channels(model, layer_path(model, params))

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from pytorch_grad_cam import ScoreCAM
        from pytorch_grad_cam import score_cam as score_cam_module
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        layer = self.target_layer(model, params)
        # pytorch-grad-cam draws its own tqdm bar here; xaiscope reports progress by counting model calls.
        with without_inplace_activations(model.network), \
                replaced(score_cam_module, "tqdm", SimpleNamespace(tqdm=no_progress_bar)), \
                ScoreCAM(model=model.class_view, target_layers=[layer],
                         reshape_transform=token_grid_reshape(model)) as cam:
            cam.batch_size = params["batch_size"]
            maps = cam(input_tensor=inputs.clone(), targets=[ClassifierOutputTarget(target)])
        return AttributionResult(attribution=maps[0].astype("float32"), extras={"layer": layer_path(model, params)})


def token_grid_reshape(model: Model) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The card's token-to-grid reshape for a transformer's target layer, or None for convolutional maps.

    The card's ``source_options["token_grid"]`` is ``{"skip": k, "rows": R, "cols": C, "transpose": bool}``: the
    layer outputs ``(N, k + R * C, D)`` tokens; the first ``k`` (class and distillation tokens) are dropped and the
    rest laid out row-major as an ``(N, D, R, C)`` map (``transpose`` swaps the grid's axes, for AST whose
    frequency-major patches explain a ``(frames, mel_bins)`` input). ``{"layout": "NHWC"}`` states a channels-last map
    ``(N, H, W, C)`` (Swin's stages), permuted to ``(N, C, H, W)``.
    """
    grid = model.card.source_options.get("token_grid")
    if not grid:
        return None
    if grid.get("layout") == "NHWC":
        return lambda maps: maps.permute(0, 3, 1, 2)
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
    import torch

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
