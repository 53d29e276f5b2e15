"""Gradient methods through Captum (maintained by Meta, one typed ``attribute(inputs, target)`` contract).

All of them differentiate ``model.class_view`` (one logit per class), keep the sign of the attribution and sum
it over the colour channels into an ``(H, W)`` map (a features matrix stays as it is, a waveform gives a map over
time; see :func:`~xaiscope.explainers.base.channel_sum`). Random sources (SmoothGrad's noise) are seeded
through a forked torch generator, so the caller's global random state is left untouched.

A **waveform** model is differentiated with respect to the STFT magnitude of its input instead of its samples
(:class:`~xaiscope.plane.differentiable.MagnitudeModel`): the attribution of each time-frequency bin, pooled into the
bands of the time-frequency plane, so these maps sit on the same seconds-by-Hz plane as the tile methods'. There the
``baseline`` choices mean: ``black`` silence (magnitude 0), ``mean`` each bin's mean magnitude over the window,
``blur`` the magnitude blurred over 2 bins and 5 frames (Gaussian sigma).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from xaiscope.explainers.base import AttributionResult, Method, Param, channel_sum, without_inplace_activations
from xaiscope.preprocessing.codec import codec_for
from xaiscope.preprocessing.picture import Reference
from xaiscope.preprocessing.spec import PreprocessingSpec

if TYPE_CHECKING:
    import torch
    from torch import nn

    from xaiscope.models.model import Model

#: The ``baseline`` parameter's choices as reference inputs: ``black`` the all-black picture (for spectrograms, the
#: colour of the quietest cells); ``mean`` the normalisation mean (zeros in model space); ``blur`` a heavily
#: blurred copy of the input (sigma 20 px, 61 px kernel).
BASELINES: dict[str, Reference] = {"black": "black", "mean": "normalisation_mean", "blur": "blur"}


def baseline_for(inputs: torch.Tensor, kind: str, spec: PreprocessingSpec) -> torch.Tensor:
    """The reference input named by a ``baseline`` parameter (see :data:`BASELINES`), shaped like ``inputs``
    (for a waveform ``black`` is silence; see :meth:`~xaiscope.preprocessing.codec.InputCodec.reference`)."""
    return codec_for(spec).reference(inputs, BASELINES[kind], blur_sigma=20.0, blur_kernel=61)


def plane_baseline(magnitude: torch.Tensor, kind: str) -> torch.Tensor:
    """The reference STFT magnitude ``(1, n_bins, n_frames)`` named by a ``baseline`` parameter (module docstring)."""
    import torch

    if kind == "black":
        return torch.zeros_like(magnitude)
    if kind == "mean":
        return magnitude.mean(dim=-1, keepdim=True).expand_as(magnitude).contiguous()
    from scipy.ndimage import gaussian_filter

    blurred = gaussian_filter(magnitude[0].detach().cpu().numpy(), sigma=(2, 5))
    return torch.from_numpy(np.asarray(blurred, np.float32))[None]


#: A ``baseline`` choice (``black``, ``mean``, ``blur``) -> the reference input shaped like the explained one.
Baseline = Callable[[str], "torch.Tensor"]


class GradientMethod(Method):
    """A method that differentiates the class view: PyTorch models of every input kind (waveform models on the
    time-frequency plane, see the module docstring). Subclasses implement :meth:`run`."""

    family = "gradient"
    library = "captum"
    input_kinds = ("picture", "xray-gray", "features", "waveform")
    needs_gradients = True

    def output_space(self, model: Model) -> Literal["input", "plane"]:
        return "plane" if model.input_kind == "waveform" else "input"

    def run(self, forward: nn.Module, inputs: torch.Tensor, baseline: Baseline, target: int, params: dict[str, Any],
            seed: int) -> torch.Tensor:
        """The method's attribution of ``forward``'s class ``target`` to ``inputs`` (same shape as ``inputs``)."""
        raise NotImplementedError

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        from xaiscope.plane.differentiable import MagnitudeModel  # torch at import: not on the listing path
        from xaiscope.plane.grid import PlaneGrid

        with without_inplace_activations(model.network):
            if model.input_kind != "waveform":
                spec = model.card.preprocessing
                attribution = self.run(model.class_view, inputs, lambda kind: baseline_for(inputs, kind, spec),
                                       target, params, seed)
                return AttributionResult(channel_sum(attribution))
            grid = PlaneGrid.for_rate(model.card.preprocessing.sample_rate)  # type: ignore[union-attr]
            front = MagnitudeModel(model.class_view, inputs, grid)
            magnitude = front.magnitude
            per_bin = self.run(front, magnitude, lambda kind: plane_baseline(magnitude, kind), target, params, seed)
        values = grid.pool(per_bin.detach()[0].cpu().numpy()).astype(np.float32)
        return AttributionResult(values, space="plane")


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

    def run(self, forward: nn.Module, inputs: torch.Tensor, baseline: Baseline, target: int, params: dict[str, Any],
            seed: int) -> torch.Tensor:
        from captum.attr import IntegratedGradients

        return IntegratedGradients(forward).attribute(inputs, baselines=baseline(params["baseline"]), target=target,
                                                      n_steps=params["steps"], internal_batch_size=params["batch_size"])


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

    def run(self, forward: nn.Module, inputs: torch.Tensor, baseline: Baseline, target: int, params: dict[str, Any],
            seed: int) -> torch.Tensor:
        import torch
        from captum.attr import NoiseTunnel, Saliency

        spread = params["noise"] * float(inputs.max() - inputs.min())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return NoiseTunnel(Saliency(forward)).attribute(
                inputs, nt_type="smoothgrad", nt_samples=params["samples"], stdevs=spread, target=target,
                nt_samples_batch_size=params["batch_size"], abs=False)


class GuidedBackpropMethod(GradientMethod):
    name = "guided_backprop"
    label = "Guided Backpropagation"
    summary = ("Gradients with negative signals stopped at every ReLU (Springenberg et al. 2015); known to be "
               "nearly insensitive to the model's weights (Adebayo et al. 2018).")
    #: bf16 vs fp32 (fidelity_calls.py --part precision, one demo X-ray input): rank corr 0.767: runs at fp32.
    reduced_precision_ok = False

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1

    def run(self, forward: nn.Module, inputs: torch.Tensor, baseline: Baseline, target: int, params: dict[str, Any],
            seed: int) -> torch.Tensor:
        from captum.attr import GuidedBackprop

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU", category=UserWarning)
            return GuidedBackprop(forward).attribute(inputs.clone().requires_grad_(), target=target)


class GradientXInputMethod(GradientMethod):
    name = "gradient_x_input"
    label = "Gradient x Input"
    summary = ("The input times the gradient of the class score (Shrikumar et al. 2016): a first-order estimate of "
               "each input value's contribution; on the plane, of each time-frequency bin's magnitude.")

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 1

    def run(self, forward: nn.Module, inputs: torch.Tensor, baseline: Baseline, target: int, params: dict[str, Any],
            seed: int) -> torch.Tensor:
        from captum.attr import InputXGradient

        return InputXGradient(forward).attribute(inputs.clone().requires_grad_(), target=target)


GRADIENT_METHODS: tuple[type[Method], ...] = (IntegratedGradientsMethod, SmoothGradMethod, GuidedBackpropMethod,
                                              GradientXInputMethod)
