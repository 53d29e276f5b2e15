"""The ``random`` control: a seeded map of noise, the chance level every real method should beat.

It is a registered method of its own family (``control``) so that evaluations, the CLI and the app name it like
any other; lists of explanation methods for people leave the control family out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from xaiscope.explainers.base import AttributionResult, Method

if TYPE_CHECKING:
    from xaiscope.models.model import Model


class RandomMapControl(Method):
    """A map of standard-normal noise, drawn from the seed; it ignores the model and costs no model call."""

    name = "random"
    label = "Random map (control)"
    family = "control"
    library = "numpy"
    summary = "Seeded Gaussian noise: the chance level of every metric (a control for evaluations, not an explanation)."
    seeded = True

    def model_calls(self, model: Model, params: dict[str, Any]) -> int:
        return 0

    def attribute(self, model: Model, inputs: torch.Tensor, target: int, params: dict[str, Any], seed: int,
                  ) -> AttributionResult:
        """``(1, 3, H, W)`` -> an ``(H, W)`` float32 noise map (the same for the same seed and shape)."""
        height, width = inputs.shape[-2:]
        return AttributionResult(np.random.default_rng(seed).standard_normal((height, width)).astype(np.float32))


CONTROL_METHODS: tuple[type[Method], ...] = (RandomMapControl,)
