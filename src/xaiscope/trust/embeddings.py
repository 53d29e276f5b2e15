"""The model's own feature space: penultimate-layer embeddings, captured during the forward pass that classifies.

The embedding of a model input is what enters the classification head (the card architecture's final
``nn.Linear``): for MobileNetV2 the 1280 pooled features, for DenseNet121 1024, ResNet50 2048, VGG16 and AlexNet
4096. A head that takes a feature map (SqueezeNet's 1x1 convolution) gets it averaged over its spatial axes, so the
embedding stays one value per channel (a flattened 512 x 13 x 13 map would need an 86,528-square covariance). It is
captured by a forward pre-hook on the head, so classifying and embedding cost one forward pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from xaiscope.models.architectures import architecture_info


def head_module(model: Any) -> torch.nn.Module:
    """The classification head of ``model`` (a :class:`~xaiscope.models.Model`)."""
    return model.network.get_submodule(architecture_info(model.card.architecture).head)


@contextmanager
def penultimate_features(model: Any) -> Iterator[list[torch.Tensor]]:
    """Capture the head's input of every forward pass of ``model.network`` made inside the block.

    The model's lock is held for the whole block (and released with the hook removed, always), so that a model
    shared between app sessions never records another session's forward passes and no explainer's hook sees
    this one.

    Yields:
        A list that receives one ``(N, D)`` float32 CPU tensor per forward pass, in order.
    """
    captured: list[torch.Tensor] = []

    def keep(_module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        features = args[0].detach()
        if features.dim() > 2:  # a convolutional head (SqueezeNet) takes a feature map: pool it as a linear head would
            features = features.mean(dim=tuple(range(2, features.dim())))
        captured.append(features.float().cpu())

    with model.lock:
        handle = head_module(model).register_forward_pre_hook(keep)
        try:
            yield captured
        finally:
            handle.remove()
