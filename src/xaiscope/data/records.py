"""What a data set index is: labelled file records, one split at a time, and a report of what was skipped.

Indexing never decodes a file; it lists files (or CSV rows), applies the stated label rules and checks that
each file exists. Files that turn out to be unreadable are found later, while loading, and counted by
:class:`~xaiscope.data.torch_dataset.ModelInputDataset`. Nothing here is ever fatal for a single bad row or
file: it is counted, and the first few are quoted in :attr:`DataReport.examples`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xaiscope.inputs.sample import Modality

#: The three canonical split names (FoR's folder names) and the names users also type for them.
SPLITS: tuple[str, ...] = ("training", "validation", "testing")
SPLIT_ALIASES: dict[str, str] = {
    "train": "training", "training": "training",
    "val": "validation", "valid": "validation", "validation": "validation", "dev": "validation",
    "test": "testing", "testing": "testing", "eval": "testing",
}

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".dcm", ".dicom")

#: How many problem descriptions a report keeps verbatim (all are counted).
MAX_EXAMPLES = 20


def canonical_split(name: str) -> str | None:
    """``train`` -> ``training`` etc.; None for a name that is not a split."""
    return SPLIT_ALIASES.get(name.strip().lower())


def stable_fraction(text: str, seed: int = 0) -> float:
    """A number in ``[0, 1)`` that depends only on ``text`` and ``seed`` (sha256), for reproducible splits."""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class Record:
    """One labelled file.

    Attributes:
        path: the file.
        label: index into the split's ``classes``.
        group: what must not be split across training and validation (a CheXpert patient); the file name
            otherwise.
    """

    path: Path
    label: int
    group: str = ""


@dataclass
class DataReport:
    """Counts of what indexing (and later loading) skipped, with the first few cases quoted.

    Attributes:
        counts: reason -> number of rows or files, e.g. ``bad_rows``, ``missing_files``, ``uncertain_dropped``.
        examples: up to :data:`MAX_EXAMPLES` one-line descriptions ("train.csv line 7: ...").
    """

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def add(self, reason: str, example: str | None = None) -> None:
        """Count one case of ``reason``, keeping ``example`` while fewer than :data:`MAX_EXAMPLES` are kept."""
        self.counts[reason] += 1
        if example is not None and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)

    def merge(self, other: DataReport) -> None:
        self.counts.update(other.counts)
        self.examples.extend(other.examples[: max(MAX_EXAMPLES - len(self.examples), 0)])

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(sorted(self.counts.items())), "examples": list(self.examples)}


@dataclass
class LabelledSplit:
    """One split of a data set, indexed.

    Attributes:
        kind: ``for``, ``chexpert`` or ``folders``.
        root: the data set folder.
        split: ``training``, ``validation`` or ``testing``.
        modality: ``audio`` or ``xray``.
        classes: class names in label order (the model's output order).
        alert_class: the class a detector warns about (``fake``, ``opacity``...).
        records: the labelled files.
        report: what indexing skipped and why.
        rules: the label and split rules applied, in words and values (stored in the model card).
    """

    kind: str
    root: Path
    split: str
    modality: Modality
    classes: tuple[str, ...]
    alert_class: str
    records: list[Record]
    report: DataReport = field(default_factory=DataReport)
    rules: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.records)

    def class_counts(self) -> dict[str, int]:
        """Class name -> number of records, in class order."""
        counts = Counter(record.label for record in self.records)
        return {name: counts.get(index, 0) for index, name in enumerate(self.classes)}

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for model cards and logs."""
        return {"samples": len(self.records), "per_class": self.class_counts(), "skipped": self.report.to_dict()}


def limit_records(records: list[Record], max_samples: int, seed: int) -> list[Record]:
    """At most ``max_samples`` records (0 = all), chosen reproducibly by hashing each path with ``seed``."""
    if max_samples <= 0 or len(records) <= max_samples:
        return records
    ranked = sorted(records, key=lambda record: stable_fraction(str(record.path), seed))
    return sorted(ranked[:max_samples], key=lambda record: str(record.path))
