"""Each input kind's model input seen as a picture, and its reference ("removed") inputs.

Explainers and views work with one of these per model (:func:`codec_for`), whatever the input kind:

* ``picture`` ``(N, 3, S, S)`` normalised: the picture is the un-normalised RGB image (see
  :mod:`xaiscope.preprocessing.picture`);
* ``xray-gray`` ``(N, 1, S, S)`` in [low, high]: the picture is the gray image scaled to [0, 1] on three channels;
* ``features`` ``(N, A, B)``: the picture is the matrix scaled by its own minimum and maximum, gray (a view only:
  :meth:`InputCodec.to_inputs` is not offered, so picture-perturbing methods do not apply);
* ``waveform`` ``(N, n_samples)``: no picture; the view is a ``(1, n_samples, 3)`` strip of the absolute amplitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xaiscope.preprocessing.picture import Reference, normalise_pictures, reference_input, unnormalise
from xaiscope.preprocessing.spec import (
    AudioSpec,
    FeaturesSpec,
    PreprocessingSpec,
    WaveformSpec,
    XrayGraySpec,
    XraySpec,
    spec_input_kind,
)

if TYPE_CHECKING:
    import torch

#: Input kinds whose inputs are pictures that picture-perturbing methods (LIME, SHAP) can hide parts of.
PICTURE_KINDS = ("picture", "xray-gray")


@dataclass(frozen=True)
class InputCodec:
    """Conversions between one spec's model input and pictures ``(H, W, 3)`` in [0, 1]."""

    spec: PreprocessingSpec

    @property
    def kind(self) -> str:
        return spec_input_kind(self.spec)

    def to_picture(self, inputs: torch.Tensor) -> np.ndarray:
        """``(1, ...)`` model input -> ``(H, W, 3)`` float64 in [0, 1] (``(1, n, 3)`` for a waveform)."""
        spec = self.spec
        if isinstance(spec, AudioSpec | XraySpec):
            return unnormalise(inputs, spec.mean, spec.std)
        values = inputs[0].detach().cpu().double().numpy()
        if isinstance(spec, XrayGraySpec):
            gray = (values[0] - spec.low) / (spec.high - spec.low)
        elif isinstance(spec, WaveformSpec):
            gray = np.abs(values)[None] / max(float(np.abs(values).max()), 1e-12)
        else:
            low, high = float(values.min()), float(values.max())
            gray = (values - low) / (high - low) if high > low else np.zeros_like(values)
        return np.repeat(np.clip(gray, 0.0, 1.0)[:, :, None], 3, axis=2)

    def to_inputs(self, pictures: np.ndarray) -> torch.Tensor:
        """``(N, H, W, 3)`` pictures in [0, 1] -> ``(N, ...)`` model input (picture kinds only).

        Raises:
            TypeError: the input kind is not a picture kind (see :data:`PICTURE_KINDS`).
        """
        import torch

        spec = self.spec
        if isinstance(spec, AudioSpec | XraySpec):
            return normalise_pictures(pictures, spec.mean, spec.std)
        if isinstance(spec, XrayGraySpec):
            gray = np.asarray(pictures, dtype=np.float32).mean(axis=3)[:, None]
            return torch.from_numpy(np.ascontiguousarray(gray * (spec.high - spec.low) + spec.low))
        raise TypeError(f"a {self.kind} input is not a picture")

    def reference(self, inputs: torch.Tensor, kind: Reference, *, blur_sigma: float = 10.0,
                  blur_kernel: int | None = None) -> torch.Tensor:
        """The fully "removed" version of ``inputs`` ``(1, ...)``, same shape.

        ``black``: the black picture, a black gray X-ray (``low``), silence for a waveform, the matrix's own minimum
        for features (its quietest cell); ``normalisation_mean``: zeros in model space; ``input_mean``: the input's
        mean; ``blur``: a Gaussian-blurred copy (along time for a waveform).
        """
        import torch

        spec = self.spec
        if isinstance(spec, AudioSpec | XraySpec):
            return reference_input(inputs, kind, spec.mean, spec.std, blur_sigma=blur_sigma, blur_kernel=blur_kernel)
        if kind == "normalisation_mean":
            return torch.zeros_like(inputs)
        if kind == "input_mean":
            return torch.full_like(inputs, float(inputs.mean()))
        if kind == "blur":
            from scipy.ndimage import gaussian_filter

            array = inputs.detach().cpu().double().numpy()
            sigma = [0.0] * (array.ndim - (1 if isinstance(spec, WaveformSpec) else 2)) + \
                [blur_sigma] * (1 if isinstance(spec, WaveformSpec) else 2)
            return torch.from_numpy(gaussian_filter(array, sigma=sigma)).to(inputs.dtype)
        if isinstance(spec, XrayGraySpec):
            return torch.full_like(inputs, spec.low)
        if isinstance(spec, WaveformSpec):
            return torch.zeros_like(inputs)
        return torch.full_like(inputs, float(inputs.min()))


def codec_for(spec: PreprocessingSpec) -> InputCodec:
    """The codec of a model card's preprocessing spec."""
    return InputCodec(spec)


def input_shape(spec: PreprocessingSpec) -> tuple[int, ...]:
    """The shape of one row of the model input (without the batch dimension) that ``spec`` produces.

    ``(3, S, S)`` pictures, ``(1, S, S)`` gray X-rays, ``(window_seconds * sample_rate,)`` waveforms, and for
    features the shape the extractor gives a silent window.
    """
    if isinstance(spec, AudioSpec | XraySpec):
        return (3, spec.image_size, spec.image_size)
    if isinstance(spec, XrayGraySpec):
        return (1, spec.image_size, spec.image_size)
    samples = round(spec.window_seconds * spec.sample_rate)
    if isinstance(spec, WaveformSpec):
        return (samples,)
    assert isinstance(spec, FeaturesSpec)
    from xaiscope.preprocessing.features import extract_features

    return tuple(extract_features(np.zeros(samples, np.float32), spec).shape)
