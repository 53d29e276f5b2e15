"""Tiny random-weight models of every source, made inside the tests (nothing downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn


def vit_directory(folder: Path, labels: tuple[str, ...] = ("no_opacity", "opacity"), *, with_weights: bool = True,
                  multi_label: bool = False) -> Path:
    """A 2-layer ViTForImageClassification (32 px, 8 px patches) saved with save_pretrained, plus its processor."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=16, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=32, num_labels=len(labels),
                       id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
                       problem_type="multi_label_classification" if multi_label else None)
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3).save_pretrained(
        folder)
    if not with_weights:
        (folder / "model.safetensors").unlink()
    return folder


def wav2vec2_directory(folder: Path, labels: tuple[str, ...] = ("real", "fake")) -> Path:
    """A 1-layer Wav2Vec2ForSequenceClassification with a 2-conv feature encoder, plus its feature extractor."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=8,
                            num_conv_pos_embedding_groups=2, classifier_proj_size=8, num_labels=len(labels),
                            id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)},
                            do_stable_layer_norm=False, feat_extract_norm="group", apply_spec_augment=False)
    Wav2Vec2ForSequenceClassification(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True).save_pretrained(folder)
    return folder


def ast_directory(folder: Path, labels: tuple[str, ...] = ("real", "fake")) -> Path:
    """A 1-layer ASTForAudioClassification on a 48-frame x 32-bin filter bank (2 x 3 patches), plus its extractor."""
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    torch.manual_seed(0)
    config = ASTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                       num_mel_bins=32, max_length=48, frequency_stride=16, time_stride=16, num_labels=len(labels),
                       id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    ASTForAudioClassification(config).save_pretrained(folder)
    ASTFeatureExtractor(num_mel_bins=32, max_length=48).save_pretrained(folder)
    return folder


def not_a_classifier_directory(folder: Path) -> Path:
    """A Wav2Vec2Model (no classification head) with its feature extractor."""
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(16,), conv_stride=(5,), conv_kernel=(10,), num_conv_pos_embeddings=8,
                            num_conv_pos_embedding_groups=2)
    Wav2Vec2Model(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(folder)
    return folder


def timm_weights(path: Path, name: str = "resnet10t", num_classes: int = 2) -> Path:
    """A randomly initialised timm model's state_dict saved with torch.save."""
    import timm

    torch.manual_seed(0)
    torch.save(timm.create_model(name, pretrained=False, num_classes=num_classes).state_dict(), path)
    return path


def xrv_weights(path: Path) -> Path:
    """torchxrayvision's DenseNet-121 with random weights (18 outputs), its state_dict saved with torch.save."""
    import torchxrayvision as xrv

    torch.manual_seed(0)
    torch.save(xrv.models.DenseNet(weights=None, num_classes=18).state_dict(), path)
    return path


class SmallCnn(nn.Module):
    """A 2-conv CNN on ``(N, 3, size, size)`` pictures with ``outputs`` logits."""

    def __init__(self, outputs: int = 2) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Linear(8, outputs)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(inputs).mean(dim=(2, 3)))


def onnx_file(path: Path, size: int = 64, outputs: int = 2, *, any_size: bool = False) -> Path:
    """``SmallCnn(outputs)`` (seed 0) exported to ONNX (TorchScript exporter) for ``(N, 3, size, size)`` input, the
    batch dynamic (and the picture size too when ``any_size``)."""
    torch.manual_seed(0)
    network = SmallCnn(outputs).eval()
    axes = {0: "batch", 2: "height", 3: "width"} if any_size else {0: "batch"}
    torch.onnx.export(network, (torch.zeros(1, 3, size, size),), str(path), input_names=["pixels"],
                      output_names=["logits"], dynamic_axes={"pixels": axes, "logits": {0: "batch"}},
                      dynamo=False)
    return path


def write_card(path: Path, **fields: object) -> Path:
    path.write_text(json.dumps(fields, indent=2))
    return path
