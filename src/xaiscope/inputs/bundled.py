"""The sample inputs shipped with the package, for trying the tool offline.

They live in ``xaiscope/bundled_samples/`` with a ``samples.json`` manifest: a list of objects with ``file``
(relative path), ``modality``, ``title``, ``description`` and optional ``ground_truth`` (a fake interval
``[start_s, end_s]`` for a recording, or ``mask``: the relative path of a lesion-mask PNG for an X-ray).
"""

from __future__ import annotations

import json
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


def bundled_samples(modality: str | None = None, folder: Path = SAMPLES_DIR) -> list[BundledSample]:
    """The shipped samples (of one modality when given), in manifest order; empty when none are shipped."""
    manifest = folder / "samples.json"
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    samples = [BundledSample(path=folder / entry["file"], modality=entry["modality"], title=entry["title"],
                             description=entry.get("description", ""), ground_truth=entry.get("ground_truth", {}))
               for entry in entries]
    return [s for s in samples if s.path.is_file() and (modality is None or s.modality == modality)]
