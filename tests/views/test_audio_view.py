"""Audio views on the time-frequency plane: real axes, importance over time, and listen.wav keeping exactly the
important regions (a map over the model's mel picture, carried onto the plane)."""

from __future__ import annotations

import numpy as np
import pytest

from xaiscope.plane import PlaneGrid, PlaneMap
from xaiscope.plane.project import picture_to_plane
from xaiscope.preprocessing import AudioSpec
from xaiscope.views import AudioView

RATE = 16000
SPEC = AudioSpec(window_seconds=2.0, pad="none")


class _FakeExplanation:
    """Just the fields AudioView reads: a hand-made attribution over a mel picture, carried onto the plane as
    ``explain`` carries it."""

    def __init__(self, attribution: np.ndarray, clip: np.ndarray) -> None:
        grid = PlaneGrid.for_rate(RATE)
        self.attribution = attribution.astype(np.float32)
        self.window = None
        self.label = "hand-made"
        self.plane = PlaneMap(picture_to_plane(self.attribution, SPEC, grid, len(clip), 0.0), grid, 0.0, clip,
                              len(clip) / RATE, grid.band_db(clip), "mel picture")


def _two_tones() -> np.ndarray:
    """A 1500 Hz tone and a 300 Hz tone, both over the whole 2 s."""
    times = np.arange(2 * RATE) / RATE
    return (0.3 * np.sin(2 * np.pi * 1500 * times) + 0.3 * np.sin(2 * np.pi * 300 * times)).astype(np.float32)


def _view(attribution: np.ndarray) -> AudioView:
    return AudioView.build(_FakeExplanation(attribution, _two_tones()))


def _picture_rows(low_hz: float, high_hz: float) -> np.ndarray:
    """Rows of a 224-row mel picture whose centre frequency lies in ``[low_hz, high_hz]``."""
    from xaiscope.plane.project import picture_rows_hz

    hz = picture_rows_hz(224, SPEC.n_mels, SPEC.fmin, RATE / 2)
    return (hz >= low_hz) & (hz <= high_hz)


def test_axes_are_seconds_and_hertz():
    view = _view(np.zeros((224, 224)))
    assert view.times[0] == pytest.approx(0.0, abs=0.01) and view.times[-1] == pytest.approx(2.0, abs=0.05)
    assert view.frequencies[0] < 50 and view.frequencies[-1] > 7000  # row 0 = lowest band
    assert np.all(np.diff(view.frequencies) > 0)
    assert view.plane.values.shape == (64, 201)  # 10 ms frames, 64 mel-spaced bands


def test_time_importance_and_top_ranges():
    attribution = np.zeros((224, 224))
    columns = (np.arange(224) >= 56) & (np.arange(224) < 112)  # about 0.5 .. 1.0 s
    attribution[:, columns] = 1.0
    view = _view(attribution)
    importance = view.time_importance()
    assert importance.sum() == pytest.approx(1.0)
    ranges = view.top_time_ranges()
    assert ranges[0].low == pytest.approx(0.5, abs=0.05) and ranges[0].high == pytest.approx(1.0, abs=0.05)
    assert ranges[0].share == pytest.approx(1.0, abs=0.01)  # the frames at the edges share a column


def test_listen_keeps_the_kept_region_and_silences_the_rest():
    attribution = np.zeros((224, 224))
    columns = (np.arange(224) >= 56) & (np.arange(224) < 112)
    rows = _picture_rows(1000, 2200)  # the band around the 1500 Hz tone
    attribution[np.ix_(rows, columns)] = 1.0
    view = _view(attribution)
    kept = view.listen(keep=1.0)
    original = _two_tones()
    assert kept.shape == original.shape

    def band_energy(signal: np.ndarray, start: float, end: float, low: float, high: float) -> float:
        piece = signal[int(start * RATE):int(end * RATE)]
        spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece)))) ** 2
        frequencies = np.fft.rfftfreq(len(piece), 1 / RATE)
        return float(spectrum[(frequencies >= low) & (frequencies <= high)].sum())

    inside = band_energy(kept, 0.6, 0.9, 1400, 1600) / band_energy(original, 0.6, 0.9, 1400, 1600)
    other_tone = band_energy(kept, 0.6, 0.9, 250, 350) / band_energy(original, 0.6, 0.9, 250, 350)
    later = slice(int(1.3 * RATE), int(1.9 * RATE))
    other_time = np.sum(kept[later] ** 2) / np.sum(original[later] ** 2)
    assert inside > 0.8, inside
    assert other_tone < 0.01, other_tone
    assert other_time < 0.01, other_time


def test_listen_of_an_empty_map_is_silence():
    assert not np.any(_view(np.zeros((224, 224))).listen())


def test_figure_is_a_png():
    assert _view(np.random.default_rng(0).random((224, 224))).figure_png("test")[:8] == b"\x89PNG\r\n\x1a\n"
