"""The choices that decide which files a split holds and how they are labelled."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

DataKind = Literal["auto", "for", "chexpert", "folders"]
UncertaintyPolicy = Literal["ignore", "zeros", "ones"]
BlankRule = Literal["negative", "ignore"]


@dataclass(frozen=True)
class DataOptions:
    """How a data set folder is read.

    Attributes:
        kind: ``for`` (Fake-or-Real), ``chexpert`` (CheXpert-v1.0-small), ``folders`` (one folder per class,
            optionally inside ``training|validation|testing``), or ``auto`` to recognise the layout.
        modality: ``audio`` or ``xray`` for ``folders``; ``auto`` decides from the file extensions.
        observation: the CheXpert column that is the label (``Lung Opacity`` by default).
        uncertainty: CheXpert's -1 (uncertain) labels: ``ignore`` drops the row (U-Ignore), ``zeros`` counts it
            negative (U-Zeros), ``ones`` positive (U-Ones).
        blank: CheXpert's blank labels. The CheXpert labeller leaves a cell blank when the report does not
            mention the observation, so ``negative`` (the default) counts it as 0; ``ignore`` drops the row, as
            the earlier tool did (which left mostly positive rows for Lung Opacity).
        frontal_only: keep only CheXpert rows whose ``Frontal/Lateral`` is ``Frontal``.
        val_fraction: share of training groups held out for validation where the data set has no validation
            split of its own (CheXpert: by patient, from train.csv; folders without split folders: by file).
        test_fraction: share held out for testing in a folder-per-class set without split folders.
        split_seed: seed of the hash that assigns groups to held-out splits (reproducible on every machine).
        max_samples: keep at most this many records per split (0 = all), chosen reproducibly; for quick runs.
        alert_class: the class to warn about; empty = ``fake`` for FoR, the observation for CheXpert, a class
            with a telling name for folders.
    """

    kind: DataKind = "auto"
    modality: Literal["auto", "audio", "xray"] = "auto"
    observation: str = "Lung Opacity"
    uncertainty: UncertaintyPolicy = "ignore"
    blank: BlankRule = "negative"
    frontal_only: bool = False
    val_fraction: float = 0.05
    test_fraction: float = 0.1
    split_seed: int = 0
    max_samples: int = 0
    alert_class: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
