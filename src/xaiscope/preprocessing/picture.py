"""Pictures and model inputs: the one place that normalises, un-normalises and builds reference inputs.

A *picture* is what a person would see, ``(H, W, 3)`` in [0, 1] (a spectrogram image or a resized radiograph);
a *model input* is the normalised tensor ``(N, 3, H, W)`` that the network takes. Explainers, trust metrics and
views all convert through these functions, so the black of an Integrated-Gradients baseline and the black of a
deletion curve are the same picture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    import torch


#: What a "removed" input looks like: ``black`` the all-black picture (for a spectrogram, the colour of the quietest
#: cells); ``normalisation_mean`` the normalisation mean (zeros in model space); ``input_mean`` the input's own mean
#: colour; ``blur`` a Gaussian-blurred copy of the input.
Reference = Literal["black", "normalisation_mean", "input_mean", "blur"]


def picture_tensor(picture: np.ndarray, size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(h, w, 3)`` or ``(h, w)`` uint8 -> ``(3, size, size)`` float32, resized like torchvision and normalised."""
    import torch

    resized = Image.fromarray(picture).resize((size, size), Image.Resampling.BILINEAR)
    array: np.ndarray = np.asarray(resized, dtype=np.float32) / np.float32(255.0)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    normalised = (array - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1)))


def unnormalise(inputs: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``(1, 3, H, W)`` normalised model input -> the picture ``(H, W, 3)`` float64 in [0, 1]."""
    picture = inputs[0].detach().cpu().float().numpy().transpose(1, 2, 0) * np.asarray(std) + np.asarray(mean)
    return np.clip(picture, 0.0, 1.0).astype(np.float64)


def normalise_pictures(pictures: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(N, H, W, 3)`` pictures in [0, 1] -> ``(N, 3, H, W)`` float32 normalised model input."""
    import torch

    array = (np.asarray(pictures, dtype=np.float32) - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


def reference_input(inputs: torch.Tensor, kind: Reference, mean: tuple[float, ...], std: tuple[float, ...], *,
                    blur_sigma: float = 10.0, blur_kernel: int | None = None) -> torch.Tensor:
    """The fully "removed" version of ``inputs`` ``(1, 3, H, W)`` (normalised), same shape.

    Args:
        inputs: the normalised model input.
        kind: see :data:`Reference`.
        mean, std: the normalisation of the model's preprocessing spec.
        blur_sigma: ``blur``: Gaussian sigma in model-input pixels.
        blur_kernel: ``blur``: kernel side (odd); default ``2 * round(3 * blur_sigma) + 1``.
    """
    import torch

    if kind == "normalisation_mean":
        return torch.zeros_like(inputs)
    if kind == "input_mean":
        return inputs.mean(dim=(2, 3), keepdim=True).expand_as(inputs).clone()
    if kind == "blur":
        import torchvision.transforms.functional as functional

        side = blur_kernel if blur_kernel is not None else 2 * round(3 * blur_sigma) + 1
        return functional.gaussian_blur(inputs, kernel_size=[side, side], sigma=[blur_sigma, blur_sigma])
    black = (0.0 - torch.tensor(mean, dtype=inputs.dtype)) / torch.tensor(std, dtype=inputs.dtype)
    return black.view(1, 3, 1, 1).expand_as(inputs).clone()
