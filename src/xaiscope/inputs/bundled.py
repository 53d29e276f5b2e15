"""The sample inputs shipped with the package, for trying the tool offline.

They live in ``xaiscope/bundled_samples/``; a server may add a folder of its own (a teaching set, say) by
naming it in ``$XAISCOPE_SAMPLES``. Each folder has a ``samples.json`` manifest: a list of objects with ``file``
(relative path), ``modality``, ``title``, ``description`` and optional ``ground_truth`` (a fake interval
``[start_s, end_s]`` for a recording, or ``mask``: the relative path of a lesion-mask PNG for an X-ray).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "bundled_samples"


@dataclass(frozen=True)
class BundledSample:
    """One shipped sample and what is known about it."""

    path: Path
    modality: str
    title: str
    description: str = ""
    ground_truth: dict[str, Any] = field(default_factory=dict)
    #: The folder of the ``samples.json`` that lists this sample: every path in the manifest (the sample's
    #: ``file`` and a ground-truth ``mask``) is relative to it. Defaults to the sample's own folder.
    root: Path | None = None

    def truth(self) -> Any:
        """The ground truth in the evaluation's form: a fake interval ``(start_s, end_s)``, a lesion mask
        ``(h, w)`` bool array at the image's resolution, or None."""
        if "fake_interval" in self.ground_truth:
            start, end = self.ground_truth["fake_interval"]
            return float(start), float(end)
        if "mask" in self.ground_truth:
            import numpy as np
            from PIL import Image

            root = self.root if self.root is not None else self.path.parent
            with Image.open(root / self.ground_truth["mask"]) as mask:
                return np.asarray(mask.convert("L")) >= 128
        return None


def sample_folders() -> list[Path]:
    """``$XAISCOPE_SAMPLES`` (when set) then the package's own samples."""
    extra = os.environ.get("XAISCOPE_SAMPLES")
    return [Path(extra), SAMPLES_DIR] if extra else [SAMPLES_DIR]


def bundled_samples(modality: str | None = None) -> list[BundledSample]:
    """The available samples (of one modality when given), in manifest order; empty when there are none."""
    samples = []
    for folder in sample_folders():
        manifest = folder / "samples.json"
        if not manifest.is_file():
            continue
        for entry in json.loads(manifest.read_text(encoding="utf-8")):
            samples.append(BundledSample(path=folder / entry["file"], modality=entry["modality"],
                                         title=entry["title"], description=entry.get("description", ""),
                                         ground_truth=entry.get("ground_truth", {}), root=folder))
    return [s for s in samples if s.path.is_file() and (modality is None or s.modality == modality)]
