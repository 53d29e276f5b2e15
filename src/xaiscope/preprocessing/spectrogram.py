"""Mel spectrograms and the two ways of drawing them as the picture a CNN sees.

``seed-notebook`` reproduces the earlier tool's training images pixel for pixel: ``librosa.display.specshow``
on a 3 x 3 inch, 80 dpi matplotlib figure with the axes switched off, saved as PNG with a tight bounding box
and no padding. It draws in memory (an Agg canvas and a byte buffer, never a temporary file) and uses
matplotlib's object API rather than pyplot, so it is safe in a multi-threaded server.

``direct`` builds the same picture straight from the decibel matrix: each cell is normalised between the
matrix's minimum and maximum (as ``pcolormesh`` does), looked up in the 256-entry magma table (what specshow
picks for all-non-positive data), and the low frequencies are put at the bottom. No matplotlib is involved; it
is the default for new models.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from xaiscope.preprocessing.spec import AudioSpec

_MAGMA_LUT_PATH = Path(__file__).with_name("magma_lut.npy")


def fft_size_for(n_samples: int, spec: AudioSpec) -> int:
    """FFT size used for a clip of ``n_samples`` (the earlier notebook's short-clip rule).

    ``spec.n_fft`` when the clip is at least that long, otherwise the largest power of two not above
    ``n_samples``, and never below ``spec.min_fft_size``.
    """
    if n_samples >= spec.n_fft:
        return spec.n_fft
    largest = 1 << max(int(n_samples).bit_length() - 1, 0)
    return max(largest, spec.min_fft_size)


def mel_db(clip: np.ndarray, spec: AudioSpec) -> np.ndarray:
    """Log-mel spectrogram of one clip.

    Args:
        clip: shape ``(n,)``, float32 at ``spec.sample_rate``, ``n >= 1``.
        spec: the model's audio spec.

    Returns:
        Shape ``(spec.n_mels, n_frames)``, float32 decibels relative to the clip's loudest cell: every value in
        ``[-top_db, 0]``. A silent clip gives all zeros, never NaN.
    """
    import librosa

    n_fft = fft_size_for(len(clip), spec)
    if len(clip) < n_fft:
        clip = np.pad(clip, (0, n_fft - len(clip)))
    with warnings.catch_warnings():
        # A shrunk FFT (short clip) leaves some of the 128 mel filters empty; those rows are simply -top_db.
        warnings.filterwarnings("ignore", message="Empty filters detected", category=UserWarning)
        power = librosa.feature.melspectrogram(
            y=clip, sr=spec.sample_rate, n_fft=n_fft, hop_length=spec.hop_length, n_mels=spec.n_mels,
            fmin=spec.fmin, fmax=spec.fmax, power=spec.power)
    return librosa.power_to_db(power, ref=np.max, top_db=spec.top_db).astype(np.float32)


def render_seed_notebook(decibels: np.ndarray) -> np.ndarray:
    """Draw ``decibels`` exactly as the earlier tool's training notebook did.

    Args:
        decibels: shape ``(n_mels, n_frames)``.

    Returns:
        RGB picture, shape ``(height, width, 3)``, uint8 (about 186 x 185 for the notebook's figure).
    """
    import librosa.display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 3), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    librosa.display.specshow(decibels, ax=axes)
    axes.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0)
    buffer.seek(0)
    with Image.open(buffer) as picture:
        return np.asarray(picture.convert("RGB"))


@lru_cache(maxsize=1)
def magma_lut() -> np.ndarray:
    """matplotlib's 256-colour magma table, shape ``(256, 3)``, uint8 (shipped; see NOTICE.md)."""
    return np.load(_MAGMA_LUT_PATH)


def render_direct(decibels: np.ndarray) -> np.ndarray:
    """Colour-map ``decibels`` without matplotlib.

    Args:
        decibels: shape ``(n_mels, n_frames)``.

    Returns:
        RGB picture, shape ``(n_mels, n_frames, 3)``, uint8, lowest mel band in the bottom row.
    """
    low, high = float(decibels.min()), float(decibels.max())
    scaled = (decibels - low) / (high - low) if high > low else np.zeros_like(decibels)
    index = np.clip((scaled * 256.0).astype(np.int64), 0, 255)
    return magma_lut()[index[::-1]]


def render(decibels: np.ndarray, renderer: str) -> np.ndarray:
    """Dispatch to the renderer named by a spec; returns ``(height, width, 3)`` uint8."""
    return render_seed_notebook(decibels) if renderer == "seed-notebook" else render_direct(decibels)


def clip_picture(clip: np.ndarray, spec: AudioSpec) -> np.ndarray:
    """The picture a model with ``spec`` sees for one clip, before resizing.

    Args:
        clip: shape ``(n,)``, float32 at ``spec.sample_rate``.

    Returns:
        ``(height, width, 3)`` uint8.
    """
    return render(mel_db(clip, spec), spec.renderer)
