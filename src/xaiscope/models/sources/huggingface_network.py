"""The module that wraps a Hugging Face classifier (kept apart from :mod:`.huggingface`, whose card reading and
directory discovery must not import torch)."""

from __future__ import annotations

import torch
from torch import nn


class HuggingFaceNetwork(nn.Module):
    """A ``transformers`` classifier as a plain module: model input tensor -> ``(N, num_labels)`` logits.

    Attributes:
        model: the ``...For...Classification`` module (CAM layer paths start with ``model.``).
        input_name: the keyword it takes its input under (``pixel_values``, ``input_values``, ``input_features``).
    """

    def __init__(self, model: nn.Module, input_name: str) -> None:
        super().__init__()
        self.model = model
        self.input_name = input_name

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, ...)`` model input -> ``(N, num_labels)`` logits."""
        logits: torch.Tensor = self.model(**{self.input_name: inputs}).logits
        return logits
