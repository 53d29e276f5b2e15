"""The plane as a differentiable front end: gradient methods attribute a waveform model's answer to the STFT
*magnitude* of its input, cell by cell, so their maps share the plane with the perturbation maps.

:class:`MagnitudeModel` maps a magnitude ``M`` ``(B, n_bins, n_frames)`` to class logits through
``class_view(istft(M * phase))``, with the phase of the model input's own STFT held fixed (torch's STFT, the same
Hann window, centring and zero padding as :meth:`~xaiscope.plane.grid.PlaneGrid.stft`). At the input's own magnitude
it returns the model's logits for that input, up to resynthesis error; a gradient with respect to ``M`` is the
attribution to each time-frequency bin, pooled into the plane's bands by :meth:`~xaiscope.plane.grid.PlaneGrid.pool`.
"""

from __future__ import annotations

import torch
from torch import nn

from xaiscope.plane.grid import PlaneGrid


class MagnitudeModel(nn.Module):
    """``(B, n_bins, n_frames)`` STFT magnitudes of one waveform -> ``(B, n_classes)`` logits.

    Args:
        class_view: the model's class view, ``(B, n_samples)`` waveform -> ``(B, n_classes)``.
        waveform: ``(1, n_samples)`` the model input being explained.
        grid: the plane's grid at the model's sample rate.

    Attributes:
        magnitude: ``(1, n_bins, n_frames)`` the input's own STFT magnitude (the point being explained).
    """

    def __init__(self, class_view: nn.Module, waveform: torch.Tensor, grid: PlaneGrid) -> None:
        super().__init__()
        self.class_view = class_view
        self.grid = grid
        self.length = int(waveform.shape[-1])
        signal = waveform.detach().reshape(-1).float()
        if self.length < grid.n_fft:
            signal = torch.nn.functional.pad(signal, (0, grid.n_fft - self.length))
        self.window: torch.Tensor = torch.hann_window(grid.n_fft)
        spectrum = torch.stft(signal, grid.n_fft, grid.hop_length, window=self.window, center=True,
                              pad_mode="constant", return_complex=True)
        magnitude = spectrum.abs()
        phase = torch.where(magnitude > 0, spectrum / magnitude.clamp_min(1e-30), torch.ones_like(spectrum))
        self.phase: torch.Tensor = phase
        self.magnitude = magnitude[None]

    def waveforms(self, magnitude: torch.Tensor) -> torch.Tensor:
        """``(B, n_bins, n_frames)`` -> ``(B, n_samples)``, resynthesised with the fixed phase."""
        signal = torch.istft(magnitude * self.phase, self.grid.n_fft, self.grid.hop_length, window=self.window,
                             center=True, length=max(self.length, self.grid.n_fft))
        return signal[:, : self.length]

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        return self.class_view(self.waveforms(magnitude))
