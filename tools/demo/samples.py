"""Export the shipped samples into ``xaiscope/bundled_samples`` with their ``samples.json`` manifest.

Audio and X-ray samples are held-out corpus files (test split): for each kind the one the demo model gets right
with the highest confidence, so that the demo shows a clear case. The real radiograph is pydicom-data's
``RG1_UNCI.dcm``, reduced 4x and rewritten as a new DICOM file with only the attributes an image needs: no
patient, institution, device or date attribute is copied, and new UIDs are made.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from xaiscope.inputs.bundled import SAMPLES_DIR

#: Byte budget of every shipped sample together.
SAMPLES_BUDGET = 5 * 1024 * 1024


def _best(model: Any, corpus: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The row whose file the model classifies right with the highest probability."""
    from xaiscope.inputs import load_input

    best, best_p = rows[0], -1.0
    for row in rows:
        prediction = model.predict(load_input(corpus / row["file"]))
        probability = prediction.probabilities[row["label"]]
        if prediction.label == row["label"] and probability > best_p:
            best, best_p = row, probability
    return best


def _rows(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def reduced_dicom(target: Path, factor: int = 4) -> None:
    """Write ``RG1_UNCI.dcm`` reduced ``factor`` times (block mean) as a new, identifier-free DICOM file."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    source = pydicom.dcmread(get_testdata_file("RG1_UNCI.dcm"))
    pixels = source.pixel_array.astype(np.float64)
    rows, cols = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    small = pixels[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))
    small = np.round(small).astype(np.uint16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = source.SOPClassUID
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=["xaiscope-demo", "RG1_UNCI", "instance"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.SOPClassUID = source.SOPClassUID
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=["xaiscope-demo", "RG1_UNCI", "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=["xaiscope-demo", "RG1_UNCI", "series"])
    dataset.Modality = source.Modality
    dataset.BodyPartExamined = "CHEST"
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = "xaiscope demo builder: image attributes only, reduced 4x, new UIDs"
    dataset.ImageComments = "Reduced copy of pydicom-data RG1_UNCI.dcm for the xaiscope demo"
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = source.PhotometricInterpretation
    dataset.Rows, dataset.Columns = small.shape
    dataset.BitsAllocated = 16
    dataset.BitsStored = source.BitsStored
    dataset.HighBit = source.HighBit
    dataset.PixelRepresentation = 0
    for keyword in ("WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope", "ViewPosition"):
        if keyword in source:
            setattr(dataset, keyword, source.data_element(keyword).value)
    if "PixelSpacing" in source:
        dataset.PixelSpacing = [float(value) * factor for value in source.PixelSpacing]
    dataset.PixelData = small.tobytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    dataset.save_as(target, enforce_file_format=True)


def export_samples(audio_model: Any, xray_model: Any, audio_corpus: Path, xray_corpus: Path,
                   partial_choice: dict[str, Any], opacity_choice: dict[str, Any],
                   directory: Path = SAMPLES_DIR) -> list[dict[str, Any]]:
    """Copy the chosen samples and write ``samples.json``; returns its entries.

    Args:
        audio_model, xray_model: the exported demo models (to choose clear held-out cases).
        audio_corpus, xray_corpus: the corpus folders.
        partial_choice: the partially fake test clip to ship (a row of ``partial/manifest.jsonl``).
        opacity_choice: the opacity test picture to ship (a row of the X-ray manifest).
        directory: where to write.
    """
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "audio").mkdir(parents=True)
    (directory / "xray").mkdir(parents=True)
    audio_rows = [row for row in _rows(audio_corpus) if row["split"] == "testing"]
    entries = []
    real = _best(audio_model, audio_corpus, [r for r in audio_rows if r["label"] == "real"
                                             and r["source"] == "pocketsphinx"])
    picks = [("real_speech.wav", real, "Real speech",
              f"A held-out real recording ({real['group']}, from Debian pocketsphinx-testdata), "
              f"augmented: {', '.join(real['augmentation'])}.")]
    for source, title, words in (("piper", "Synthetic speech (neural TTS)", "the piper neural voice 'joe'"),
                                 ("codec2-vocoded", "Vocoded speech", "real speech re-synthesised by codec2"),
                                 ("flite", "Synthetic speech (flite)", "flite's held-out voice 'slt'")):
        row = _best(audio_model, audio_corpus, [r for r in audio_rows if r["source"] == source])
        picks.append((f"fake_{source.split('-')[0]}.wav", row, title,
                      f"A held-out synthetic clip: {words}; augmented: {', '.join(row['augmentation'])}."))
    for name, row, title, description in picks:
        shutil.copyfile(audio_corpus / row["file"], directory / "audio" / name)
        entries.append({"file": f"audio/{name}", "modality": "audio", "title": title, "description": description,
                        "ground_truth": {"label": row["label"]}})
    shutil.copyfile(audio_corpus / partial_choice["file"], directory / "audio" / "partially_fake.wav")
    start, end = partial_choice["fake_interval"]
    entries.append({"file": "audio/partially_fake.wav", "modality": "audio", "title": "Partially fake speech",
                    "description": f"Real held-out speech with a synthetic passage ({partial_choice['engine']}) "
                                   f"spliced in from {start:.2f} s to {end:.2f} s.",
                    "ground_truth": {"label": "fake", "fake_interval": [start, end]}})
    xray_rows = [row for row in _rows(xray_corpus) if row["split"] == "testing"]
    normal = _best(xray_model, xray_corpus, [r for r in xray_rows if r["label"] == "no_opacity"])
    shutil.copyfile(xray_corpus / normal["file"], directory / "xray" / "synthetic_normal.png")
    entries.append({"file": "xray/synthetic_normal.png", "modality": "xray", "title": "Synthetic chest, no opacity",
                    "description": "A held-out synthetic chest-like picture (lung fields from a real lung mask, "
                                   "everything else drawn), without opacity.",
                    "ground_truth": {"label": "no_opacity"}})
    shutil.copyfile(xray_corpus / opacity_choice["file"], directory / "xray" / "synthetic_opacity.png")
    shutil.copyfile(xray_corpus / opacity_choice["lesion"], directory / "xray" / "synthetic_opacity_mask.png")
    entries.append({"file": "xray/synthetic_opacity.png", "modality": "xray", "title": "Synthetic chest with opacity",
                    "description": "A held-out synthetic chest-like picture with an inserted opacity; its lesion mask "
                                   "is xray/synthetic_opacity_mask.png.",
                    "ground_truth": {"label": "opacity", "mask": "xray/synthetic_opacity_mask.png"}})
    reduced_dicom(directory / "xray" / "real_chest_RG1_reduced.dcm")
    entries.append({"file": "xray/real_chest_RG1_reduced.dcm", "modality": "xray",
                    "title": "Real chest radiograph (DICOM)",
                    "description": "A real PA chest radiograph (pydicom-data RG1_UNCI.dcm, CR, MONOCHROME1), reduced "
                                   "4x and rewritten without identifiers. No diagnosis is known for it: the demo "
                                   "model, trained on synthetic pictures only, is not meant for it.",
                    "ground_truth": {}})
    (directory / "samples.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    return entries
