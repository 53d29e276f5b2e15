"""The cheap input checks: what they flag, what they let through, and that they never read identifiers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import SECRET_PATIENT_ID, SECRET_PATIENT_NAME, chest_image, dicom_bytes, png_bytes, tone
from xaiscope.inputs import load_input
from xaiscope.inputs.bundled import bundled_samples
from xaiscope.inputs.sample import AudioSample
from xaiscope.trust import check_input
from xaiscope.trust.audio_checks import check_audio, clipped_share, speech_share
from xaiscope.trust.xray_checks import check_xray


def recording(waveform: np.ndarray, rate: int = 16000) -> AudioSample:
    return AudioSample(name="probe.wav", source_format="wav", sha256="-", waveform=waveform.astype(np.float32),
                       sample_rate=rate)


def real_speech() -> AudioSample:
    return next(load_input(s.path) for s in bundled_samples("audio") if s.path.name == "real_speech.wav")


def warned(checks) -> dict[str, str]:
    return {check.name: check.message for check in checks if check.warns}


def test_bundled_real_speech_passes_every_audio_check():
    assert warned(check_audio(real_speech(), None)) == {}


@pytest.mark.parametrize("name", ["white_noise", "pure_tone", "silence_padded_speech", "dc"])
def test_non_speech_is_flagged_by_the_speech_share(name):
    rng = np.random.default_rng(0)
    signal = {"white_noise": lambda: rng.normal(0, 0.1, 48000),
              "pure_tone": lambda: tone(3.0, 16000, 440, amplitude=0.5),
              "silence_padded_speech": lambda: np.concatenate([real_speech().waveform, np.zeros(16000 * 6)]),
              "dc": lambda: np.full(48000, 0.3)}[name]()
    checks = warned(check_audio(recording(signal), None))
    assert "speech share" in checks
    assert "sounds like speech" in checks["speech share"]


def test_speech_share_of_speech_is_high_and_of_padded_speech_proportionally_lower():
    speech = real_speech()
    share = speech_share(speech)
    padded = speech_share(recording(np.concatenate([speech.waveform, np.zeros(3 * len(speech.waveform))])))
    assert share > 0.5
    assert padded == pytest.approx(share / 4, abs=0.06)


def test_narrow_band_clipping_sample_rate_and_duration_against_a_stored_range():
    from xaiscope.inputs.audio import resample

    speech = real_speech()
    narrow = resample(resample(speech.waveform, 16000, 8000), 8000, 16000)
    found = warned(check_audio(recording(narrow), {"min_bandwidth_hz": 6000}))
    assert "bandwidth" in found and "kHz" in found["bandwidth"]
    clipped = np.clip(speech.waveform * 20, -1, 1)
    assert clipped_share(clipped) > 0.01
    assert "clipping" in warned(check_audio(recording(clipped), None))
    outside = warned(check_audio(recording(resample(speech.waveform, 16000, 44100), 44100),
                                 {"sample_rate_hz": [16000, 16000], "duration_s": [2.0, 2.0]}))
    assert "sample rate" in outside
    short = warned(check_audio(recording(speech.waveform[:8000]), {"duration_s": [2.0, 2.0]}))
    assert "padded" in short["duration"]
    long = np.tile(speech.waveform, 5)  # longer than every training clip: scanned in windows, not a problem
    assert "duration" not in warned(check_audio(recording(long), {"duration_s": [2.0, 2.0]}))


def dicom_with(modality: str, body_part: str | None = None) -> bytes:
    import pydicom

    dataset = pydicom.dcmread(io.BytesIO(dicom_bytes((chest_image() * 4095).astype(np.uint16))))
    dataset.Modality = modality
    if body_part is not None:
        dataset.BodyPartExamined = body_part
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def test_ct_dicom_is_named_and_flagged():
    sample = load_input(dicom_with("CT"), name="slice.dcm")
    found = warned(check_xray(sample, None))
    assert "DICOM modality" in found and "CT (computed tomography)" in found["DICOM modality"]


def test_non_chest_body_part_is_flagged_and_chest_passes():
    leg = warned(check_xray(load_input(dicom_with("DX", "LEG"), name="leg.dcm"), None))
    assert "body part" in leg and "'leg'" in leg["body part"]
    chest = load_input(dicom_with("DX", "CHEST"), name="chest.dcm")
    assert chest.metadata["body_part"] == "CHEST"
    assert warned(check_xray(chest, None)) == {}


def test_decoder_reads_no_identifier_into_the_checks():
    sample = load_input(dicom_with("CT", "LEG"), name="x.dcm")
    text = repr(sample.metadata) + repr([c.to_dict() for c in check_xray(sample, None)])
    assert SECRET_PATIENT_NAME not in text and SECRET_PATIENT_ID not in text


def test_photo_like_colour_picture_and_noise_are_not_radiographs():
    y, x = np.mgrid[0:240, 0:320]
    photo = np.stack([x * 255 // 320, y * 255 // 240, np.full_like(x, 128)], axis=-1).astype(np.uint8)
    found = warned(check_xray(load_input(png_bytes(photo), name="photo.png"), None))
    assert "colour" in found and "photograph" in found["colour"]
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).convert("CMYK").save(buffer, format="JPEG")
    found = warned(check_xray(load_input(buffer.getvalue(), name="noise.jpg"), None))
    assert {"colour", "smoothness"} <= set(found)


def test_bundled_radiographs_and_a_gray_png_pass():
    for sample in bundled_samples("xray"):
        if sample.path.suffix in (".png", ".dcm") and "mask" not in sample.path.name:
            assert warned(check_xray(load_input(sample.path), None)) == {}, sample.path.name
    gray = load_input(png_bytes((chest_image(400, 340) * 255).astype(np.uint8)), name="chest.png")
    assert gray.metadata["colour_saturation"] == 0.0
    assert warned(check_input(gray, type("Card", (), {"input_range": None})())) == {}
