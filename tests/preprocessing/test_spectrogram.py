"""Spectrogram pictures: the seed-notebook renderer is pixel-exact, direct is close, edge cases are finite."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from PIL import Image

from tests.conftest import tone
from xaiscope.preprocessing.spec import AudioSpec
from xaiscope.preprocessing.spectrogram import fft_size_for, mel_db, render_direct, render_seed_notebook

SEED_SPEC = AudioSpec(renderer="seed-notebook", pad="none")


def _speechlike(seconds: float = 2.5) -> np.ndarray:
    rate = 16000
    times = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(1)
    chirp = 0.3 * np.sin(2 * np.pi * (300 + 200 * times) * times) * (1 + np.sin(2 * np.pi * 3 * times))
    return (chirp + 0.02 * rng.standard_normal(len(times))).astype(np.float32)


def _notebook_picture(clip: np.ndarray) -> np.ndarray:
    """The earlier training notebook's code, verbatim in behaviour: pyplot figure, PNG file on disk."""
    import librosa
    import librosa.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    power = librosa.feature.melspectrogram(y=clip, sr=16000, n_fft=2048, hop_length=512)
    decibels = librosa.power_to_db(power, ref=np.max)
    figure, axes = plt.subplots(figsize=(3, 3), dpi=80)
    librosa.display.specshow(decibels, ax=axes)
    axes.axis("off")
    handle, path = tempfile.mkstemp(suffix=".png")
    os.close(handle)
    try:
        figure.savefig(path, bbox_inches="tight", pad_inches=0)
        plt.close(figure)
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"))
    finally:
        os.remove(path)


def test_seed_notebook_renderer_is_pixel_exact():
    clip = _speechlike()
    ours = render_seed_notebook(mel_db(clip, SEED_SPEC))
    reference = _notebook_picture(clip)
    assert ours.shape == reference.shape
    np.testing.assert_array_equal(ours, reference)


def test_direct_renderer_is_close_to_seed_notebook_at_model_size():
    decibels = mel_db(_speechlike(), SEED_SPEC)

    def at_224(picture: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(picture).resize((224, 224), Image.Resampling.BILINEAR), dtype=float)

    difference = np.abs(at_224(render_direct(decibels)) - at_224(render_seed_notebook(decibels))).mean()
    assert difference < 6.0  # out of 255; measured 3.1 on this clip


def test_direct_renderer_puts_low_frequencies_at_the_bottom():
    decibels = mel_db(tone(1.0, 16000, frequency=200, noise=0.0), SEED_SPEC)
    picture = render_direct(decibels).astype(int).sum(axis=2)
    assert picture[-20:].mean() > picture[:20].mean()


@pytest.mark.parametrize(("length", "expected"), [(5000, 2048), (2048, 2048), (2047, 1024), (300, 256), (10, 256)])
def test_short_clip_fft_rule(length: int, expected: int):
    assert fft_size_for(length, SEED_SPEC) == expected


@pytest.mark.parametrize("length", [10, 255, 700, 1500])
def test_short_clips_give_finite_pictures(length: int):
    decibels = mel_db(tone(1.0)[:length], SEED_SPEC)
    assert np.isfinite(decibels).all()
    assert render_direct(decibels).shape[0] == 128


def test_silence_gives_no_nan():
    decibels = mel_db(np.zeros(16000, np.float32), SEED_SPEC)
    assert np.isfinite(decibels).all() and (decibels == 0).all()
    assert render_direct(decibels).dtype == np.uint8
    assert render_seed_notebook(decibels).shape[2] == 3


def test_top_db_floor():
    decibels = mel_db(_speechlike(), SEED_SPEC)
    assert decibels.max() == 0 and decibels.min() >= -80.0
