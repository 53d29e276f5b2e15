"""CheXpert-v1.0-small: ``train.csv`` and ``valid.csv`` beside the ``train/`` and ``valid/`` image folders.

Columns: ``Path, Sex, Age, Frontal/Lateral, AP/PA`` and the 14 observations, each 1.0, 0.0, -1.0 (uncertain)
or blank (not mentioned in the report).

Rules, stated once:

* **Label**: the observation column chosen by the user (``Lung Opacity`` by default); classes
  ``(f"no_{slug}", slug)``, e.g. ``("no_opacity", "opacity")``; the alert class is the positive one.
* **Uncertain (-1)**: ``ignore`` drops the row (U-Ignore), ``zeros`` makes it 0 (U-Zeros), ``ones`` makes it 1
  (U-Ones).
* **Blank**: ``negative`` (default) makes it 0, because the CheXpert labeller leaves an observation blank when
  the report does not mention it; ``ignore`` drops the row, as the earlier tool did.
* **Views**: frontal and lateral are both kept unless ``frontal_only``.
* **Splits**: ``testing`` is ``valid.csv`` (234 radiologist-labelled images, where the earlier tool reported its
  accuracy). ``validation`` is a patient-level hold-out of ``train.csv`` (``val_fraction`` of the patients,
  chosen by a seeded hash of the patient id, so no patient is in both); ``training`` is the rest of
  ``train.csv``.
* **Bad rows** (no path, a label that is not 1, 0, -1 or blank, a missing view) and **missing image files** are
  counted and quoted in the report, never fatal.
* **Paths** in the CSVs start with ``CheXpert-v1.0-small/``; they are resolved against the folder above the
  data set, then against the data set folder itself, with or without that first component.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from xaiscope.data.options import DataOptions
from xaiscope.data.records import DataReport, LabelledSplit, Record, limit_records, stable_fraction
from xaiscope.errors import DataLayoutError, DataNotFoundError

OBSERVATIONS = (
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
    "Support Devices",
)
#: Short class names where the generic slug would differ from the earlier tool's labels.
SHORT_SLUGS = {"Lung Opacity": "opacity"}
CSV_FOR_SPLIT = {"training": "train.csv", "validation": "train.csv", "testing": "valid.csv"}
_LABELS = {"1": 1.0, "1.0": 1.0, "0": 0.0, "0.0": 0.0, "-1": -1.0, "-1.0": -1.0, "": None}
_PATIENT = re.compile(r"patient\d+", re.IGNORECASE)


def is_chexpert_layout(root: Path) -> bool:
    return (root / "train.csv").is_file() or (root / "valid.csv").is_file()


def observation_slug(observation: str) -> str:
    """``Lung Opacity`` -> ``opacity``; otherwise lower case with underscores (``Pleural Effusion`` ->
    ``pleural_effusion``)."""
    if observation in SHORT_SLUGS:
        return SHORT_SLUGS[observation]
    return re.sub(r"[^a-z0-9]+", "_", observation.lower()).strip("_")


def chexpert_classes(observation: str) -> tuple[str, str]:
    slug = observation_slug(observation)
    return (f"no_{slug}", slug)


def resolve_image(root: Path, relative: str) -> Path | None:
    """The image file a CSV ``Path`` names, or None when no candidate exists."""
    parts = Path(relative).parts
    candidates = [root.parent / relative, root / relative]
    if len(parts) > 1:
        candidates.append(root.joinpath(*parts[1:]))
    return next((candidate for candidate in candidates if candidate.is_file()), None)


def patient_of(relative: str) -> str:
    """The patient id in a CSV path (``patient00001``), else the folder two levels above the file."""
    match = _PATIENT.search(relative)
    if match:
        return match.group(0).lower()
    parts = Path(relative).parts
    return parts[-3] if len(parts) >= 3 else relative


def chexpert_split(root: Path, split: str, options: DataOptions) -> LabelledSplit:
    """Index one split (see the module docstring for every rule).

    Raises:
        DataNotFoundError: the split's CSV file is missing.
        DataLayoutError: the CSV lacks ``Path``, ``Frontal/Lateral`` or the observation column.
    """
    csv_path = root / CSV_FOR_SPLIT[split]
    if not csv_path.is_file():
        raise DataNotFoundError(f"'{csv_path}' does not exist.",
                                "Point to the CheXpert-v1.0-small folder, which holds train.csv and valid.csv.")
    report = DataReport()
    records: list[Record] = []
    positive = 1
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        needed = ["Path", "Frontal/Lateral", options.observation]
        absent = [name for name in needed if name not in columns]
        if absent:
            observations = [name for name in columns if name in OBSERVATIONS] or list(OBSERVATIONS)
            raise DataLayoutError(f"'{csv_path.name}' has no column(s) {', '.join(repr(a) for a in absent)}.",
                                  f"Choose an observation among: {', '.join(observations)}.")
        for line, row in enumerate(reader, start=2):
            where = f"{csv_path.name} line {line}"
            relative = (row.get("Path") or "").strip()
            raw = (row.get(options.observation) or "").strip()
            view = (row.get("Frontal/Lateral") or "").strip()
            if split != "testing":
                # A row belongs to its patient's split; a row without a path is reported once, with training.
                held_out = bool(relative) and stable_fraction(patient_of(relative),
                                                              options.split_seed) < options.val_fraction
                if held_out != (split == "validation"):
                    continue
            if not relative or raw not in _LABELS or view not in ("Frontal", "Lateral"):
                reason = ("no Path" if not relative else f"label {raw!r} is not 1, 0, -1 or blank"
                          if raw not in _LABELS else f"view {view!r} is not Frontal or Lateral")
                report.add("bad_rows", f"{where}: {reason}; row skipped")
                continue
            if options.frontal_only and view != "Frontal":
                report.add("lateral_dropped")
                continue
            value = _LABELS[raw]
            if value is None:
                if options.blank == "ignore":
                    report.add("blank_dropped")
                    continue
                value = 0.0
                report.add("blank_as_negative")
            elif value < 0:
                if options.uncertainty == "ignore":
                    report.add("uncertain_dropped")
                    continue
                value = 1.0 if options.uncertainty == "ones" else 0.0
                report.add(f"uncertain_as_{'positive' if value else 'negative'}")
            path = resolve_image(root, relative)
            if path is None:
                report.add("missing_files", f"{where}: image '{relative}' not found; row skipped")
                continue
            records.append(Record(path, positive if value == 1.0 else 0, patient_of(relative)))
    records = limit_records(records, options.max_samples, options.split_seed)
    rules = {
        "observation": options.observation, "uncertainty": f"U-{options.uncertainty.capitalize()}",
        "blank": options.blank, "frontal_only": options.frontal_only,
        "splits": f"testing = valid.csv; validation = {options.val_fraction:g} of train.csv patients "
                  f"(seed {options.split_seed}); training = the other train.csv patients",
    }
    return LabelledSplit(kind="chexpert", root=root, split=split, modality="xray",
                         classes=chexpert_classes(options.observation),
                         alert_class=options.alert_class or observation_slug(options.observation),
                         records=records, report=report, rules=rules)
