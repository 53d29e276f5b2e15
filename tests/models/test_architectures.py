"""Architecture registry: exact seed heads, any torchvision classifier by name, CAM layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from xaiscope.errors import UnknownModelError
from xaiscope.models.architectures import (
    KNOWN_ARCHITECTURES,
    build_network,
    canonical_architecture,
    classification_architectures,
    default_cam_target_layer,
)

SEED_HEADS = {"vgg16": 4096, "resnet50": 2048, "mobilenet_v2": 1280, "alexnet": 4096, "densenet121": 1024}


@pytest.mark.parametrize("architecture", sorted(SEED_HEADS))
def test_seed_architectures_have_the_earlier_tools_heads(architecture: str):
    network = build_network(architecture, 1)
    info = KNOWN_ARCHITECTURES[architecture]
    head = network.get_submodule(info.head)
    assert isinstance(head, nn.Linear)
    assert (head.in_features, head.out_features) == (SEED_HEADS[architecture], 1)
    assert network.get_submodule(info.cam_target_layer) is not None
    assert not network.training


def test_densenet_target_is_the_last_relu_module_in_features():
    network = build_network("densenet121", 1)
    relus = [path for path, module in network.named_modules()
             if isinstance(module, nn.ReLU) and path.startswith("features")]
    assert KNOWN_ARCHITECTURES["densenet121"].cam_target_layer == relus[-1]


@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_1", "efficientnet_b0", "shufflenet_v2_x0_5"])
def test_any_torchvision_classifier_builds_by_name(name: str):
    network = build_network(name, 3)
    with torch.no_grad():
        assert network(torch.zeros(2, 3, 224, 224)).shape == (2, 3)


def test_registry_lists_torchvision_classifiers():
    names = classification_architectures()
    assert {"vgg16", "resnet50", "mobilenet_v2", "alexnet", "densenet121", "vit_b_16"} <= set(names)


def test_aliases_and_unknown_names():
    assert canonical_architecture("MobileNetV2") == "mobilenet_v2"
    assert canonical_architecture("DenseNet") == "densenet121"
    with pytest.raises(UnknownModelError, match="resnet50"):
        canonical_architecture("resnet05")


def test_traced_cam_layer_is_a_spatial_map():
    network = build_network("resnet18", 2)
    path = default_cam_target_layer(network)
    assert path.startswith("layer4")
