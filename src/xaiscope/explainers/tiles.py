"""Time-frequency tile methods: LIME, KernelSHAP and occlusion over tiles of the plane, for every audio model.

The analysed window of the recording is cut into tiles on the time-frequency plane (``band_tiles`` groups of mel
bands by ``time_tiles`` groups of 10 ms frames; :class:`~xaiscope.plane.TileLayout`); a coalition of tiles is heard
by hiding the others in the STFT and resynthesising with the original phase (:class:`~xaiscope.plane.ClipMasker`;
``replacement`` states what a hidden tile becomes: ``silence``, ``noise`` at the recording's floor, or the
``band-mean``; ``auto``, the default, takes ``band-mean`` for mel-picture models and ``noise`` for the others, and the
record states the one used), and the model hears the result through its own preprocessing (a mel picture is rendered
again, a waveform normalised again, a feature extractor run again).

Why ``auto``: a mel-picture model's picture is scaled to its own quietest and loudest cells, so a hidden tile that is
quieter than anything in the recording (silence, or the noise floor) darkens that tile *and brightens every other
cell*: the model then hears every tile as important. Measured on a model that reads one region of the picture only,
hiding any single tile with ``silence`` or ``noise`` moved its probability by 0.1 to 0.3 wherever the tile was, while
``band-mean`` moved it only for tiles on the region. A waveform model has no such scaling, and a tile replaced by its
band mean keeps the energy a band-energy detector hears, so ``noise`` is its default.

Only model calls are needed, so black boxes (ONNX) and every input kind (picture, waveform, features) are explained
on one plane, one scale, side by side.

Each tile's weight is spread evenly over its cells (:meth:`~xaiscope.plane.TileLayout.paint`), so the plane map's
sum over a tile is that tile's weight. Libraries: ``lime`` (its ``LimeBase`` weighted ridge fit, with
``lime_image``'s kernel: cosine distance to the full recording, width 0.25) and ``shap`` (``KernelExplainer`` over
tile coalitions, global numpy generator seeded under a lock).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from xaiscope.explainers.base import AttributionResult, Method, Param
from xaiscope.explainers.libraries import seeded_global_numpy
from xaiscope.plane.grid import PlaneGrid
from xaiscope.plane.tiles import REPLACEMENTS, ClipMasker, TileLayout

if TYPE_CHECKING:
    import torch

    from xaiscope.models.model import Model

TILE_PARAMS = (
    Param("time_tiles", int, 16, "Tiles along time (the window's frames in this many groups).", 1, 200),
    Param("band_tiles", int, 8, "Tiles along frequency (the plane's mel bands in this many groups).", 1, 64),
    Param("replacement", str, "auto", "What a hidden tile becomes: silence, noise at the recording's floor (each "
          "bin's 10th-percentile magnitude, random phase), each bin's mean magnitude (band-mean), or auto: "
          "band-mean for mel-picture models, noise for the others.", choices=("auto", *REPLACEMENTS)),
    Param("batch_size", int, 16, "Resynthesised clips per forward pass.", 1, 512),
)


def clip_scorer(model: Model, batch_size: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function mapping clips ``(N, n_samples)`` at the model's rate to class probabilities ``(N, n_classes)``,
    each clip going through the model's own preprocessing of one window."""
    import torch

    from xaiscope.preprocessing.pipeline import window_tensor

    spec = model.card.preprocessing

    def score(clips: np.ndarray) -> np.ndarray:
        rows = []
        for start in range(0, len(clips), batch_size):
            batch = torch.stack([window_tensor(np.asarray(clip, np.float32), spec)  # type: ignore[arg-type]
                                 for clip in clips[start:start + batch_size]])
            with torch.inference_mode():
                rows.append(model.scores_from_logits(model.class_view(batch)).numpy())
        return np.concatenate(rows).astype(np.float64)

    return score


def replacement_for(model: Model, choice: str) -> str:
    """The ``replacement`` parameter with ``auto`` resolved for ``model`` (see the module docstring)."""
    if choice != "auto":
        return choice
    return "band-mean" if model.input_kind == "picture" else "noise"


class TileMethod(Method):
    """A method over tiles of the time-frequency plane: every audio model, black boxes included."""

    family = "perturbation"
    modalities = ("audio",)
    input_kinds = ("picture", "waveform", "features")
    takes = "recording"
    seeded = True

    def tiles(self, model: Model, params: dict[str, Any]) -> int:
        return params["time_tiles"] * params["band_tiles"]

    def setup(self, model: Model, inputs: torch.Tensor, params: dict[str, Any], seed: int,
              ) -> tuple[ClipMasker, TileLayout, Callable[[np.ndarray], np.ndarray]]:
        """The masker of the clip ``inputs`` ``(1, n)``, its tiles, and ``kept tiles (N, count) -> scores (N, C)``."""
        grid = PlaneGrid.for_rate(model.card.preprocessing.sample_rate)  # type: ignore[union-attr]
        masker = ClipMasker(inputs.reshape(-1).numpy(), grid, replacement_for(model, params["replacement"]), seed)
        bands, frames = masker.n_cells
        layout = TileLayout(bands, frames, min(params["band_tiles"], bands), min(params["time_tiles"], frames))
        score = clip_scorer(model, params["batch_size"])

        def coalition_scores(kept: np.ndarray) -> np.ndarray:
            kept = np.asarray(kept, bool)
            rows = []
            for start in range(0, len(kept), params["batch_size"]):
                clips = masker.batch(np.stack([layout.cells(row) for row in kept[start:start + params["batch_size"]]]))
                rows.append(score(clips))
            return np.concatenate(rows)

        return masker, layout, coalition_scores

    def result(self, masker: ClipMasker, layout: TileLayout, weights: np.ndarray, **extras: Any) -> AttributionResult:
        return AttributionResult(layout.paint(weights), space="plane",
                                 extras={"segments": layout.labels, "tile_weights": np.asarray(weights),
                                         "resolved_params": {"replacement": masker.replacement}, **extras})


class TileOcclusionMethod(TileMethod):
    name = "tile_occlusion"
    label = "Occlusion (time-frequency tiles)"
    library = "xaiscope"
    summary = "The drop in the class probability when one tile of the recording is hidden, tile by tile."
    seeded = False
    params = TILE_PARAMS

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1 + self.tiles(model, params)

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        masker, layout, scores = self.setup(model, inputs, params, seed)
        kept = np.ones((1 + layout.count, layout.count), bool)
        kept[np.arange(1, 1 + layout.count), np.arange(layout.count)] = False  # row k + 1 hides tile k
        probabilities = scores(kept)[:, target]
        return self.result(masker, layout, probabilities[0] - probabilities[1:])


class TileLimeMethod(TileMethod):
    name = "tile_lime"
    label = "LIME (time-frequency tiles)"
    library = "lime (LimeBase)"
    summary = ("A weighted linear model fitted to the model's answers on the recording with random sets of "
               "time-frequency tiles hidden (Ribeiro et al. 2016; audioLIME-style).")
    params = (Param("samples", int, 500, "Perturbed recordings the linear model is fitted on.", 10, 20000),
              *TILE_PARAMS)

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["samples"]

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from lime.lime_base import LimeBase
        from sklearn.metrics import pairwise_distances

        masker, layout, scores = self.setup(model, inputs, params, seed)
        rng = np.random.default_rng(seed)
        coalitions = rng.integers(0, 2, (params["samples"], layout.count)).astype(bool)
        coalitions[0] = True  # the recording itself, as lime_image starts
        answers = scores(coalitions)
        distances = pairwise_distances(coalitions.astype(float), coalitions[:1].astype(float), metric="cosine").ravel()
        base = LimeBase(lambda d: np.sqrt(np.exp(-(d ** 2) / 0.25 ** 2)), random_state=seed)
        _intercept, local_exp, fit_score, _prediction = base.explain_instance_with_data(
            coalitions.astype(float), answers, distances, target, num_features=layout.count, feature_selection="none")
        weights = np.zeros(layout.count)
        for tile, weight in local_exp:
            weights[tile] = weight
        return self.result(masker, layout, weights, fit_score=float(fit_score))


class TileKernelShapMethod(TileMethod):
    name = "tile_kernel_shap"
    label = "KernelSHAP (time-frequency tiles)"
    library = "shap"
    summary = "Shapley values of time-frequency tiles estimated by a weighted linear regression (Lundberg & Lee 2017)."
    params = (Param("samples", int, 500, "Coalitions of tiles evaluated.", 20, 20000), *TILE_PARAMS)

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["samples"] + 2

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        import shap

        masker, layout, scores = self.setup(model, inputs, params, seed)
        explainer = shap.KernelExplainer(lambda kept: scores(kept)[:, target], np.zeros((1, layout.count)))
        with seeded_global_numpy(seed):
            values = explainer.shap_values(np.ones((1, layout.count)), nsamples=params["samples"], silent=True)
        return self.result(masker, layout, np.asarray(values, np.float64).reshape(-1)[: layout.count])


TILE_METHODS: tuple[type[Method], ...] = (TileOcclusionMethod, TileLimeMethod, TileKernelShapMethod)
