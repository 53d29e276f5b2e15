"""Hide parts of a recording on the plane and hear the result: tiles, replacements, resynthesis.

A *tile* is a rectangle of plane cells: ``band_tiles`` groups of neighbouring bands (even on the mel scale) by
``time_tiles`` groups of neighbouring frames. Hiding cells changes the clip's STFT in the bins and frames they cover;
the clip is then resynthesised with the original phase (:meth:`~xaiscope.plane.grid.PlaneGrid.istft`), and the
model hears the result through its own preprocessing. What a hidden cell becomes is stated by ``replacement``:

* ``silence``: magnitude 0 (the tile is cut out);
* ``noise``: noise at the recording's floor: each bin's 10th-percentile magnitude over the clip's frames, with a
  random phase (seeded, the same for every call on one clip);
* ``band-mean``: each bin's mean magnitude over the clip's frames, with the original phase (the tile keeps its
  timing but loses its detail).

With nothing hidden the clip comes back unchanged up to resynthesis error (below 1e-5 of full scale for float32);
with everything hidden only the replacement remains (silence gives zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from xaiscope.plane.grid import PlaneGrid

#: The ``replacement`` choices (see the module docstring).
REPLACEMENTS = ("silence", "noise", "band-mean")


@dataclass(frozen=True)
class TileLayout:
    """Tiles over a plane of ``n_bands`` x ``n_frames`` cells.

    Attributes:
        n_bands, n_frames: the plane's size; ``band_tiles``, ``time_tiles``: tiles along each axis (at most the
            size of the axis).
    """

    n_bands: int
    n_frames: int
    band_tiles: int
    time_tiles: int

    @cached_property
    def labels(self) -> np.ndarray:
        """``(n_bands, n_frames)`` int: the tile of each cell, ``band_group * time_tiles + time_group``."""
        bands = np.minimum(np.arange(self.n_bands) * min(self.band_tiles, self.n_bands) // self.n_bands,
                           self.band_tiles - 1)
        frames = np.minimum(np.arange(self.n_frames) * min(self.time_tiles, self.n_frames) // self.n_frames,
                            self.time_tiles - 1)
        return bands[:, None] * self.time_tiles + frames[None, :]

    @property
    def count(self) -> int:
        return self.band_tiles * self.time_tiles

    def cells(self, kept_tiles: np.ndarray) -> np.ndarray:
        """``(count,)`` bool tiles kept -> ``(n_bands, n_frames)`` bool cells kept."""
        return np.asarray(kept_tiles, bool)[self.labels]

    def paint(self, weights: np.ndarray) -> np.ndarray:
        """``(count,)`` tile weights -> ``(n_bands, n_frames)`` float32 density: each cell gets its tile's weight
        divided by the tile's number of cells, so a tile's cells sum to its weight."""
        sizes = np.bincount(self.labels.ravel(), minlength=self.count).astype(np.float64)
        density = np.asarray(weights, np.float64) / np.maximum(sizes, 1)
        return density[self.labels].astype(np.float32)


class ClipMasker:
    """Resynthesise one clip with chosen plane cells hidden.

    Args:
        clip: ``(n,)`` float32 at ``grid.sample_rate``, the clip as the model hears it (padding included).
        grid: the plane's grid.
        replacement: one of :data:`REPLACEMENTS`.
        seed: seed of the ``noise`` replacement's phase.
        real_samples: samples of ``clip`` that are recording (the floor and the means are measured on them).
    """

    def __init__(self, clip: np.ndarray, grid: PlaneGrid, replacement: str = "silence", seed: int = 0,
                 real_samples: int | None = None) -> None:
        if replacement not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {REPLACEMENTS}, not {replacement!r}")
        self.clip = np.asarray(clip, np.float32)
        self.grid = grid
        self.replacement = replacement
        self.spectrum = grid.stft(self.clip)  # (n_bins, n_frames)
        real = grid.n_frames(real_samples) if real_samples is not None else self.spectrum.shape[1]
        magnitude = np.abs(self.spectrum[:, : max(1, min(real, self.spectrum.shape[1]))])
        phase = np.exp(1j * np.angle(self.spectrum))
        if replacement == "silence":
            self.filler = np.zeros_like(self.spectrum)
        elif replacement == "noise":
            random_phase = np.exp(2j * np.pi * np.random.default_rng(seed).random(self.spectrum.shape))
            self.filler = np.percentile(magnitude, 10, axis=1)[:, None] * random_phase
        else:
            self.filler = magnitude.mean(axis=1)[:, None] * phase

    @property
    def n_cells(self) -> tuple[int, int]:
        """``(n_bands, n_frames)`` of the plane this clip covers."""
        return self.grid.n_bands, self.spectrum.shape[1]

    def resynthesise(self, kept_cells: np.ndarray) -> np.ndarray:
        """``(n_bands, n_frames)`` bool cells kept -> ``(n,)`` float32 clip with the others replaced."""
        kept_bins = np.asarray(kept_cells, bool)[self.grid.band_of_bin]  # (n_bins, n_frames)
        return self.grid.istft(np.where(kept_bins, self.spectrum, self.filler), len(self.clip))

    def batch(self, kept_cells: np.ndarray) -> np.ndarray:
        """``(N, n_bands, n_frames)`` bool -> ``(N, n)`` float32 clips."""
        return np.stack([self.resynthesise(cells) for cells in kept_cells])


def keep_cells(clip: np.ndarray, grid: PlaneGrid, kept_cells: np.ndarray) -> np.ndarray:
    """The clip with only ``kept_cells`` ``(n_bands, n_frames)`` sounding (the others silent): ``listen.wav``."""
    return ClipMasker(clip, grid, "silence").resynthesise(kept_cells)
