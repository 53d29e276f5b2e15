"""CAM maps on real torchvision architectures: DenseNet121's functional final ReLU, frozen backbones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from xaiscope.explainers import explain
from xaiscope.models import Model, seed_card


def _seed_model(key: str, network: torch.nn.Module) -> Model:
    return Model(seed_card(key), network.eval())


def _cam_of_either_class(model: Model, sample, method: str = "gradcam") -> float:
    """The larger peak of the maps for both classes: an empty map for both means the method is broken."""
    return max(float(explain(model, sample, method, target=k).attribution.max()) for k in (0, 1))


def test_densenet121_seed_layer_gives_non_empty_maps(xray_sample):
    torch.manual_seed(0)
    model = _seed_model("xray_densenet121", torchvision.models.densenet121(num_classes=1))
    assert model.card.cam_target_layer == "features.denseblock4.denselayer16.relu2"
    assert _cam_of_either_class(model, xray_sample) > 0


@pytest.mark.parametrize("method", ["gradcam", "layercam"])
def test_frozen_backbone_mobilenet_gives_non_empty_maps(method, speech_sample):
    torch.manual_seed(0)
    network = torchvision.models.mobilenet_v2(num_classes=1)
    for parameter in network.parameters():
        parameter.requires_grad_(False)  # the earlier tool's frozen-backbone training leaves no weight gradients
    model = _seed_model("audio_mobilenetv2", network)
    assert _cam_of_either_class(model, speech_sample, method) > 0
    assert not any(parameter.requires_grad for parameter in network.parameters())


def test_resnet_inplace_relu_is_restored_after_guided_backprop(xray_sample):
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=2)
    from xaiscope.models import ModelCard
    from xaiscope.preprocessing import XraySpec

    card = ModelCard(name="r18", modality="xray", architecture="resnet18", classes=("a", "b"), num_outputs=2,
                     preprocessing=XraySpec(), alert_class="b", cam_target_layer="layer4.1")
    model = Model(card, network)
    explanation = explain(model, xray_sample, "guided_backprop")
    assert np.abs(explanation.attribution).max() > 0
    assert all(module.inplace for module in network.modules() if isinstance(module, torch.nn.ReLU))
