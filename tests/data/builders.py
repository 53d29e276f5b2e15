"""Tiny data sets laid out exactly like FoR and CheXpert-v1.0-small, generated in the test (no downloads)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from tests.conftest import chest_image, tone

CHEXPERT_COLUMNS = (
    "Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
    "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
    "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices",
)

#: train.csv rows: (patient number, view, Lung Opacity cell, what the file is). Hand-counted expectations:
#: bad rows 2 (label "2.0"; no Path), missing file 1 (patient 9), uncertain 3 (rows of patients 3, 3, 12),
#: blank 2 (patients 4, 6-lateral), laterals 3 (patients 1, 3, 6), corrupt image 1 (patient 7, label 1).
#: U-Ignore + blank negative: 5 positive, 5 negative. U-Zeros: 5 / 8. U-Ones: 8 / 5. Blank ignored: 5 / 3.
#: Frontal only (U-Ignore, blank negative): 4 / 4, 3 laterals dropped, 2 uncertain dropped.
TRAIN_ROWS: tuple[tuple[int, str, str, str], ...] = (
    (1, "Frontal", "1.0", "image"),
    (1, "Lateral", "1.0", "image"),
    (2, "Frontal", "0.0", "image"),
    (3, "Frontal", "-1.0", "image"),
    (3, "Lateral", "-1.0", "image"),
    (4, "Frontal", "", "image"),
    (5, "Frontal", "1.0", "image"),
    (6, "Frontal", "0.0", "image"),
    (6, "Lateral", "", "image"),
    (7, "Frontal", "1.0", "corrupt"),
    (8, "Frontal", "2.0", "image"),
    (0, "Frontal", "1.0", "no-path"),
    (9, "Frontal", "0.0", "missing"),
    (10, "Frontal", "1.0", "image"),
    (11, "Frontal", "0.0", "image"),
    (12, "Frontal", "-1.0", "image"),
)
#: valid.csv rows (the testing split): 2 positive, 2 negative, one of them lateral.
VALID_ROWS: tuple[tuple[int, str, str, str], ...] = (
    (64541, "Frontal", "1.0", "image"),
    (64542, "Frontal", "0.0", "image"),
    (64543, "Frontal", "1.0", "image"),
    (64544, "Lateral", "0.0", "image"),
)


def fake_clip(seconds: float, seed: int, rate: int = 16000) -> np.ndarray:
    """'Fake' speech for tests: band-limited noise bursts, shape ``(n,)``."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(round(seconds * rate)).astype(np.float32)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * np.arange(len(noise)) / rate)
    return (0.2 * noise * envelope).astype(np.float32)


def write_wav(path: Path, signal: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, signal, rate, subtype="PCM_16")


def make_for(root: Path, counts: dict[str, int] | None = None, *, seconds: tuple[float, ...] = (0.6, 1.0, 1.7),
             corrupt: bool = False, rate: int = 16000) -> Path:
    """A FoR-like tree ``root/{training,validation,testing}/{fake,real}/*.wav``.

    Args:
        counts: clips per class in each split (default 6 / 3 / 3).
        seconds: clip lengths, used in turn (longer than a 1-second window gives several windows).
        corrupt: add ``training/fake/broken.wav`` (a RIFF header and garbage) and a ``README.txt``.
    """
    counts = counts or {"training": 6, "validation": 3, "testing": 3}
    for split_number, (split, count) in enumerate(counts.items()):
        for index in range(count):
            length = seconds[index % len(seconds)]
            seed = 1000 * split_number + index
            write_wav(root / split / "fake" / f"fake_{index:03d}.wav", fake_clip(length, seed, rate), rate)
            frequency = 220.0 + 90.0 * index + 17.0 * split_number
            write_wav(root / split / "real" / f"real_{index:03d}.wav",
                      tone(length, rate, frequency=frequency, seed=seed), rate)
    if corrupt:
        (root / "training" / "fake" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + b"\x00" * 40)
        (root / "training" / "real" / "README.txt").write_text("not audio")
    return root


def jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _radiograph(positive: bool, seed: int) -> np.ndarray:
    image = chest_image(96, 80, seed=seed)
    if positive:  # an "opacity": a bright patch over the left lung
        rows, cols = np.mgrid[0:96, 0:80]
        image = np.clip(image + 0.6 * np.exp(-(((rows - 48) / 14) ** 2 + ((cols - 26) / 10) ** 2)), 0, 1)
    return image.astype(np.float32)


def _write_csv(root: Path, name: str, folder: str, rows: tuple[tuple[int, str, str, str], ...]) -> None:
    lines = [",".join(CHEXPERT_COLUMNS)]
    for number, (patient, view, opacity, kind) in enumerate(rows):
        view_number = 2 if view == "Lateral" else 1
        relative = f"{root.name}/{folder}/patient{patient:05d}/study1/view{view_number}_{view.lower()}.jpg"
        path = root.parent / relative
        if kind == "image":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(jpeg_bytes(_radiograph(opacity in ("1.0", "-1.0"), seed=number + patient)))
        elif kind == "corrupt":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x13" * 64)
        cells = {column: "" for column in CHEXPERT_COLUMNS}
        cells.update({"Path": "" if kind == "no-path" else relative, "Sex": "Female", "Age": "61",
                      "Frontal/Lateral": view, "AP/PA": "AP" if view == "Frontal" else "", "Lung Opacity": opacity,
                      "Support Devices": "1.0", "No Finding": "" if opacity else "1.0"})
        lines.append(",".join(cells[column] for column in CHEXPERT_COLUMNS))
    (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_chexpert(parent: Path, train_rows=TRAIN_ROWS, valid_rows=VALID_ROWS) -> Path:
    """``parent/CheXpert-v1.0-small`` with train.csv, valid.csv and the JPEGs they name (see :data:`TRAIN_ROWS`)."""
    root = parent / "CheXpert-v1.0-small"
    root.mkdir(parents=True, exist_ok=True)
    _write_csv(root, "train.csv", "train", train_rows)
    _write_csv(root, "valid.csv", "valid", valid_rows)
    return root
