"""The ``random`` control: a seeded map of noise, the chance level every real method should beat.

It is a registered method of its own family (``control``) so that evaluations, the CLI and the app name it like
any other; lists of explanation methods for people leave the control family out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xaiscope.explainers.base import AttributionResult, Method

if TYPE_CHECKING:
    import torch

    from xaiscope.models.model import Model


class RandomMapControl(Method):
    """A map of standard-normal noise, drawn from the seed; it ignores the model and costs no model call."""

    name = "random"
    label = "Random map (control)"
    family = "control"
    library = "numpy"
    summary = "Seeded Gaussian noise: the chance level of every metric (a control for evaluations, not an explanation)."
    seeded = True
    input_kinds = ("picture", "xray-gray", "features", "waveform")

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 0

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        """One input row -> a float32 noise map shaped like the methods' maps (the same for the same seed and shape):
        ``(H, W)`` for pictures, the matrix for features, ``(1, n)`` for a waveform."""
        shape = tuple(inputs.shape[-2:]) if inputs.ndim >= 3 else (1, int(inputs.shape[-1]))
        return AttributionResult(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


CONTROL_METHODS: tuple[type[Method], ...] = (RandomMapControl,)
