"""Cheap checks of a radiograph, before the model runs.

* **DICOM attributes** (non-identifying tags only, read by :mod:`xaiscope.inputs.xray`): ``Modality`` must be a
  projection radiograph (``CR`` or ``DX``); CT, MR, ultrasound and the others are named. ``BodyPartExamined``,
  when present, must be the chest; ``ViewPosition``, when present, one of the training views.
* **Does a PNG/JPEG look like a radiograph?** Measured on the decoded picture, at most 256 pixels on a side:
  *colour* (mean HSV saturation before the reduction to gray; a radiograph has none), *aspect ratio* (chest
  films and detectors are between 0.6 and 1.7), *smoothness* (correlation of neighbouring pixels: above 0.8 for
  radiographs, about 0 for noise), and the *histogram* (a radiograph uses a wide range of gray levels; an image
  that is mostly pure black and white, or nearly flat, is not one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from xaiscope.inputs.sample import XraySample
from xaiscope.trust.checks import Check, not_applicable, ok, warning

#: DICOM modality codes spelled out, for messages.
MODALITY_NAMES = {
    "CR": "computed radiography", "DX": "digital radiography", "CT": "computed tomography",
    "MR": "magnetic resonance", "US": "ultrasound", "MG": "mammography", "NM": "nuclear medicine",
    "PT": "PET", "XA": "X-ray angiography", "RF": "fluoroscopy", "OT": "other", "SC": "secondary capture",
    "IO": "intra-oral radiography", "PX": "panoramic dental X-ray", "OP": "ophthalmic photography",
}

#: What a card without a stored range is checked against (chest radiographs, frontal or lateral).
DEFAULT_XRAY_RANGE: dict[str, Any] = {
    "dicom_modalities": ["CR", "DX"],
    "body_parts": ["CHEST", "THORAX", "LUNG"],
    "views": ["PA", "AP", "LL", "RL", "LATERAL", "LAT"],
    "max_colour_saturation": 0.1,
    "aspect_ratio": [0.6, 1.7],
    "min_smoothness": 0.8,
    "max_extreme_share": 0.6,
    "min_gray_spread": 0.15,
    "source": "xaiscope defaults for chest radiographs (no training range stored in the card)",
}


def picture_measurements(sample: XraySample) -> dict[str, float]:
    """Aspect ratio, smoothness, share of pure black/white pixels and gray spread of the decoded picture.

    Smoothness is the Pearson correlation of horizontally and vertically neighbouring pixels (averaged) on a copy
    at most 256 pixels on a side; gray spread is the 99th minus the 1st percentile of gray levels in [0, 1].
    """
    image = sample.image
    height, width = image.shape
    small = Image.fromarray(np.round(image * 255).astype(np.uint8))
    small.thumbnail((256, 256), Image.Resampling.BOX)
    pixels = np.asarray(small, dtype=np.float64) / 255.0
    correlations = []
    for first, second in ((pixels[:, :-1], pixels[:, 1:]), (pixels[:-1, :], pixels[1:, :])):
        if first.std() > 0 and second.std() > 0:
            correlations.append(float(np.corrcoef(first.ravel(), second.ravel())[0, 1]))
    low, high = np.percentile(pixels, [1, 99])
    return {"aspect_ratio": round(width / height, 3),
            "smoothness": round(float(np.mean(correlations)) if correlations else 1.0, 4),
            "extreme_share": round(float(np.mean((pixels <= 1 / 255) | (pixels >= 254 / 255))), 4),
            "gray_spread": round(float(high - low), 4),
            "colour_saturation": float(sample.metadata.get("colour_saturation", 0.0) or 0.0)}


def check_xray(sample: XraySample, input_range: dict[str, Any] | None) -> list[Check]:
    """Run every X-ray check against the card's range (or :data:`DEFAULT_XRAY_RANGE`).

    Returns:
        One :class:`Check` per property: DICOM modality, body part, view, colour, aspect ratio, smoothness,
        histogram.
    """
    expected = {**DEFAULT_XRAY_RANGE, **(input_range or {})}
    metadata = sample.metadata
    checks: list[Check] = []
    is_dicom = sample.source_format == "dicom"
    modalities = [str(m).upper() for m in expected["dicom_modalities"]]
    wanted = " or ".join(modalities)
    if not is_dicom:
        checks.append(not_applicable("DICOM modality", f"none ({sample.source_format} file)", wanted))
    else:
        code = str(metadata.get("dicom_modality", "")).strip().upper()
        if not code:
            checks.append(warning("DICOM modality", "not stated", wanted,
                                  "The DICOM file does not state its Modality, so it may not be a projection "
                                  "radiograph. Check it is a chest X-ray (CR or DX) before trusting the verdict."))
        elif code not in modalities:
            name = MODALITY_NAMES.get(code, "not a projection radiograph")
            checks.append(warning("DICOM modality", f"{code} ({name})", wanted,
                                  f"This DICOM file is {code} ({name}), not a projection radiograph "
                                  f"({wanted}). The model learned from chest X-rays only; its verdict on a "
                                  f"{code} image means nothing. Use the chest radiograph itself."))
        else:
            checks.append(ok("DICOM modality", f"{code} ({MODALITY_NAMES.get(code, code)})", wanted))
    parts = [str(p).upper() for p in expected["body_parts"]]
    part = str(metadata.get("body_part", "")).strip().upper()
    if not is_dicom or not part:
        checks.append(not_applicable("body part", "not stated", parts[0].lower()))
    elif part not in parts:
        checks.append(warning("body part", part.lower(), parts[0].lower(),
                              f"The DICOM file says the body part examined is '{part.lower()}', not the chest. "
                              "The model only learned chest radiographs; its verdict on this image means nothing."))
    else:
        checks.append(ok("body part", part.lower(), parts[0].lower()))
    views = [str(v).upper() for v in expected["views"]]
    view = str(metadata.get("view_position", "")).strip().upper()
    if not is_dicom or not view:
        checks.append(not_applicable("view", "not stated", "/".join(views)))
    elif view not in views:
        checks.append(warning("view", view, "/".join(views),
                              f"The view position is {view}, which the model's training data did not contain "
                              f"({'/'.join(views)}). Treat the verdict with care."))
    else:
        checks.append(ok("view", view, "/".join(views)))
    found = picture_measurements(sample)
    limit = float(expected["max_colour_saturation"])
    saturation = found["colour_saturation"]
    if saturation > limit:
        checks.append(warning("colour", f"saturation {saturation:.2f}", f"<= {limit:.2f} (gray)",
                              f"The picture is in colour (mean saturation {saturation:.2f}); a radiograph is gray. "
                              "It looks like a photograph or a drawing, not an X-ray: the verdict means nothing."))
    else:
        checks.append(ok("colour", f"saturation {saturation:.2f}", f"<= {limit:.2f} (gray)"))
    low, high = (float(v) for v in expected["aspect_ratio"])
    aspect = found["aspect_ratio"]
    if not low <= aspect <= high:
        checks.append(warning("aspect ratio", f"{aspect:.2f}", f"{low:g} to {high:g}",
                              f"The picture's width/height ratio is {aspect:.2f}, unlike a chest film "
                              f"({low:g} to {high:g}); it may be cropped, a collage or not a chest X-ray. It is "
                              "stretched to a square for the model."))
    else:
        checks.append(ok("aspect ratio", f"{aspect:.2f}", f"{low:g} to {high:g}"))
    minimum = float(expected["min_smoothness"])
    smooth = found["smoothness"]
    if smooth < minimum:
        checks.append(warning("smoothness", f"{smooth:.2f}", f">= {minimum:.2f}",
                              f"Neighbouring pixels are hardly related (correlation {smooth:.2f}; radiographs "
                              f"have >= {minimum:.2f}): the picture looks like noise or a heavily textured image, "
                              "not a radiograph. The verdict means nothing."))
    else:
        checks.append(ok("smoothness", f"{smooth:.2f}", f">= {minimum:.2f}"))
    extreme, spread = found["extreme_share"], found["gray_spread"]
    max_extreme, min_spread = float(expected["max_extreme_share"]), float(expected["min_gray_spread"])
    value = f"{extreme:.0%} pure black/white, gray spread {spread:.2f}"
    wanted_hist = f"<= {max_extreme:.0%} pure black/white, spread >= {min_spread:.2f}"
    if extreme > max_extreme or spread < min_spread:
        checks.append(warning("histogram", value, wanted_hist,
                              "The picture's gray levels are unlike a radiograph's (mostly pure black and white, "
                              "or nearly flat): it may be a document, a mask or a blank image."))
    else:
        checks.append(ok("histogram", value, wanted_hist))
    return checks
