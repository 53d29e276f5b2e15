"""Audio decoding: formats, sample types, channels, resampling and every audio error."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import audio_bytes, tone
from xaiscope.errors import (
    AudioTooLongError,
    EmptyAudioError,
    SilentAudioError,
    UnreadableInputError,
)
from xaiscope.inputs import AudioSample, load_input
from xaiscope.inputs import audio as audio_module
from xaiscope.inputs.audio import resample


@pytest.mark.parametrize(
    ("container", "subtype", "expected_format", "tolerance"),
    [
        ("WAV", "PCM_16", "wav", 1e-4),
        ("WAV", "PCM_24", "wav", 1e-6),
        ("WAV", "FLOAT", "wav", 0),
        ("WAV", "PCM_U8", "wav", 1e-2),
        ("FLAC", "PCM_16", "flac", 1e-4),
        ("OGG", "VORBIS", "ogg", None),
        ("OGG", "OPUS", "ogg", None),
        ("MP3", "MPEG_LAYER_III", "mp3", None),
    ],
)
def test_formats_decode_to_mono_float(container: str, subtype: str, expected_format: str, tolerance: float | None):
    rate = 48000 if subtype == "OPUS" else 16000
    signal = tone(1.0, rate)
    sample = load_input(audio_bytes(signal, rate, container, subtype), name=f"clip.{expected_format}")
    assert isinstance(sample, AudioSample)
    assert sample.source_format == expected_format
    assert sample.waveform.dtype == np.float32 and sample.waveform.ndim == 1
    assert sample.sample_rate == rate
    if tolerance is not None:
        assert np.max(np.abs(sample.waveform - signal)) <= tolerance + 1e-9
    else:  # lossy codecs: same loudness and mostly the same tone
        assert abs(sample.duration - 1.0) < 0.1
        assert abs(np.sqrt(np.mean(sample.waveform**2)) - np.sqrt(np.mean(signal**2))) < 0.05


def test_integer_bit_depth_reported():
    sample = load_input(audio_bytes(tone(0.5), 16000, "WAV", "PCM_24"))
    assert sample.metadata["bit_depth"] == 24 and sample.metadata["encoding"] == "PCM_24"


def test_channels_are_averaged_like_librosa(tmp_path):
    import librosa

    left, right = tone(1.0, 22050, 300), tone(1.0, 22050, 700, seed=1)
    path = tmp_path / "stereo.wav"
    path.write_bytes(audio_bytes(np.stack([left, right], axis=1), 22050, "WAV", "FLOAT"))
    sample = load_input(path)
    assert sample.metadata["channels"] == 2
    expected, _ = librosa.load(path, sr=None)
    np.testing.assert_array_equal(sample.waveform, expected)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_matches_librosa_load(tmp_path, rate: int):
    import librosa

    path = tmp_path / "speech.wav"
    path.write_bytes(audio_bytes(tone(1.3, rate), rate, "WAV", "PCM_16"))
    sample = load_input(path)
    ours = resample(sample.waveform, sample.sample_rate, 16000)
    expected, _ = librosa.load(path, sr=16000)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=1e-6)


def test_zero_length_audio():
    with pytest.raises(EmptyAudioError, match="no audio samples"):
        load_input(audio_bytes(np.zeros(0, np.float32), 16000), name="empty.wav")


def test_all_silent_audio():
    with pytest.raises(SilentAudioError, match="silent") as caught:
        load_input(audio_bytes(np.zeros(16000, np.float32), 16000), name="silence.wav")
    assert "muted" in caught.value.hint


def test_corrupt_audio_is_reported():
    data = audio_bytes(tone(1.0), 16000)
    corrupt = data[:12] + b"\x00garbage" * 3
    with pytest.raises(UnreadableInputError, match="cannot be decoded"):
        load_input(corrupt, name="broken.wav")


def test_too_long_audio_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(audio_module, "MAX_AUDIO_SECONDS", 0.5)
    with pytest.raises(AudioTooLongError, match="limit"):
        load_input(audio_bytes(tone(1.0), 16000), name="long.wav")


def test_quiet_but_not_silent_is_accepted():
    sample = load_input(audio_bytes(tone(1.0, amplitude=1e-3, noise=0), 16000, "WAV", "FLOAT"))
    assert -61 < sample.metadata["peak_dbfs"] < -59
