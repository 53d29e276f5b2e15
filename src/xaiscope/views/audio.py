"""Audio views: an explanation on real axes (seconds, Hz on the mel scale), what mattered over time and
frequency, and ``listen.wav`` — the recording with only its most important time-frequency regions kept.

Geometry of the model input: the picture spans the analysed clip (padded by the card's rule) from left to
right (:func:`xaiscope.preprocessing.column_times` gives each column's time), and the mel bands from the
highest (top row) to the lowest (bottom row): row ``r`` of an ``H``-high picture is mel band
``n_mels - 1 - floor((r + 0.5) / H * n_mels)``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from xaiscope.inputs.sample import AudioSample
from xaiscope.preprocessing import AudioSpec, column_times, window_clip
from xaiscope.preprocessing.spectrogram import fft_size_for
from xaiscope.views.overlay import overlay, resize_map, to_gray

if TYPE_CHECKING:
    from xaiscope.explainers.api import Explanation


@dataclass(frozen=True)
class Span:
    """A stretch of time (seconds) or frequency (Hz) and its share of the positive attribution."""

    low: float
    high: float
    share: float


@dataclass(frozen=True)
class AudioView:
    """An explanation of one audio window laid out on real axes.

    Attributes:
        attribution: ``(H, W)`` model-input map.
        picture: ``(H, W, 3)`` uint8 spectrogram picture the model saw.
        times: ``(W,)`` seconds (of the whole recording) at each column's centre.
        frequencies: ``(H,)`` Hz at each row's mel band centre, top row first.
        real_end_s: where the recording ends inside the window (columns after it show padding).
        clip: ``(n,)`` float32 samples at ``sample_rate``: the clip as the model heard it.
        real_samples: how many samples of ``clip`` are recording (the rest is padding).
        sample_rate, n_fft, hop_length, n_mels, fmin, fmax: the spec's STFT and mel settings for this clip.
        start_s: the window's start in the recording.
    """

    attribution: np.ndarray
    picture: np.ndarray
    times: np.ndarray
    frequencies: np.ndarray
    real_end_s: float
    clip: np.ndarray
    real_samples: int
    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float
    fmax: float
    start_s: float

    @classmethod
    def build(cls, explanation: Explanation, sample: AudioSample, spec: AudioSpec) -> AudioView:
        """Lay out ``explanation`` (of ``sample`` under ``spec``) on seconds and Hz."""
        import librosa

        clip, real, window = window_clip(sample, spec, explanation.window.index if explanation.window else 0)
        n_fft = fft_size_for(len(clip), spec)
        attribution = explanation.attribution
        height, width = attribution.shape
        times = column_times(len(clip), window.start_s, spec, width)
        fmax = spec.fmax or spec.sample_rate / 2
        centres = librosa.mel_frequencies(n_mels=spec.n_mels + 2, fmin=spec.fmin, fmax=fmax)[1:-1]
        band = spec.n_mels - 1 - np.floor((np.arange(height) + 0.5) / height * spec.n_mels).astype(int)
        return cls(attribution=attribution, picture=explanation.picture,
                   times=times, frequencies=centres[band], real_end_s=window.start_s + real / spec.sample_rate,
                   clip=clip, real_samples=real, sample_rate=spec.sample_rate, n_fft=n_fft,
                   hop_length=spec.hop_length, n_mels=spec.n_mels, fmin=spec.fmin, fmax=fmax,
                   start_s=window.start_s)

    # --- what mattered -------------------------------------------------------------------------------------

    def _positive(self) -> np.ndarray:
        positive = np.clip(self.attribution, 0, None).astype(np.float64)
        positive[:, self.times > self.real_end_s] = 0.0  # padding is not part of the recording
        return positive

    def time_importance(self) -> np.ndarray:
        """``(W,)`` share of the positive attribution in each column (sums to 1, or all zeros)."""
        column = self._positive().sum(axis=0)
        return column / column.sum() if column.sum() > 0 else column

    def frequency_importance(self) -> np.ndarray:
        """``(H,)`` share of the positive attribution in each row, top row (highest band) first."""
        row = self._positive().sum(axis=1)
        return row / row.sum() if row.sum() > 0 else row

    def top_time_ranges(self, count: int = 3) -> list[Span]:
        """The ``count`` stretches of time holding the most positive attribution (seconds)."""
        return _top_spans(self.time_importance(), self.times, count)

    def top_frequency_bands(self, count: int = 3) -> list[Span]:
        """The ``count`` frequency bands holding the most positive attribution (Hz, low to high)."""
        order = np.argsort(self.frequencies, kind="stable")
        return _top_spans(self.frequency_importance()[order], self.frequencies[order], count)

    # --- pictures ------------------------------------------------------------------------------------------

    def figure_png(self, title: str = "", opacity: float = 0.6) -> bytes:
        """Time-frequency figure: the overlay on seconds and Hz, importance over time below it, over frequency
        beside it. Drawn with matplotlib's object API (no pyplot state)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8, 5.2), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        grid = figure.add_gridspec(2, 2, width_ratios=(5, 1), height_ratios=(3, 1))
        main = figure.add_subplot(grid[0, 0])
        shown = overlay(to_gray(self.picture), self.attribution, opacity=opacity)
        extent = (self.times[0], self.times[-1], 0, len(self.frequencies))
        main.imshow(shown, aspect="auto", extent=extent)
        ticks = np.linspace(0, len(self.frequencies) - 1, 6).astype(int)
        main.set_yticks(len(self.frequencies) - ticks - 0.5, [f"{self.frequencies[t]:.0f}" for t in ticks])
        main.set_ylabel("frequency (Hz, mel scale)")
        if self.real_end_s < self.times[-1]:
            main.axvline(self.real_end_s, color="white", linestyle="--", linewidth=1)
        main.set_title(title)
        below = figure.add_subplot(grid[1, 0], sharex=main)
        below.fill_between(self.times, self.time_importance(), color="tab:red", alpha=0.7)
        below.set_xlabel("time (s)")
        below.set_ylabel("share")
        side = figure.add_subplot(grid[0, 1], sharey=main)
        rows = np.arange(len(self.frequencies))[::-1] + 0.5
        side.fill_betweenx(rows, self.frequency_importance(), color="tab:red", alpha=0.7)
        side.set_xlabel("share")
        side.tick_params(labelleft=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    # --- listening -----------------------------------------------------------------------------------------

    def listen(self, keep: float = 0.2) -> np.ndarray:
        """The clip with only its most important time-frequency regions kept.

        The ``keep`` fraction of model-input pixels with the highest positive attribution forms a mask; it is
        mapped onto the mel bands and frames, then onto the STFT bins through the mel filter bank (a bin is kept
        when the filters covering it are mostly kept), applied to the clip's STFT and resynthesised with the
        original phase.

        Returns:
            ``(real_samples,)`` float32 at ``sample_rate`` (silence when no attribution is positive).
        """
        import librosa

        positive = self._positive()
        if not np.any(positive > 0):
            return np.zeros(self.real_samples, np.float32)
        threshold = np.quantile(positive[positive > 0], 1 - keep) if keep < 1 else 0
        picture_mask = (positive >= threshold) & (positive > 0)
        padded = np.pad(self.clip, (0, max(self.n_fft - len(self.clip), 0)))
        spectrum = librosa.stft(padded, n_fft=self.n_fft, hop_length=self.hop_length, center=True,
                                pad_mode="constant")
        frames = spectrum.shape[1]
        mel_mask = resize_map(picture_mask[::-1].astype(np.float32), frames, self.n_mels) >= 0.5  # low band first
        filters = librosa.filters.mel(sr=self.sample_rate, n_fft=self.n_fft, n_mels=self.n_mels, fmin=self.fmin,
                                      fmax=self.fmax)
        coverage = filters.sum(axis=0)
        bin_mask = (filters.T @ mel_mask.astype(np.float64)) / np.maximum(coverage, 1e-12)[:, None]
        bin_mask = (bin_mask >= 0.5) & (coverage[:, None] > 0)
        kept = librosa.istft(spectrum * bin_mask, hop_length=self.hop_length, n_fft=self.n_fft, center=True,
                             length=len(padded))
        return kept[: self.real_samples].astype(np.float32)

    def listen_wav(self, keep: float = 0.2) -> bytes:
        """:meth:`listen` encoded as a 16-bit WAV file."""
        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, np.clip(self.listen(keep), -1, 1), self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue()


def _top_spans(shares: np.ndarray, positions: np.ndarray, count: int, minimum_share: float = 0.05) -> list[Span]:
    """Group the strongest quarter of ``shares`` into contiguous runs; the ``count`` heaviest holding at least
    ``minimum_share`` each."""
    if shares.sum() <= 0:
        return []
    strong = shares >= np.quantile(shares, 0.75)
    spans: list[Span] = []
    index = 0
    while index < len(shares):
        if not strong[index]:
            index += 1
            continue
        end = index
        while end + 1 < len(shares) and strong[end + 1]:
            end += 1
        spans.append(Span(float(positions[index]), float(positions[end]), float(shares[index:end + 1].sum())))
        index = end + 1
    heaviest = sorted(spans, key=lambda span: span.share, reverse=True)[:count]
    return [span for span in heaviest if span.share >= minimum_share]



def recording_picture(sample: AudioSample, spec: AudioSpec, max_width: int = 1600) -> np.ndarray:
    """A spectrogram of the whole recording for display, ``(n_mels, <= max_width, 3)`` uint8 (direct renderer).

    Long recordings are averaged down to ``max_width`` columns so that a 10-minute file stays cheap to show.
    """
    from PIL import Image

    from xaiscope.inputs.audio import resample
    from xaiscope.preprocessing.spectrogram import mel_db, render_direct

    waveform = resample(sample.waveform, sample.sample_rate, spec.sample_rate)
    picture = render_direct(mel_db(waveform, spec))
    if picture.shape[1] > max_width:
        picture = np.asarray(Image.fromarray(picture).resize((max_width, picture.shape[0]), Image.Resampling.BOX))
    return picture
