"""The bundled demo models carry a temperature and a familiarity reference, and use them on what ships."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.conftest import chest_image, dicom_bytes
from xaiscope.inputs import load_input
from xaiscope.inputs.bundled import bundled_samples
from xaiscope.inputs.sample import AudioSample, XraySample
from xaiscope.models import load_model
from xaiscope.models.store import BUNDLED_DIR


@pytest.fixture(scope="module")
def audio_model():
    return load_model("demo_audio_mobilenet_v2")


@pytest.fixture(scope="module")
def xray_model():
    return load_model("demo_xray_mobilenet_v2")


@pytest.mark.parametrize("name", ["demo_audio_mobilenet_v2", "demo_xray_mobilenet_v2"])
def test_cards_state_calibration_familiarity_and_range_and_files_fit_the_budget(name):
    model = load_model(name)
    card = model.card
    assert card.calibration["temperature"] > 0
    assert card.calibration["validation"]["ece"]["after"] <= card.calibration["validation"]["ece"]["before"]
    entry = card.familiarity
    assert entry["comparison"][entry["method"]]["validation_familiar_share"] >= 0.95
    sidecar = BUNDLED_DIR / entry["reference"]
    assert sidecar.is_file() and sidecar.stat().st_size < 10 * 1024 * 1024
    assert (BUNDLED_DIR / f"{name}.safetensors").stat().st_size <= 10 * 1024 * 1024
    assert card.input_range or card.modality == "xray"


def test_shipped_held_out_recordings_are_familiar_and_calibrated(audio_model):
    for sample in bundled_samples("audio"):
        prediction = audio_model.predict(load_input(sample.path))
        assert prediction.calibrated is not None
        assert prediction.familiarity["status"] != "not assessed", sample.path.name
        # A held-out clip of the demo corpus (the partially fake clip is spliced, unlike any training clip).
        if sample.ground_truth.get("label") and "fake_interval" not in sample.ground_truth:
            assert prediction.familiarity["status"] != "unlike the training data", sample.path.name


def probe(waveform: np.ndarray) -> AudioSample:
    return AudioSample(name="probe.wav", source_format="wav", sha256="probe", waveform=waveform.astype(np.float32),
                       sample_rate=16000)


def test_noise_tone_and_silence_padded_speech_keep_a_verdict_with_a_warning(audio_model):
    speech = next(load_input(s.path) for s in bundled_samples("audio") if s.path.name == "real_speech.wav")
    time = np.arange(48000) / 16000
    for name, waveform in (("white noise", np.random.default_rng(0).normal(0, 0.1, 48000)),
                           ("pure tone", 0.5 * np.sin(2 * np.pi * 440 * time)),
                           ("silence-padded speech", np.concatenate([speech.waveform, np.zeros(6 * 16000)]))):
        prediction = audio_model.predict(probe(waveform))
        assert prediction.label in ("fake", "real"), name
        assert prediction.warnings, name


def test_shipped_radiographs_pass_and_non_radiographs_are_flagged(xray_model):
    for sample in bundled_samples("xray"):
        prediction = xray_model.predict(load_input(sample.path))
        assert prediction.familiarity["status"] != "not assessed"
        if sample.path.suffix == ".png":
            assert not prediction.warnings, (sample.path.name, prediction.warnings)
    y, x = np.mgrid[0:256, 0:320] / 256
    photo = XraySample(name="photo.png", source_format="png", sha256="p", metadata={"colour_saturation": 0.6},
                       image=(0.5 + 0.3 * np.sin(8 * x) * np.cos(5 * y)).astype(np.float32))
    noise = XraySample(name="noise.png", source_format="png", sha256="n",
                       image=np.random.default_rng(0).uniform(0, 1, (256, 256)).astype(np.float32))
    import pydicom

    flagged = {"photo": photo, "noise": noise}
    for modality, part in (("CT", None), ("DX", "KNEE")):
        dataset = pydicom.dcmread(io.BytesIO(dicom_bytes((chest_image() * 4095).astype(np.uint16))))
        dataset.Modality = modality
        if part:
            dataset.BodyPartExamined = part
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        flagged[modality] = load_input(buffer.getvalue(), name=f"{modality}.dcm")
    for name, sample in flagged.items():
        prediction = xray_model.predict(sample)
        assert prediction.label in ("no_opacity", "opacity")
        assert prediction.warnings, name
