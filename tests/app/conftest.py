"""A server-like setting for the app tests: tiny product checkpoints and a samples folder, made once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from tests.conftest import audio_bytes, chest_image, png_bytes, tone
from xaiscope.models import import_state_dict

APP_SCRIPT = Path(__file__).resolve().parents[2] / "src" / "xaiscope" / "app" / "main.py"


@pytest.fixture(scope="session")
def app_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(models, samples)``: mobilenet_v3_small checkpoints for both modalities (one without a CAM layer) and
    a samples folder with a recording, a radiograph and a corrupt file."""
    root = tmp_path_factory.mktemp("app")
    models, samples = root / "models", root / "samples"
    samples.mkdir()
    torch.manual_seed(0)
    for name, modality, classes in (("tiny_audio", "audio", ["fake", "real"]),
                                    ("tiny_xray", "xray", ["no_opacity", "opacity"])):
        source = root / f"{name}.pt"
        torch.save(torchvision.models.mobilenet_v3_small(num_classes=1).state_dict(), source)
        import_state_dict(source, architecture="mobilenet_v3_small", modality=modality, classes=classes,
                          output_dir=models)
    card = json.loads((models / "tiny_xray.json").read_text())
    card.update(name="tiny_xray_nocam", cam_target_layer=None)
    (models / "tiny_xray_nocam.json").write_text(json.dumps(card))
    (models / "tiny_xray_nocam.safetensors").write_bytes((models / "tiny_xray.safetensors").read_bytes())
    signal = tone(5.0, 16000, 300) + tone(5.0, 16000, 1200, seed=2)
    (samples / "speech.wav").write_bytes(audio_bytes(signal.astype(np.float32), 16000))
    (samples / "chest.png").write_bytes(png_bytes((chest_image(400, 340) * 255).astype(np.uint8)))
    (samples / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not really audio")
    (samples / "samples.json").write_text(json.dumps([
        {"file": "speech.wav", "modality": "audio", "title": "Test speech", "description": "two tones"},
        {"file": "broken.wav", "modality": "audio", "title": "Broken recording"},
        {"file": "chest.png", "modality": "xray", "title": "Test chest"},
    ]))
    return models, samples


@pytest.fixture
def app_environment(app_folders, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    models, samples = app_folders
    monkeypatch.setenv("XAISCOPE_MODELS", str(models))
    monkeypatch.setenv("XAISCOPE_SAMPLES", str(samples))
    return models, samples
