"""Perturbation methods: LIME, SHAP (Partition and Kernel over superpixels) and Occlusion.

They work on the model-input *picture* (the ``(H, W, 3)`` image before normalisation, values in [0, 1]):
parts of it are hidden and the model is asked again, in batches. Libraries:

* LIME through ``lime`` (``lime_image``). The package has had no release since 2020 and is kept as the reference
  implementation users compare against; its random source is seeded through ``random_state``.
* SHAP through ``shap`` (maintained): the Partition explainer with an image masker, and the Kernel explainer
  over superpixels. Both draw from numpy's global generator, which is seeded and then restored under a
  process-wide lock (:func:`~xaiscope.explainers.libraries.seeded_global_numpy`).
* Occlusion through Captum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from xaiscope.explainers.base import AttributionResult, ExplanationError, Method, Param, channel_sum
from xaiscope.explainers.libraries import no_progress_bar, replaced, seeded_global_numpy
from xaiscope.explainers.superpixels import SEGMENTATION_PARAMS, superpixels
from xaiscope.maps import paint, segment_means
from xaiscope.preprocessing.picture import normalise_pictures, reference_input, unnormalise

if TYPE_CHECKING:
    from xaiscope.models.model import Model


def picture_classifier(model: Model, batch_size: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping pictures ``(N, H, W, 3)`` in [0, 1] to class probabilities ``(N, n_classes)``."""
    spec = model.card.preprocessing

    def classify(pictures: np.ndarray) -> np.ndarray:
        rows = []
        for start in range(0, len(pictures), batch_size):
            batch = normalise_pictures(pictures[start:start + batch_size], spec.mean, spec.std)
            with torch.inference_mode():
                rows.append(torch.softmax(model.class_view(batch).float(), dim=1).numpy())
        return np.concatenate(rows).astype(np.float64)

    return classify


class LimeMethod(Method):
    name = "lime"
    label = "LIME"
    family = "perturbation"
    library = "lime (unmaintained since 2020)"
    summary = ("A weighted linear model fitted to the model's answers on pictures with superpixels hidden "
               "(Ribeiro et al. 2016).")
    seeded = True
    params = (
        Param("samples", int, 1000, "Perturbed pictures the linear model is fitted on.", 10, 20000),
        Param("batch_size", int, 10, "Pictures per forward pass.", 1, 512),
        Param("hide", str, "black", "What a hidden superpixel shows (lime's hide_color 0, or its mean colour).",
              choices=("black", "mean")),
        *SEGMENTATION_PARAMS,
    )
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "earlier-tool": {"samples": 1000, "hide": "black", "segmentation": "quickshift", "batch_size": 10}}

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["samples"]

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from lime import lime_image

        spec = model.card.preprocessing
        picture = unnormalise(inputs, spec.mean, spec.std)
        segments = superpixels(picture, params, seed)
        explainer = lime_image.LimeImageExplainer(random_state=seed)
        with replaced(lime_image, "tqdm", no_progress_bar):  # xaiscope counts model calls for progress itself
            explanation = explainer.explain_instance(
                picture, picture_classifier(model, params["batch_size"]), labels=(target,),
                hide_color=0 if params["hide"] == "black" else None, top_labels=None,
                num_features=int(segments.max()) + 1, num_samples=params["samples"],
                batch_size=params["batch_size"], segmentation_fn=lambda _image: segments, random_seed=seed)
        weights = dict(explanation.local_exp[target])
        return AttributionResult(paint(segments, weights),
                                 extras={"segments": segments, "fit_score": float(explanation.score)})


class ShapPartitionMethod(Method):
    name = "shap"
    label = "SHAP (Partition)"
    family = "perturbation"
    library = "shap"
    summary = ("Owen values over a hierarchy of image regions, hidden by a masker (Lundberg & Lee 2017; "
               "shap's Partition explainer).")
    seeded = True
    params = (
        Param("max_evals", int, 1000, "Model evaluations the explainer may use.", 50, 20000),
        Param("batch_size", int, 8, "Pictures per forward pass.", 1, 512),
        Param("masker", str, "blur(64,64)", "How hidden regions are filled.",
              choices=("blur(64,64)", "blur(32,32)", "blur(16,16)", "inpaint_telea", "inpaint_ns")),
    )
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "earlier-tool": {"max_evals": 1000, "batch_size": 8, "masker": "blur(64,64)"}}

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["max_evals"]

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        import shap

        spec = model.card.preprocessing
        picture = unnormalise(inputs, spec.mean, spec.std)
        scale = 255.0 if params["masker"].startswith("inpaint") else 1.0  # OpenCV inpainting needs 8-bit pixels
        classify = picture_classifier(model, params["batch_size"])
        masker = shap.maskers.Image(params["masker"], picture.shape)
        explainer = shap.explainers.Partition(lambda x: classify(np.asarray(x, np.float64) / scale), masker)
        image = (picture * scale).astype(np.uint8 if scale > 1 else np.float32)
        with seeded_global_numpy(seed):
            result = explainer(image[None], max_evals=params["max_evals"], batch_size=params["batch_size"],
                               outputs=[target], silent=True)
        values = np.asarray(result.values)[0, ..., 0]  # (H, W, 3)
        return AttributionResult(values.sum(axis=2).astype(np.float32))


class KernelShapMethod(Method):
    name = "kernel_shap"
    label = "KernelSHAP (superpixels)"
    family = "perturbation"
    library = "shap"
    summary = "Shapley values of superpixels estimated by a weighted linear regression (Lundberg & Lee 2017)."
    seeded = True
    params = (
        Param("samples", int, 500, "Coalitions of superpixels evaluated.", 20, 20000),
        Param("batch_size", int, 10, "Pictures per forward pass.", 1, 512),
        Param("hide", str, "blur", "What a hidden superpixel shows.", choices=("black", "mean", "blur")),
        *SEGMENTATION_PARAMS,
    )

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["samples"] + 2

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        import shap

        spec = model.card.preprocessing
        picture = unnormalise(inputs, spec.mean, spec.std)
        segments = superpixels(picture, params, seed)
        count = int(segments.max()) + 1
        fill = _fill_picture(picture, segments, params["hide"])
        classify = picture_classifier(model, params["batch_size"])

        def coalition_scores(coalitions: np.ndarray) -> np.ndarray:
            keep = np.asarray(coalitions, dtype=bool)[:, segments]  # (N, H, W)
            pictures = np.where(keep[..., None], picture[None], fill[None])
            return classify(pictures)[:, target]

        explainer = shap.KernelExplainer(coalition_scores, np.zeros((1, count)))
        with seeded_global_numpy(seed):
            values = explainer.shap_values(np.ones((1, count)), nsamples=params["samples"], silent=True)
        weights = dict(enumerate(np.asarray(values, dtype=np.float64).reshape(-1)[:count]))
        return AttributionResult(paint(segments, weights), extras={"segments": segments})


def _fill_picture(picture: np.ndarray, segments: np.ndarray, hide: str) -> np.ndarray:
    """The picture a hidden superpixel shows: black, its own mean colour, or a blurred copy."""
    if hide == "black":
        return np.zeros_like(picture)
    if hide == "blur":
        from scipy.ndimage import gaussian_filter

        return gaussian_filter(picture, sigma=(12, 12, 0))
    return segment_means(picture, segments)[segments]


class OcclusionMethod(Method):
    name = "occlusion"
    label = "Occlusion"
    family = "perturbation"
    library = "captum"
    summary = "The drop in the class score when a square patch slides over the picture (Zeiler & Fergus 2014)."
    params = (
        Param("patch", int, 32, "Side of the occluding square patch, in model-input pixels.", 4, 224),
        Param("stride", int, 16, "Step between patch positions.", 2, 224),
        Param("batch_size", int, 10, "Occluded pictures per forward pass.", 1, 512),
    )

    def check(self, params: dict[str, Any]) -> None:
        if params["stride"] > params["patch"]:
            raise ExplanationError(f"occlusion.stride={params['stride']} is larger than occlusion.patch="
                                   f"{params['patch']}: parts of the picture would never be occluded.",
                                   "Use a stride no larger than the patch.")

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        size = model.card.preprocessing.image_size
        positions = (size - params["patch"]) // params["stride"] + 1
        return 1 + positions * positions

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from captum.attr import Occlusion

        spec = model.card.preprocessing
        window, stride = params["patch"], params["stride"]
        with torch.inference_mode():
            attribution = Occlusion(model.class_view).attribute(
                inputs, sliding_window_shapes=(3, window, window), strides=(3, stride, stride), target=target,
                baselines=reference_input(inputs, "black", spec.mean, spec.std),
                perturbations_per_eval=params["batch_size"])
        return AttributionResult(channel_sum(attribution) / 3.0)


PERTURBATION_METHODS: tuple[type[Method], ...] = (LimeMethod, ShapPartitionMethod, KernelShapMethod, OcclusionMethod)
