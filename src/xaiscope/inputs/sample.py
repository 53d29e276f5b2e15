"""What a loaded input is: :class:`AudioSample` or :class:`XraySample`.

A sample holds the decoded signal at full resolution plus metadata. Nothing downstream of the decoders reads
files: preprocessing, models, explainers and views all start from a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

Modality = Literal["audio", "xray"]
MODALITIES: tuple[Modality, ...] = ("audio", "xray")


@dataclass(frozen=True, eq=False, kw_only=True)
class Sample:
    """Base of the two sample kinds.

    Attributes:
        name: a display name (the file's base name, or the name the caller gave for bytes). Never a full path.
        source_format: the container the bytes were in: ``wav``, ``flac``, ``ogg``, ``mp3``, ``png``, ``jpeg``,
            ``dicom``.
        sha256: hex digest of the input bytes, a stable key for caches.
        metadata: format facts that are safe to show (never patient identifiers).
    """

    modality: ClassVar[Modality]
    name: str
    source_format: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the sample (no signal data)."""
        return {"name": self.name, "modality": self.modality, "format": self.source_format, **self.metadata}


@dataclass(frozen=True, eq=False, kw_only=True)
class AudioSample(Sample):
    """A speech recording.

    Attributes:
        waveform: shape ``(n_samples,)``, float32 in [-1, 1], mono (channels averaged), at ``sample_rate``:
            the file's own rate, untouched. Each model resamples to its card's rate.
        sample_rate: samples per second of ``waveform``.
    """

    modality: ClassVar[Modality] = "audio"
    waveform: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.waveform) / float(self.sample_rate)


@dataclass(frozen=True, eq=False, kw_only=True)
class XraySample(Sample):
    """A chest radiograph.

    Attributes:
        image: shape ``(height, width)``, float32 in [0, 1], at the file's full resolution, in display
            orientation (EXIF applied) and polarity (bright = dense; DICOM MONOCHROME1 already inverted, VOI
            window already applied).
    """

    modality: ClassVar[Modality] = "xray"
    image: np.ndarray

    @property
    def display(self) -> np.ndarray:
        """The image as shown to a person: shape ``(height, width)``, uint8."""
        return np.round(self.image * 255.0).astype(np.uint8)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])
