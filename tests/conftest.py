"""Shared fixtures: small inputs made on the fly (tones, noise, synthetic radiographs, DICOM) and tiny models."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from xaiscope.inputs import load_input


@pytest.fixture(autouse=True)
def _cached_models_back_at_fp32():
    """The app sets its sidebar precision (default auto) on the process-wide cached model, as a server should; in
    one test process that would leak into later tests that compare numbers, so every cached model goes back to fp32
    after each test."""
    yield
    from xaiscope.models import store

    for model in list(store._cache.values()):
        if model.precision_policy.requested != "fp32":
            model.set_precision("fp32")


def tone(seconds: float = 1.0, rate: int = 16000, frequency: float = 440.0, amplitude: float = 0.3,
         noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """A sine tone with a little noise, shape ``(n,)`` float32."""
    rng = np.random.default_rng(seed)
    times = np.arange(round(seconds * rate)) / rate
    signal = amplitude * np.sin(2 * np.pi * frequency * times) + noise * rng.standard_normal(len(times))
    return signal.astype(np.float32)


def audio_bytes(signal: np.ndarray, rate: int, format: str = "WAV", subtype: str | None = None) -> bytes:
    """Encode ``signal`` (``(n,)`` or ``(n, channels)``) with libsndfile."""
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, rate, format=format, subtype=subtype)
    return buffer.getvalue()


def chest_image(height: int = 256, width: int = 200, seed: int = 0) -> np.ndarray:
    """A chest-like gray image in [0, 1]: dark lungs in a bright body, shape ``(height, width)``."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    body = np.exp(-(((cols - width / 2) / (0.45 * width)) ** 4))
    lungs = sum(np.exp(-(((cols - cx) / (0.15 * width)) ** 2 + ((rows - 0.5 * height) / (0.3 * height)) ** 2))
                for cx in (0.33 * width, 0.67 * width))
    image = np.clip(0.8 * body - 0.5 * lungs + 0.05 * rng.standard_normal((height, width)), 0, 1)
    return image.astype(np.float32)


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory with no ./weights and no XAISCOPE_MODELS, so only what a test puts is found."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XAISCOPE_MODELS", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def seed_mobilenet_state() -> dict[str, torch.Tensor]:
    """A randomly initialised torchvision mobilenet_v2 with the earlier tool's one-logit head."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2(num_classes=1).state_dict()


SECRET_PATIENT_NAME = "Doe^Jane-SECRET"
SECRET_PATIENT_ID = "PID-7731-SECRET"


def dicom_bytes(pixels: np.ndarray, *, photometric: str = "MONOCHROME2", bits_stored: int = 12,
                slope: float | None = None, intercept: float | None = None,
                window: tuple[float, float] | None = None, with_pixels: bool = True,
                preamble: bool = True) -> bytes:
    """A minimal CR DICOM file holding ``pixels`` (``(rows, cols)`` uint16), with identifying patient data."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # Computed Radiography Image Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = meta.MediaStorageSOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.PatientName = SECRET_PATIENT_NAME
    dataset.PatientID = SECRET_PATIENT_ID
    dataset.PatientBirthDate = "19700101"
    dataset.Modality = "CR"
    dataset.ViewPosition = "PA"
    dataset.Rows, dataset.Columns = pixels.shape
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = photometric
    dataset.BitsAllocated = 16
    dataset.BitsStored = bits_stored
    dataset.HighBit = bits_stored - 1
    dataset.PixelRepresentation = 0
    if slope is not None:
        dataset.RescaleSlope, dataset.RescaleIntercept = slope, intercept or 0
    if window is not None:
        dataset.WindowCenter, dataset.WindowWidth = window
    if with_pixels:
        dataset.PixelData = pixels.astype("<u2").tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=preamble)
    return buffer.getvalue()


# --- a model with a known answer (tests/region_model.py) and inputs for it ----------------------------------

from tests.region_model import region_model  # noqa: E402


@pytest.fixture
def demo_twin_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$XAISCOPE_MODELS`` holding the bundled audio demo model under a second name, ``demo_twin`` (no familiarity
    reference): comparing the two must give the same maps."""
    import json
    import shutil

    from xaiscope.models.store import BUNDLED_DIR

    folder = tmp_path / "models"
    folder.mkdir()
    card = json.loads((BUNDLED_DIR / "demo_audio_mobilenet_v2.json").read_text())
    card.update(name="demo_twin", familiarity=None)
    (folder / "demo_twin.json").write_text(json.dumps(card))
    shutil.copy(BUNDLED_DIR / "demo_audio_mobilenet_v2.safetensors", folder / "demo_twin.safetensors")
    monkeypatch.setenv("XAISCOPE_MODELS", str(folder))
    return folder


@pytest.fixture(scope="session")
def audio_region_model(speech_sample):
    return region_model("audio", speech_sample)


@pytest.fixture(scope="session")
def xray_region_model(xray_sample):
    return region_model("xray", xray_sample)


@pytest.fixture(scope="session")
def speech_sample():
    rng = np.random.default_rng(3)
    signal = tone(2.0, 16000, 500) + tone(2.0, 16000, 2500, seed=1) * (rng.random(32000) > 0.3)
    return load_input(audio_bytes(signal.astype(np.float32), 16000), name="speech.wav")


@pytest.fixture(scope="session")
def xray_sample():
    rng = np.random.default_rng(4)
    image = np.clip(chest_image(300, 260) + 0.2 * rng.random((300, 260)), 0, 1)
    return load_input(png_bytes((image * 255).astype(np.uint8)), name="chest.png")
