"""torchxrayvision networks: a weights name (``densenet121-res224-all``...) plus its local weights file.

torchxrayvision's models take one gray channel scaled to [-1024, 1024] (the ``xray-gray`` input kind) and return one
logit per pathology, each its own sigmoid (``multi-label``). The network is built with ``weights=None`` (the library
would otherwise download) and the file's tensors are loaded into it; its label order is the library's own list for
that weights name. Official downloads are whole pickled modules; they are read with torch's safe loader, allowing
only torchxrayvision's and torch's own module classes (no other code can run), and only their tensors are kept.
"""

from __future__ import annotations

import pickle
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xaiscope.errors import NotACheckpointError, UnknownModelError, UnsafeCheckpointError
from xaiscope.models.card import ModelCard
from xaiscope.models.checkpoint import fit_state_dict, read_state_dict
from xaiscope.models.model import Model
from xaiscope.models.sources.common import require, unique_labels
from xaiscope.preprocessing.spec import XrayGraySpec

#: The class activation layer of each family (the last ReLU-free feature map the classifier pools).
_CAM_LAYERS = {"densenet": "features.norm5", "resnet": "model.layer4"}


def _catalogue() -> dict[str, dict[str, Any]]:
    xrv = require("torchxrayvision", "torchxrayvision models")
    return {name: info for name, info in xrv.models.model_urls.items() if "-" in name}


def labels_for(name: str) -> tuple[str, ...]:
    """The output labels of a torchxrayvision weights name, in output order.

    Raises:
        UnknownModelError: not a torchxrayvision weights name.
    """
    catalogue = _catalogue()
    if name not in catalogue:
        raise UnknownModelError(f"torchxrayvision has no weights called '{name}'.",
                                f"Use one of: {', '.join(sorted(catalogue))}.")
    return unique_labels(list(catalogue[name]["labels"]))


class _XrvResNet(nn.Module):
    """torchxrayvision's ResNet layout (``model`` = a one-channel torchvision ResNet-50) without its download."""

    def __init__(self, num_outputs: int) -> None:
        super().__init__()
        import torchvision

        self.model = torchvision.models.resnet50(num_classes=num_outputs, weights=None)
        self.model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(N, 1, S, S)`` in [-1024, 1024] -> ``(N, L)`` logits."""
        logits: torch.Tensor = self.model(inputs)
        return logits


#: DenseNet constructor settings a card may override (``source_options["network"]``), e.g. a smaller DenseNet
#: trained with torchxrayvision's code; the weights names use the library's defaults (DenseNet-121).
DENSENET_OPTIONS = ("growth_rate", "block_config", "num_init_features", "bn_size")


def build_network(name: str, num_outputs: int, options: dict[str, Any] | None = None) -> nn.Module:
    """The untrained network of a weights name, eval mode (DenseNet-121 or ResNet-50, one input channel).

    Args:
        options: DenseNet constructor overrides (see :data:`DENSENET_OPTIONS`).
    """
    xrv = require("torchxrayvision", "torchxrayvision models")
    if name.startswith("densenet"):
        settings = {key: tuple(value) if isinstance(value, list) else value
                    for key, value in (options or {}).items() if key in DENSENET_OPTIONS}
        network: nn.Module = xrv.models.DenseNet(weights=None, num_classes=num_outputs, op_threshs=None, **settings)
    elif name.startswith("resnet50"):
        network = _XrvResNet(num_outputs)
    else:
        raise UnknownModelError(f"xaiscope cannot build the torchxrayvision network '{name}'.",
                                "Use a densenet121-res224-* or resnet50-res512-all weights name.")
    return network.eval()


def read_xrv_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a plain state_dict file, safetensors, or an official whole-module pickle (read with only
    torchxrayvision's and torch.nn's module classes allowed; nothing else can be imported or run).

    Raises:
        NotACheckpointError, UnsafeCheckpointError.
    """
    try:
        return read_state_dict(path)
    except UnsafeCheckpointError:
        pass
    xrv = require("torchxrayvision", "torchxrayvision models")
    allowed: list[Any] = [OrderedDict, set, xrv.models.DenseNet, xrv.models._DenseBlock, xrv.models._DenseLayer,
                          xrv.models._Transition]
    allowed += [getattr(nn, name) for name in ("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d", "Linear",
                                                "Sequential", "ModuleDict", "AdaptiveAvgPool2d", "Dropout")]
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(allowed):
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError) as error:
        raise UnsafeCheckpointError(
            f"'{path.name}' is a pickle that names Python objects beyond torchxrayvision's and torch's module classes "
            f"({str(error).splitlines()[0][:200]}); it was refused and nothing in it was executed.",
            "Save a plain state_dict (`torch.save(model.state_dict(), f)`) and import that.") from error
    if isinstance(loaded, nn.Module):
        return {key: value for key, value in loaded.state_dict().items() if key != "op_threshs"}
    raise NotACheckpointError(f"'{path.name}' holds neither a state_dict nor a torchxrayvision model.",
                              "Save the weights with `torch.save(model.state_dict(), path)`.")


def import_xrv(name: str, weights: Path, *, model_name: str, alert_class: str | None = None,
               network_options: dict[str, Any] | None = None) -> tuple[ModelCard, nn.Module]:
    """A torchxrayvision weights name plus its local file -> card (xray-gray, multi-label) and network.

    Args:
        network_options: DenseNet constructor overrides for weights trained with another DenseNet size (stored in
            the card as ``source_options["network"]``).

    Raises:
        UnknownModelError, WeightsMismatchError, NotACheckpointError, UnsafeCheckpointError, MissingExtraError.
    """
    labels = labels_for(name)
    network = build_network(name, len(labels), network_options)
    state = {key: value for key, value in read_xrv_weights(weights).items() if key != "op_threshs"}
    fit_state_dict(network, state, source=weights.name, architecture=f"torchxrayvision {name}")
    resolution = int(_catalogue()[name].get("input_resolution", 224))
    default_alert = "Lung Opacity" if "Lung Opacity" in labels else labels[0]
    card = ModelCard(
        name=model_name, modality="xray", architecture=name, classes=labels, num_outputs=len(labels),
        preprocessing=XrayGraySpec(image_size=resolution), alert_class=alert_class or default_alert,
        cam_target_layer=_CAM_LAYERS["densenet" if name.startswith("densenet") else "resnet"],
        input_kind="xray-gray", output_kind="multi-label", source="torchxrayvision",
        source_options={"network": dict(network_options)} if network_options else {},
        description=f"torchxrayvision {name}: {len(labels)} pathologies, each its own sigmoid.",
        provenance={"source": f"imported from {weights.name} with `xaiscope import --source torchxrayvision`"})
    return card, network


def load(card: ModelCard, weights: Path) -> Model:
    """Rebuild the torchxrayvision network the card names and load its safetensors."""
    network = build_network(card.architecture, card.num_outputs, card.source_options.get("network"))
    fit_state_dict(network, read_state_dict(weights), source=weights.name,
                   architecture=f"torchxrayvision {card.architecture}")
    return Model(card, network, weights)
