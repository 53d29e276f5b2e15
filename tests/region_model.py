"""A tiny model with a known answer: it looks only at one region of its input (used by explainer and view tests)."""

from __future__ import annotations

import torch
from torch import nn

from xaiscope.models import Model, ModelCard
from xaiscope.preprocessing import AudioSpec, XraySpec

SIZE = 224
#: The model looks only at this block of its input: rows, columns of the model-input picture.
REGION = (slice(56, 112), slice(112, 196))  # aligned with a 28-pixel grid


class RegionNet(nn.Module):
    """A small CNN that sees only :data:`REGION` of its input (everything else is multiplied by zero first).

    ``features`` is a conv + ReLU stack without bias and with positive weights, fed the input shifted to be
    positive, so it responds nearly linearly to the region's pixels and is exactly zero outside the region; the
    single logit is a positive combination of the region's pooled features.
    """

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        mask = torch.zeros(1, 1, SIZE, SIZE)
        mask[:, :, REGION[0], REGION[1]] = 1.0
        self.register_buffer("mask", mask)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2, bias=False), nn.ReLU(inplace=True),
                                      nn.Conv2d(8, 8, 3, stride=2, padding=1, bias=False), nn.ReLU(inplace=True))
        for layer in self.features:
            if isinstance(layer, nn.Conv2d):
                layer.weight.data = torch.randn(layer.weight.shape, generator=generator).abs() * 0.2
        self.head = nn.Linear(8, 1)
        self.head.weight.data.fill_(1.0)
        self.head.bias.data.fill_(-3.0)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        maps = self.features(self.masked(inputs))
        return self.head(maps.mean(dim=(2, 3)))

    def masked(self, inputs: torch.Tensor) -> torch.Tensor:
        """The region of ``inputs`` shifted to positive values; zero elsewhere."""
        return (inputs + 3.0).clamp_min(0.0) * self.mask


def region_model(modality: str, sample=None) -> Model:
    """A :class:`RegionNet` model; with ``sample``, its head is calibrated so that the sample sits at P = 0.5
    and hiding the whole region moves the logit by about 4 (no saturation, nearly linear response)."""
    spec = AudioSpec(window_seconds=2.0) if modality == "audio" else XraySpec()
    classes = ("fake", "real") if modality == "audio" else ("no_opacity", "opacity")
    card = ModelCard(name=f"region_{modality}", modality=modality, architecture="regionnet", classes=classes,
                     num_outputs=1, preprocessing=spec, alert_class=classes[0] if modality == "audio" else classes[1],
                     cam_target_layer="features.3")
    network = RegionNet()
    if sample is not None:
        from xaiscope.preprocessing import window_input

        inputs = window_input(sample, spec).tensor
        with torch.no_grad():
            pooled = network.features(network.masked(inputs)).mean(dim=(2, 3))[0]
        network.head.weight.data = (4.0 / pooled.sum().clamp_min(1e-6)) * torch.ones(1, 8)
        network.head.bias.data = torch.tensor([-4.0])
    return Model(card, network)
