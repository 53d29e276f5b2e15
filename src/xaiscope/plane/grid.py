"""The time-frequency plane every audio explanation is shown and scored on: seconds by Hz.

One stated grid per sample rate (:meth:`PlaneGrid.for_rate`): a short-time Fourier transform with a 32 ms Hann
window (``n_fft`` = the power of two nearest 0.032 s, 512 samples at 16 kHz) every 10 ms (``hop_length`` = 160 at
16 kHz), centred frames (frame ``f`` is centred on sample ``f * hop_length``), and its frequency bins grouped into
*bands* whose edges are spaced evenly on the mel scale (librosa's Slaney formula, the one the mel-spectrogram models
use) from 0 Hz to the Nyquist frequency. Each STFT bin belongs to exactly one band (edges are rounded to bin
boundaries; bands narrower than one bin at low frequencies merge; none do at 16 kHz), so pooling bins into bands and
hiding a band are exact, and a map on the plane can be heard (:func:`xaiscope.plane.tiles.keep_cells`). At 16 kHz
the grid has 64 bands, 31 to 375 Hz wide, and 100 frames per second.

Row 0 of every plane array is the *lowest* band; arrays are ``(n_bands, n_frames)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

#: Seconds of the analysis window and of the hop of the plane's STFT.
WINDOW_SECONDS = 0.032
HOP_SECONDS = 0.010
#: Mel-spaced band edges asked for; merging bands narrower than one STFT bin may leave fewer.
REQUESTED_BANDS = 64


@dataclass(frozen=True)
class PlaneGrid:
    """The STFT and band layout of the plane at one sample rate.

    Attributes:
        sample_rate: Hz of the signals this grid analyses.
        n_fft: STFT window (and FFT) length in samples, Hann window.
        hop_length: samples between frames.
        requested_bands: mel-spaced bands asked for before merging those narrower than a bin.
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    requested_bands: int = REQUESTED_BANDS

    @classmethod
    def for_rate(cls, sample_rate: int) -> PlaneGrid:
        """The plane's grid at ``sample_rate`` (see the module docstring)."""
        n_fft = int(2 ** round(np.log2(WINDOW_SECONDS * sample_rate)))
        return cls(sample_rate=int(sample_rate), n_fft=n_fft, hop_length=max(1, round(HOP_SECONDS * sample_rate)))

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @cached_property
    def bin_edges(self) -> np.ndarray:
        """``(n_bands + 1,)`` int: band ``b`` holds STFT bins ``bin_edges[b]`` to ``bin_edges[b + 1] - 1``."""
        import librosa

        nyquist = self.sample_rate / 2
        hz = librosa.mel_frequencies(n_mels=self.requested_bands + 1, fmin=0.0, fmax=nyquist)
        bins = np.round(hz / nyquist * (self.n_bins - 1)).astype(int)
        bins[-1] = self.n_bins  # the last band takes the Nyquist bin too
        return np.unique(bins)

    @property
    def n_bands(self) -> int:
        return len(self.bin_edges) - 1

    @cached_property
    def band_of_bin(self) -> np.ndarray:
        """``(n_bins,)`` int: the band each STFT bin belongs to."""
        return np.repeat(np.arange(self.n_bands), np.diff(self.bin_edges))

    @cached_property
    def band_edges_hz(self) -> np.ndarray:
        """``(n_bands + 1,)`` Hz: the lower edge of each band's lowest bin, then the Nyquist frequency."""
        bin_hz = self.sample_rate / self.n_fft
        edges = (self.bin_edges - 0.5).clip(0, None) * bin_hz
        edges[-1] = self.sample_rate / 2
        return edges

    @property
    def band_centres_hz(self) -> np.ndarray:
        """``(n_bands,)`` Hz, the middle of each band."""
        return (self.band_edges_hz[:-1] + self.band_edges_hz[1:]) / 2

    def n_frames(self, n_samples: int) -> int:
        """Frames of a signal of ``n_samples``: centred frames, ``1 + max(n_samples, n_fft) // hop_length`` (a signal
        shorter than one FFT window is analysed zero-padded to it)."""
        return 1 + max(n_samples, self.n_fft) // self.hop_length

    def frame_times(self, n_samples: int, start_s: float = 0.0) -> np.ndarray:
        """``(n_frames,)`` seconds of each frame's centre, for a signal starting at ``start_s``."""
        return start_s + np.arange(self.n_frames(n_samples)) * self.hop_length / self.sample_rate

    # --- analysis and resynthesis -------------------------------------------------------------------------

    def stft(self, signal: np.ndarray) -> np.ndarray:
        """``(n,)`` float -> ``(n_bins, n_frames)`` complex64 (centred frames, zero padding at the ends)."""
        import librosa

        padded = np.pad(np.asarray(signal, np.float32), (0, max(0, self.n_fft - len(signal))))
        spectrum = librosa.stft(padded, n_fft=self.n_fft, hop_length=self.hop_length, window="hann", center=True,
                                pad_mode="constant")
        return spectrum

    def istft(self, spectrum: np.ndarray, length: int) -> np.ndarray:
        """``(n_bins, n_frames)`` complex -> ``(length,)`` float32, the inverse of :meth:`stft` (overlap-add with
        the window's squared-sum normalisation: an unchanged spectrum gives the signal back to float error)."""
        import librosa

        padded = max(length, self.n_fft)
        signal = librosa.istft(spectrum, hop_length=self.hop_length, n_fft=self.n_fft, window="hann", center=True,
                               length=padded)
        return signal[:length].astype(np.float32)

    def pool(self, per_bin: np.ndarray) -> np.ndarray:
        """``(n_bins, n_frames)`` -> ``(n_bands, n_frames)``: the sum over each band's bins."""
        return np.add.reduceat(np.asarray(per_bin, np.float64), self.bin_edges[:-1], axis=0)

    def band_db(self, signal: np.ndarray, top_db: float = 80.0) -> np.ndarray:
        """``(n_bands, n_frames)`` float32: each band's energy in dB relative to the loudest cell, floored at
        ``-top_db`` (the picture drawn under a map)."""
        energy = self.pool(np.abs(self.stft(signal)) ** 2)
        decibels = 10 * np.log10(np.maximum(energy, 1e-12) / max(float(energy.max()), 1e-12))
        return np.maximum(decibels, -top_db).astype(np.float32)

    def describe(self) -> dict[str, object]:
        """JSON-ready statement of the grid."""
        return {"sample_rate": self.sample_rate, "n_fft": self.n_fft, "hop_length": self.hop_length,
                "window": "hann", "n_bands": self.n_bands, "band_scale": "mel (Slaney), edges on STFT bins",
                "frame_seconds": self.hop_length / self.sample_rate}


@dataclass(frozen=True)
class PlaneMap:
    """An attribution on the plane for one analysed clip.

    Attributes:
        values: ``(n_bands, n_frames)`` float32, signed (positive = for the explained class); row 0 = lowest band.
        grid: the grid of the values.
        start_s: where the clip starts in the recording (frame ``f`` is at ``start_s + f * hop / rate``).
        clip: ``(n_samples,)`` float32 at ``grid.sample_rate``: the analysed window as the model heard it (padding
            included); views resynthesise ``listen.wav`` from it, so nothing resamples the recording again.
        real_end_s: where the recording ends inside the clip; frames after it show padding.
        background_db: ``(n_bands, n_frames)`` the clip's band energy in dB (see :meth:`PlaneGrid.band_db`).
        origin: how the values reached the plane: ``plane`` (computed on it), ``mel picture`` (a map over the
            model's mel picture, resampled onto the plane's cells), ``waveform time`` (a map over samples, summed
            per frame and spread evenly over the bands: it has no frequency resolution), ``features``.
    """

    values: np.ndarray
    grid: PlaneGrid
    start_s: float
    clip: np.ndarray
    real_end_s: float
    background_db: np.ndarray
    origin: str = "plane"

    @property
    def n_samples(self) -> int:
        """The clip's length in samples (padding included)."""
        return len(self.clip)

    @property
    def real_samples(self) -> int:
        """How many samples of the clip are recording (the rest is padding)."""
        return min(len(self.clip), round((self.real_end_s - self.start_s) * self.grid.sample_rate))

    @property
    def times(self) -> np.ndarray:
        """``(n_frames,)`` seconds of the recording at each frame's centre."""
        return self.grid.frame_times(self.n_samples, self.start_s)

    @property
    def real_frames(self) -> np.ndarray:
        """``(n_frames,)`` bool: frames centred inside the recording (not padding)."""
        return self.times <= self.real_end_s + 1e-9

    def positive(self) -> np.ndarray:
        """``(n_bands, n_frames)`` float64: the positive part of the values, padding frames set to zero."""
        positive = np.clip(np.asarray(self.values, np.float64), 0, None)
        positive[:, ~self.real_frames] = 0.0
        return positive

    def interval_region(self, start_s: float, end_s: float) -> np.ndarray:
        """``(n_bands, n_frames)`` bool: every band of the frames centred inside ``[start_s, end_s]`` (and inside
        the recording)."""
        times = self.times
        return np.broadcast_to((times >= start_s) & (times <= end_s) & self.real_frames, self.values.shape).copy()

    def scaled(self) -> np.ndarray:
        """``values`` divided by their largest magnitude over the recording's frames (in [-1, 1]; zeros stay)."""
        peak = float(np.abs(np.asarray(self.values)[:, self.real_frames]).max(initial=0.0))
        return np.asarray(self.values, np.float32) / peak if peak > 0 else np.zeros_like(self.values, np.float32)
