"""Architecture registry: any torchvision classification model, built by name with the right head.

Every network is built with ``weights=None`` (nothing is ever downloaded) and ``num_classes`` equal to the
number of outputs, which gives exactly the heads the earlier tool bolted on (for example VGG16's
``classifier[6] = Linear(4096, 1)``), with the same state_dict keys.

The five architectures the earlier tool trained carry the Grad-CAM target layers it used (see SEED.md);
any other architecture gets :func:`default_cam_target_layer`, found by tracing one forward pass.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from xaiscope.errors import UnknownModelError

if TYPE_CHECKING:  # torch is imported where networks are built, so card and listing paths stay torch-free
    import torch
    from torch import nn


@dataclass(frozen=True)
class ArchitectureInfo:
    """What xaiscope knows about one architecture.

    Attributes:
        name: torchvision builder name (``torchvision.models.get_model``).
        head: dotted path of the final ``nn.Linear``.
        cam_target_layer: dotted module path for Grad-CAM, or None to trace one (:func:`default_cam_target_layer`).
    """

    name: str
    head: str
    cam_target_layer: str | None = None


#: The earlier tool's architectures, with its heads and Grad-CAM layers. DenseNet applies its final ReLU
#: functionally, so its target is the last ReLU *module* inside ``features``; the last conv gives empty maps.
KNOWN_ARCHITECTURES: dict[str, ArchitectureInfo] = {
    info.name: info
    for info in (
        ArchitectureInfo("vgg16", "classifier.6", "features.28"),
        ArchitectureInfo("resnet50", "fc", "layer4.2"),
        ArchitectureInfo("mobilenet_v2", "classifier.1", "features.18.0"),
        ArchitectureInfo("alexnet", "classifier.6", "features.11"),
        ArchitectureInfo("densenet121", "classifier", "features.denseblock4.denselayer16.relu2"),
    )
}

#: Names users type for the seed architectures.
ALIASES = {"mobilenetv2": "mobilenet_v2", "densenet": "densenet121", "vgg": "vgg16", "resnet": "resnet50"}


@lru_cache(maxsize=1)
def classification_architectures() -> tuple[str, ...]:
    """Every torchvision image-classification builder name (about 80), sorted."""
    import torchvision

    return tuple(sorted(torchvision.models.list_models(module=torchvision.models)))


def canonical_architecture(name: str) -> str:
    """Normalise a user-typed architecture name (``MobileNetV2`` -> ``mobilenet_v2``).

    Raises:
        UnknownModelError: not a torchvision classification architecture; the message suggests close names.
    """
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    available = classification_architectures()
    if key in available:
        return key
    close = difflib.get_close_matches(key, available, n=3)
    suggestion = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownModelError(f"'{name}' is not a torchvision classification architecture.{suggestion}",
                            "Run `xaiscope archs` for the list of architectures.")


def architecture_info(name: str) -> ArchitectureInfo:
    """Registry entry for ``name``; for architectures outside the seed five, the head path is looked up."""
    key = canonical_architecture(name)
    if key in KNOWN_ARCHITECTURES:
        return KNOWN_ARCHITECTURES[key]
    return ArchitectureInfo(key, _last_linear_path(_build(key, 1)))


def build_network(name: str, num_outputs: int) -> nn.Module:
    """Build an untrained network with ``num_outputs`` logits, in eval mode.

    Args:
        name: architecture name (aliases accepted).
        num_outputs: 1 for a single-logit binary classifier, else the number of classes.

    Returns:
        A module mapping ``(N, 3, H, W)`` float32 to ``(N, num_outputs)`` logits.
    """
    return _build(canonical_architecture(name), num_outputs).eval()


def _build(key: str, num_outputs: int) -> nn.Module:
    import torchvision

    extra = {"aux_logits": False, "init_weights": False} if key in ("inception_v3", "googlenet") else {}
    return torchvision.models.get_model(key, weights=None, num_classes=num_outputs, **extra)


def _last_linear_path(network: nn.Module) -> str:
    from torch import nn

    linears = [path for path, module in network.named_modules() if isinstance(module, nn.Linear)]
    return linears[-1] if linears else ""


def traced_cam_layer(network: nn.Module, sample_input: torch.Tensor) -> str | None:
    """The deepest leaf module whose output is still a spatial map ``(N, C, H, W)`` with H, W >= 2, or None.

    Runs one forward pass on ``sample_input`` (one input row with its batch dimension, e.g. ``(1, 3, 224, 224)``)
    and returns the dotted path of the last such module in execution order. Every model source traces with this.
    """
    import torch

    order: list[str] = []
    handles = []

    def record(path: str):  # type annotations of hooks are not checked by torch
        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4 and min(output.shape[-2:]) >= 2:
                order.append(path)
        return hook

    for path, module in network.named_modules():
        if path and not list(module.children()):
            handles.append(module.register_forward_hook(record(path)))
    try:
        with torch.no_grad():
            network.eval()(sample_input)
    finally:
        for handle in handles:
            handle.remove()
    return order[-1] if order else None


def default_cam_target_layer(network: nn.Module, image_size: int = 224) -> str:
    """The traced CAM layer of a picture network (see :func:`traced_cam_layer`).

    Raises:
        UnknownModelError: the network has no spatial feature maps.
    """
    import torch

    layer = traced_cam_layer(network, torch.zeros(1, 3, image_size, image_size))
    if layer is None:
        raise UnknownModelError("This network has no spatial feature maps, so CAM methods cannot explain it.",
                                "Use a gradient or perturbation method instead.")
    return layer


def cam_target_layer_for(architecture: str, network: nn.Module) -> str | None:
    """The registry's CAM layer for a seed architecture, else the traced one (None when there is none)."""
    known = KNOWN_ARCHITECTURES.get(canonical_architecture(architecture))
    if known is not None and known.cam_target_layer:
        return known.cam_target_layer
    try:
        return default_cam_target_layer(network)
    except UnknownModelError:
        return None
