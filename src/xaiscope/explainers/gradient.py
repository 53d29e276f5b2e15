"""Gradient methods through Captum (maintained by Meta, one typed ``attribute(inputs, target)`` contract).

All of them differentiate ``model.class_view`` (one logit per class), keep the sign of the attribution and sum
it over the colour channels into an ``(H, W)`` map (a features matrix stays as it is, a waveform gives a map over
time; see :func:`~xaiscope.explainers.base.channel_sum`). Random sources (SmoothGrad's noise) are seeded
through a forked torch generator, so the caller's global random state is left untouched.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from xaiscope.explainers.base import AttributionResult, Method, Param, channel_sum, without_inplace_activations
from xaiscope.preprocessing.codec import codec_for
from xaiscope.preprocessing.picture import Reference
from xaiscope.preprocessing.spec import PreprocessingSpec

if TYPE_CHECKING:
    import torch

    from xaiscope.models.model import Model

#: The ``baseline`` parameter's choices as reference inputs: ``black`` the all-black picture (for spectrograms, the
#: colour of the quietest cells); ``mean`` the normalisation mean (zeros in model space); ``blur`` a heavily
#: blurred copy of the input (sigma 20 px, 61 px kernel).
BASELINES: dict[str, Reference] = {"black": "black", "mean": "normalisation_mean", "blur": "blur"}


def baseline_for(inputs: torch.Tensor, kind: str, spec: PreprocessingSpec) -> torch.Tensor:
    """The reference input named by a ``baseline`` parameter (see :data:`BASELINES`), shaped like ``inputs``
    (for a waveform ``black`` is silence; see :meth:`~xaiscope.preprocessing.codec.InputCodec.reference`)."""
    return codec_for(spec).reference(inputs, BASELINES[kind], blur_sigma=20.0, blur_kernel=61)


class GradientMethod(Method):
    """A method that differentiates the class view: PyTorch models of every input kind."""

    family = "gradient"
    library = "captum"
    input_kinds = ("picture", "xray-gray", "features", "waveform")
    needs_gradients = True


class IntegratedGradientsMethod(GradientMethod):
    name = "integrated_gradients"
    label = "Integrated Gradients"
    summary = "Gradients integrated along a straight path from a baseline to the input (Sundararajan et al. 2017)."
    params = (
        Param("steps", int, 32, "Points on the path from the baseline to the input.", 4, 512),
        Param("baseline", str, "black", "Reference picture the path starts from.", choices=("black", "mean", "blur")),
        Param("batch_size", int, 16, "Path points per forward pass.", 1, 512),
    )
    #: bf16 vs fp32 (fidelity_calls.py --part precision, two demo audio inputs): rank corr 0.900: runs at fp32.
    reduced_precision_ok = False

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["steps"]

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from captum.attr import IntegratedGradients

        baseline = baseline_for(inputs, params["baseline"], model.card.preprocessing)
        with without_inplace_activations(model.network):
            attribution = IntegratedGradients(model.class_view).attribute(
                inputs, baselines=baseline, target=target, n_steps=params["steps"],
                internal_batch_size=params["batch_size"])
        return AttributionResult(channel_sum(attribution))


class SmoothGradMethod(GradientMethod):
    name = "smoothgrad"
    label = "Saliency + SmoothGrad"
    summary = "Input gradients averaged over noisy copies of the input (Smilkov et al. 2017); signed."
    seeded = True
    params = (
        Param("samples", int, 16, "Noisy copies averaged.", 1, 512),
        Param("noise", float, 0.15, "Noise standard deviation, in units of the input's range.", 0.0, 2.0),
        Param("batch_size", int, 8, "Noisy copies per forward pass.", 1, 512),
    )
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.856: runs at fp32.
    reduced_precision_ok = False

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return params["samples"]

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        import torch
        from captum.attr import NoiseTunnel, Saliency

        spread = params["noise"] * float(inputs.max() - inputs.min())
        with without_inplace_activations(model.network), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            attribution = NoiseTunnel(Saliency(model.class_view)).attribute(
                inputs, nt_type="smoothgrad", nt_samples=params["samples"], stdevs=spread, target=target,
                nt_samples_batch_size=params["batch_size"], abs=False)
        return AttributionResult(channel_sum(attribution))


class GuidedBackpropMethod(GradientMethod):
    name = "guided_backprop"
    label = "Guided Backpropagation"
    summary = ("Gradients with negative signals stopped at every ReLU (Springenberg et al. 2015); known to be "
               "nearly insensitive to the model's weights (Adebayo et al. 2018).")
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.767: runs at fp32.
    reduced_precision_ok = False

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from captum.attr import GuidedBackprop

        with without_inplace_activations(model.network), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU", category=UserWarning)
            attribution = GuidedBackprop(model.class_view).attribute(inputs.clone().requires_grad_(), target=target)
        return AttributionResult(channel_sum(attribution))


GRADIENT_METHODS: tuple[type[Method], ...] = (IntegratedGradientsMethod, SmoothGradMethod, GuidedBackpropMethod)
