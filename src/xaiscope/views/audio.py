"""Audio views: an explanation on the time-frequency plane (seconds by Hz, :mod:`xaiscope.plane`), what mattered
over time and frequency, and ``listen.wav``: the recording with only its most important time-frequency cells kept.

Every audio explanation, whatever the model's input kind, is shown here on the plane of the explained window
(:attr:`~xaiscope.explainers.Explanation.plane`): computed there (tile methods, gradient methods of waveform models)
or carried there from the model's own input (a mel picture, a waveform, a known feature matrix). The figure draws
the window's band energy in dB in gray with the map over it on a diverging colour scale: each map divided by its
largest magnitude over the recording's frames, so every map (and every model, in a comparison) shares one scale,
-1 to 1, red for the explained class and blue against it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xaiscope.errors import XaiscopeError
from xaiscope.inputs.sample import AudioSample
from xaiscope.plane.grid import PlaneMap
from xaiscope.plane.tiles import keep_cells
from xaiscope.preprocessing.spec import AudioSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from xaiscope.explainers.api import Explanation


@dataclass(frozen=True)
class Span:
    """A stretch of time (seconds) or frequency (Hz) and its share of the positive attribution."""

    low: float
    high: float
    share: float


@dataclass(frozen=True)
class AudioView:
    """An explanation of one audio window on the time-frequency plane.

    Attributes:
        plane: the map on the plane, ``(n_bands, n_frames)``, row 0 the lowest band, with the window's samples.
    """

    plane: PlaneMap

    @classmethod
    def build(cls, explanation: Explanation) -> AudioView:
        """Lay out ``explanation`` (of a recording) on the plane.

        Raises:
            XaiscopeError: the explanation has no plane map (a feature extractor of unknown geometry).
        """
        if explanation.plane is None:
            raise XaiscopeError(f"{explanation.label}'s map is over this model's own features, whose time and "
                                "frequency layout is not known, so it cannot be shown in seconds and Hz.",
                                "Use a tile method (tile_lime, tile_kernel_shap, tile_occlusion): they explain "
                                "any audio model on the time-frequency plane.")
        return cls(plane=explanation.plane)

    @property
    def clip(self) -> np.ndarray:
        """``(n,)`` float32 at the plane's rate: the window as the model heard it (padding included)."""
        return self.plane.clip

    @property
    def real_samples(self) -> int:
        """How many samples of :attr:`clip` are recording (the rest is padding)."""
        return self.plane.real_samples

    @property
    def times(self) -> np.ndarray:
        """``(n_frames,)`` seconds of the recording at each frame's centre."""
        return self.plane.times

    @property
    def frequencies(self) -> np.ndarray:
        """``(n_bands,)`` Hz at each band's centre, lowest first."""
        return self.plane.grid.band_centres_hz

    @property
    def real_end_s(self) -> float:
        return self.plane.real_end_s

    @property
    def sample_rate(self) -> int:
        return self.plane.grid.sample_rate

    # --- what mattered -------------------------------------------------------------------------------------

    def time_importance(self) -> np.ndarray:
        """``(n_frames,)`` share of the positive attribution in each frame (sums to 1, or all zeros)."""
        column = self.plane.positive().sum(axis=0)
        return column / column.sum() if column.sum() > 0 else column

    def frequency_importance(self) -> np.ndarray:
        """``(n_bands,)`` share of the positive attribution in each band, lowest band first."""
        row = self.plane.positive().sum(axis=1)
        return row / row.sum() if row.sum() > 0 else row

    def top_time_ranges(self, count: int = 3) -> list[Span]:
        """The ``count`` stretches of time holding the most positive attribution (seconds)."""
        return _top_spans(self.time_importance(), self.times, count)

    def top_frequency_bands(self, count: int = 3) -> list[Span]:
        """The ``count`` frequency bands holding the most positive attribution (Hz, low to high)."""
        return _top_spans(self.frequency_importance(), self.frequencies, count)

    # --- pictures ------------------------------------------------------------------------------------------

    def draw(self, axes: Axes, opacity: float = 0.8, colour_bar: bool = True) -> Any:
        """Draw the band energy (gray) and the scaled map (red for, blue against; more opaque where stronger) on
        seconds and Hz axes, the frequency axis in mel-spaced bands labelled in Hz."""
        time_edges = _edges(self.times)
        band_edges = np.arange(self.plane.grid.n_bands + 1)
        axes.pcolormesh(time_edges, band_edges, self.plane.background_db, cmap="gray", shading="flat",
                        rasterized=True)
        scaled = self.plane.scaled()
        mesh = axes.pcolormesh(time_edges, band_edges, scaled, cmap="bwr", vmin=-1, vmax=1, shading="flat",
                               rasterized=True)
        mesh.set_alpha(opacity * np.sqrt(np.abs(scaled)).ravel())
        hz = self.plane.grid.band_edges_hz
        ticks = [f for f in (0, 250, 500, 1000, 2000, 4000, 8000, 16000) if f <= hz[-1]]
        axes.set_yticks(np.interp(ticks, hz, band_edges), [f"{f:g}" for f in ticks])
        axes.set_ylabel("frequency (Hz, mel scale)")
        axes.set_xlabel("time (s)")
        if self.real_end_s < self.times[-1]:
            axes.axvline(self.real_end_s, color="black", linestyle="--", linewidth=1)
        if colour_bar:
            bar = axes.figure.colorbar(mesh, ax=axes, pad=0.01, fraction=0.04)
            bar.set_label("relative attribution")
        return mesh

    def figure_png(self, title: str = "", opacity: float = 0.8) -> bytes:
        """The plane figure: the map on seconds and Hz with a colour bar, importance over time below it and over
        frequency beside it. Drawn with matplotlib's object API (no pyplot state)."""
        figure = _figure((9, 5.6))
        grid = figure.add_gridspec(2, 2, width_ratios=(5, 1), height_ratios=(3, 1))
        main = figure.add_subplot(grid[0, 0])
        self.draw(main, opacity)
        main.set_title(title)
        main.set_xlabel("")
        below = figure.add_subplot(grid[1, 0], sharex=main)
        below.fill_between(self.times, self.time_importance(), color="tab:red", alpha=0.7, step="mid")
        below.set_xlabel("time (s)")
        below.set_ylabel("share")
        side = figure.add_subplot(grid[0, 1], sharey=main)
        side.fill_betweenx(np.arange(len(self.frequencies)) + 0.5, self.frequency_importance(), color="tab:red",
                           alpha=0.7, step="mid")
        side.set_xlabel("share")
        side.tick_params(labelleft=False)
        return _png(figure)

    # --- listening -----------------------------------------------------------------------------------------

    def listen(self, keep: float = 0.2) -> np.ndarray:
        """The clip with only its most important time-frequency cells kept.

        The ``keep`` fraction of the plane's cells with positive attribution (the highest first) stay; every other
        STFT bin is silenced and the clip is resynthesised with its original phase.

        Returns:
            ``(real_samples,)`` float32 at ``sample_rate`` (silence when no attribution is positive).
        """
        positive = self.plane.positive()
        if not np.any(positive > 0):
            return np.zeros(self.real_samples, np.float32)
        threshold = np.quantile(positive[positive > 0], 1 - keep) if keep < 1 else 0
        kept = (positive >= threshold) & (positive > 0)
        return keep_cells(self.clip, self.plane.grid, kept)[: self.real_samples]

    def listen_wav(self, keep: float = 0.2) -> bytes:
        """:meth:`listen` encoded as a 16-bit WAV file."""
        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, np.clip(self.listen(keep), -1, 1), self.sample_rate, format="WAV", subtype="PCM_16")
        return buffer.getvalue()


def compare_figure_png(views: Sequence[tuple[str, AudioView]], columns: int = 2) -> bytes:
    """Several explanations of one recording side by side on one plane figure: shared seconds and Hz axes (where
    their windows and rates agree) and one colour scale (each map scaled by its largest magnitude)."""
    rows = -(-len(views) // columns)
    figure = _figure((5.2 * min(columns, len(views)) + 0.8, 3.4 * rows))
    axes_grid = figure.subplots(rows, min(columns, len(views)), squeeze=False)
    mesh = None
    for axes, (title, view) in zip(axes_grid.ravel(), views, strict=False):
        mesh = view.draw(axes, colour_bar=False)
        axes.set_title(title, fontsize=10)
    for axes in axes_grid.ravel()[len(views):]:
        axes.set_visible(False)
    if mesh is not None:
        figure.colorbar(mesh, ax=axes_grid.ravel().tolist(), fraction=0.03, pad=0.01).set_label(
            "relative attribution")
    return _png(figure)


def models_figure_png(explanations: Sequence[Explanation]) -> bytes | None:
    """Several models' explanations of one recording on one plane figure: one row per method, one column per model
    (in the order given), one colour scale, each titled with the class it explains (models may explain different
    classes and windows); maps without a plane are left out. None when none has one."""
    models = list(dict.fromkeys(e.model for e in explanations))
    methods = list(dict.fromkeys(e.method for e in explanations))
    ordered = sorted((e for e in explanations if e.plane is not None),
                     key=lambda e: (methods.index(e.method), models.index(e.model)))
    views = [(f"{e.model} · {e.label}: {e.target_class}", AudioView.build(e)) for e in ordered]
    return compare_figure_png(views, columns=len(models)) if views else None


def _figure(size: tuple[float, float]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _edges(centres: np.ndarray) -> np.ndarray:
    """``(n,)`` evenly spaced centres -> ``(n + 1,)`` cell edges."""
    step = float(centres[1] - centres[0]) if len(centres) > 1 else 0.01
    return np.concatenate([centres - step / 2, [centres[-1] + step / 2]])


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
