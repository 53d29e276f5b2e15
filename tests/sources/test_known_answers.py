"""Known answers per input kind: a model that only looks at one part of its input, and the maps of every method
that suits it put most of their mass there (the picture kind is covered by tests/explainers with region models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from xaiscope.explainers import explain, methods
from xaiscope.inputs import load_input
from xaiscope.models.card import ModelCard
from xaiscope.models.model import Model
from xaiscope.preprocessing.spec import FeaturesSpec, WaveformSpec, XrayGraySpec
from xaiscope.views.export import explanation_files

FAST = {"integrated_gradients": {"steps": 8}, "smoothgrad": {"samples": 4},
        "lime": {"samples": 60, "segmentation": "grid", "segments": 16},
        "kernel_shap": {"samples": 60, "segmentation": "grid", "segments": 16},
        "shap": {"max_evals": 200, "masker": "blur(16,16)"},
        "occlusion": {"patch": 28, "stride": 28}, "scorecam": {"batch_size": 64},
        "tile_lime": {"samples": 200, "time_tiles": 2, "band_tiles": 8},
        "tile_kernel_shap": {"samples": 60, "time_tiles": 2, "band_tiles": 8},
        "tile_occlusion": {"time_tiles": 2, "band_tiles": 8}}


def positive_share(attribution: np.ndarray, region: np.ndarray) -> float:
    positive = np.clip(attribution, 0, None)
    return float(positive[region].sum() / max(positive.sum(), 1e-12))


class LateEnergy(nn.Module):
    """Waveform ``(N, n)`` -> 2 logits from the energy of the second half only: [-e, e] with e = log energy."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        energy = torch.log(inputs[:, inputs.shape[1] // 2:].pow(2).mean(dim=1, keepdim=True) + 1e-3)
        return torch.cat([-energy, energy], dim=1)


def test_waveform_maps_lie_in_the_time_span_the_model_hears():
    spec = WaveformSpec(window_seconds=1.0, hop_seconds=0.5, normalize=False)
    model = Model(ModelCard(name="late", modality="audio", architecture="late", classes=("quiet", "loud"),
                            num_outputs=2, preprocessing=spec, alert_class="loud", input_kind="waveform"), LateEnergy())
    sample = load_input(audio_bytes(tone(1.0, 16000, 300, amplitude=0.5), 16000), name="tone.wav")
    ran = []
    for choice in methods(model=model, controls=False):
        if choice.available:
            explanation = explain(model, sample, choice.plugin.name, target="loud", **FAST.get(choice.plugin.name, {}))
            plane = explanation.plane
            assert explanation.space == "plane" and plane is not None and plane.values.shape == (64, 101)
            region = np.broadcast_to(plane.times >= 0.5, plane.values.shape)  # every band of the second half
            assert positive_share(plane.values, region) > 0.9, choice.plugin.name
            ran.append(choice.plugin.name)
            files = explanation_files(explanation, sample, spec)
            assert "timefreq.png" in files and files["timefreq.png"][:4] == b"\x89PNG"
    assert set(ran) == {"integrated_gradients", "smoothgrad", "guided_backprop", "gradient_x_input", "tile_lime",
                        "tile_kernel_shap", "tile_occlusion"}


class LowBands(nn.Module):
    """Features ``(N, frames, bins)`` -> 2 logits from the first 4 bins only."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        level = inputs[:, :, :4].mean(dim=(1, 2))[:, None]
        return torch.cat([-level, level], dim=1)


def test_features_maps_lie_in_the_bands_the_model_reads():
    pytest.importorskip("transformers")
    from transformers import ASTFeatureExtractor

    extractor = ASTFeatureExtractor(num_mel_bins=16, max_length=40)
    spec = FeaturesSpec(window_seconds=0.5, hop_seconds=0.25, extractor="ASTFeatureExtractor",
                        extractor_config=extractor.to_dict(), input_name="input_values")
    model = Model(ModelCard(name="low", modality="audio", architecture="low", classes=("other", "low"), num_outputs=2,
                            preprocessing=spec, alert_class="low", input_kind="features"), LowBands())
    sample = load_input(audio_bytes(tone(0.5, 16000, 200, amplitude=0.5), 16000), name="low.wav")
    region = np.zeros((40, 16), bool)
    region[:, :4] = True
    ran = []
    for choice in methods(model=model, controls=False):
        if choice.available:
            explanation = explain(model, sample, choice.plugin.name, target="low", **FAST.get(choice.plugin.name, {}))
            ran.append(choice.plugin.name)
            if explanation.space == "plane":  # a tile method: in the bands the first 4 bins cover (up to 800 Hz)
                plane = explanation.plane
                low = np.broadcast_to((plane.grid.band_centres_hz < 1000)[:, None], plane.values.shape)
                assert positive_share(plane.values, low) > 0.9, choice.plugin.name
                continue
            assert explanation.attribution.shape == (40, 16)  # the extractor's (frames, mel bins) matrix
            assert positive_share(explanation.attribution, region) > 0.9, choice.plugin.name
            on_plane = explanation.plane.values  # AST's Kaldi mel bins carried onto the plane's bands
            low = np.broadcast_to((explanation.plane.grid.band_centres_hz < 700)[:, None], on_plane.shape)
            assert positive_share(on_plane, low) > 0.9, choice.plugin.name
    assert set(ran) == {"integrated_gradients", "smoothgrad", "guided_backprop", "gradient_x_input", "occlusion",
                        "tile_lime", "tile_kernel_shap", "tile_occlusion"}


class Corner(nn.Module):
    """Keeps the top-left quadrant of a ``(N, C, S, S)`` map and zeros the rest."""

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        half = maps.shape[-1] // 2
        kept = torch.zeros_like(maps)
        kept[:, :, :half, :half] = maps[:, :, :half, :half]
        return kept


class TopLeft(nn.Module):
    """Gray X-ray ``(N, 1, S, S)`` in [-1024, 1024] -> 3 multi-label logits; label 1 reads the top-left quadrant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
        nn.init.constant_(self.conv.weight, 1 / 9)
        self.gate = Corner()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        corner = self.gate(torch.relu(self.conv(inputs / 1024))).mean(dim=(1, 2, 3)) * 4
        return torch.stack([-corner, 4 * corner - 1, corner * 0], dim=1)


def test_xray_gray_maps_lie_in_the_region_the_model_reads():
    spec = XrayGraySpec(image_size=56)
    model = Model(ModelCard(name="corner", modality="xray", architecture="corner", classes=("a", "Pneumonia", "c"),
                            num_outputs=3, preprocessing=spec, alert_class="Pneumonia", cam_target_layer="gate",
                            input_kind="xray-gray", output_kind="multi-label"), TopLeft())
    image = np.clip(chest_image(112, 112) + 0.3, 0, 1)
    sample = load_input(png_bytes((image * 255).astype(np.uint8)), name="chest.png")
    region = np.zeros((56, 56), bool)
    region[:28, :28] = True
    ran = []
    for choice in methods(model=model, controls=False):
        name = choice.plugin.name
        if choice.available and name not in ("eigencam", "guided_backprop"):  # class-agnostic / weight-insensitive
            explanation = explain(model, sample, name, target="Pneumonia", **FAST.get(name, {}))
            assert explanation.attribution.shape == (56, 56)
            assert positive_share(explanation.attribution, region) > 0.8, name
            ran.append(name)
    assert {"gradcam", "integrated_gradients", "lime", "kernel_shap", "shap", "occlusion"} <= set(ran)
