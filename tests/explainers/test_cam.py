"""The single-pass CAM family: pytorch-grad-cam's maps, one forward pass, a backward pass that stops at the layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from xaiscope.explainers import get_method
from xaiscope.models import Model, ModelCard
from xaiscope.preprocessing import XraySpec


@pytest.fixture(scope="module")
def resnet() -> Model:
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=3)
    card = ModelCard(name="resnet18-test", modality="xray", architecture="resnet18", classes=("a", "b", "c"),
                     num_outputs=3, preprocessing=XraySpec(image_size=96), alert_class="b", cam_target_layer="layer4")
    return Model(card, network)


@pytest.mark.parametrize(("name", "library_class"), [("gradcam", "GradCAM"), ("gradcampp", "GradCAMPlusPlus"),
                                                     ("xgradcam", "XGradCAM"), ("layercam", "LayerCAM"),
                                                     ("eigencam", "EigenCAM")])
def test_maps_equal_pytorch_grad_cam(resnet, name, library_class):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    inputs = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    method = get_method(name)
    ours = method.attribute(resnet, inputs, 1, method.resolve_params({}), 0).attribution
    with getattr(pytorch_grad_cam, library_class)(model=resnet.network, target_layers=[resnet.network.layer4]) as cam:
        theirs = cam(input_tensor=inputs.clone(), targets=[ClassifierOutputTarget(1)])[0]
    assert ours.shape == theirs.shape == (96, 96)
    assert np.abs(ours).max() > 0.5
    # the resize differs (OpenCV vs torch bilinear) by a fraction of a grey level
    np.testing.assert_allclose(ours, theirs, atol=0.03)
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.999


def test_gradcam_is_one_forward_pass_and_the_backward_pass_stops_at_the_layer(resnet):
    resnet.network.zero_grad(set_to_none=True)
    calls, early_backward = [], []
    handles = [resnet.class_view.register_forward_pre_hook(lambda *_: calls.append(1)),
               resnet.network.layer1.register_full_backward_hook(lambda *_: early_backward.append(1))]
    try:
        method = get_method("gradcam")
        result = method.attribute(resnet, torch.randn(1, 3, 96, 96), 2, method.resolve_params({}), 0)
    finally:
        for handle in handles:
            handle.remove()
    assert len(calls) == 1 and not early_backward
    assert np.abs(result.attribution).max() > 0
    assert all(parameter.grad is None for parameter in resnet.network.parameters())


def test_frozen_weights_and_inplace_relu_still_give_a_map(resnet):
    for parameter in resnet.network.parameters():
        parameter.requires_grad_(False)
    try:
        method = get_method("gradcampp")
        attribution = method.attribute(resnet, torch.randn(1, 3, 96, 96), 0, method.resolve_params({}), 0).attribution
    finally:
        for parameter in resnet.network.parameters():
            parameter.requires_grad_(True)
    assert np.abs(attribution).max() > 0
    assert all(module.inplace for module in resnet.network.modules() if isinstance(module, torch.nn.ReLU))
    assert torch.is_grad_enabled()
