"""CheXpert-v1.0-small: uncertainty policies, the blank rule, frontal-only, bad rows, patient-level splits.

Expected numbers are counted by hand from ``tests.data.builders.TRAIN_ROWS``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xaiscope.data import DataOptions, ModelInputDataset, open_split
from xaiscope.data.chexpert import chexpert_classes, observation_slug
from xaiscope.errors import DataLayoutError, DataNotFoundError
from xaiscope.preprocessing import XraySpec


def _both(root: Path, **options) -> tuple[dict[str, int], dict[str, int]]:
    """Class counts and skip counts of training + validation together (= all of train.csv)."""
    chosen = DataOptions(val_fraction=0.3, **options)
    counts = {"no_opacity": 0, "opacity": 0}
    skipped: dict[str, int] = {}
    for name in ("training", "validation"):
        split = open_split(root, name, chosen, require_samples=False)
        for key, value in split.class_counts().items():
            counts[key] += value
        for key, value in split.report.counts.items():
            skipped[key] = skipped.get(key, 0) + value
    return counts, skipped


def test_u_ignore_with_blank_as_negative(chexpert_root: Path):
    counts, skipped = _both(chexpert_root)
    assert counts == {"no_opacity": 5, "opacity": 5}
    assert skipped == {"bad_rows": 2, "missing_files": 1, "uncertain_dropped": 3, "blank_as_negative": 2}


@pytest.mark.parametrize(("policy", "expected", "reason"), [
    ("zeros", {"no_opacity": 8, "opacity": 5}, "uncertain_as_negative"),
    ("ones", {"no_opacity": 5, "opacity": 8}, "uncertain_as_positive"),
])
def test_u_zeros_and_u_ones(chexpert_root: Path, policy: str, expected: dict[str, int], reason: str):
    counts, skipped = _both(chexpert_root, uncertainty=policy)
    assert counts == expected
    assert skipped[reason] == 3 and "uncertain_dropped" not in skipped


def test_blank_ignored_like_the_earlier_tool(chexpert_root: Path):
    counts, skipped = _both(chexpert_root, blank="ignore")
    assert counts == {"no_opacity": 3, "opacity": 5}
    assert skipped["blank_dropped"] == 2


def test_frontal_only(chexpert_root: Path):
    counts, skipped = _both(chexpert_root, frontal_only=True)
    assert counts == {"no_opacity": 4, "opacity": 4}
    assert skipped["lateral_dropped"] == 3 and skipped["uncertain_dropped"] == 2
    split = open_split(chexpert_root, "training", DataOptions(frontal_only=True, val_fraction=0.3))
    assert all("frontal" in record.path.name for record in split.records)


def test_patients_never_cross_training_and_validation(chexpert_root: Path):
    options = DataOptions(val_fraction=0.3, split_seed=4)
    training = open_split(chexpert_root, "training", options)
    validation = open_split(chexpert_root, "validation", options)
    assert {r.group for r in training.records}.isdisjoint({r.group for r in validation.records})
    assert {r.group for r in validation.records} == {"patient00001", "patient00004", "patient00010"}


def test_testing_is_valid_csv_with_labels_and_classes(chexpert_root: Path):
    split = open_split(chexpert_root, "testing")
    assert split.classes == ("no_opacity", "opacity") and split.alert_class == "opacity"
    assert split.class_counts() == {"no_opacity": 2, "opacity": 2}
    assert all(record.path.is_file() and "/valid/" in record.path.as_posix() for record in split.records)


def test_bad_rows_are_quoted_not_fatal(chexpert_root: Path):
    split = open_split(chexpert_root, "training", DataOptions(val_fraction=0.0))
    examples = "\n".join(split.report.examples)
    assert "label '2.0' is not 1, 0, -1 or blank" in examples
    assert "no Path" in examples
    assert "not found" in examples and "patient00009" in examples


def test_corrupt_image_is_reported_on_load(chexpert_root: Path):
    split = open_split(chexpert_root, "training", DataOptions(val_fraction=0.0))
    dataset = ModelInputDataset(split, XraySpec(image_size=64), mode="eval")
    items = [dataset[index] for index in range(len(dataset))]
    broken = [item for item in items if item.tensor is None]
    assert len(broken) == 1 and "patient00007" in broken[0].error and "cannot be decoded" in broken[0].error
    assert all(item.tensor.shape == (1, 3, 64, 64) for item in items if item.tensor is not None)


def test_other_observations_and_unknown_column(chexpert_root: Path):
    assert observation_slug("Lung Opacity") == "opacity"
    assert chexpert_classes("Pleural Effusion") == ("no_pleural_effusion", "pleural_effusion")
    split = open_split(chexpert_root, "testing", DataOptions(observation="Support Devices"))
    assert split.classes == ("no_support_devices", "support_devices") and split.class_counts()["support_devices"] == 4
    with pytest.raises(DataLayoutError, match="Lung Opacity"):
        open_split(chexpert_root, "testing", DataOptions(observation="Lung Opacities"))


def test_missing_csv(chexpert_root: Path):
    (chexpert_root / "valid.csv").unlink()
    with pytest.raises(DataNotFoundError, match=r"valid\.csv"):
        open_split(chexpert_root, "testing")
