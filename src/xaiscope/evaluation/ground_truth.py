"""Ground truth in model-input space, and the ``ground_truth.json`` file that states it for a data folder.

* X-ray: a lesion mask, ``(h, w)`` bool at the sample's own resolution. The preprocessing stretches the image to
  the ``S x S`` square (no crop, no letterbox), so the mask is stretched the same way: resized as a float image
  with Pillow's bilinear filter and thresholded at 0.5.
* Audio: a fake time interval ``(start_s, end_s)`` in seconds of the recording, placed on the time-frequency plane of
  the explained window (:meth:`xaiscope.plane.PlaneMap.interval_region`): every band of the frames whose centre lies
  inside the interval and inside the recording. Every audio map is scored there, whatever the model's input kind.

``ground_truth.json`` (beside the files of ``xaiscope evaluate --data DIR``) maps file names to one of::

    {"chest1.png": {"mask": "masks/chest1.png"},          # PNG, same size as the X-ray; nonzero = lesion
     "clip7.wav":  {"fake_interval": [0.8, 1.6]},               # seconds of the recording that are fake
     "clip8.wav":  [0.8, 1.6]}                             # the same, short form
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from xaiscope.evaluation.base import EvaluationError
from xaiscope.inputs.sample import AudioSample, Sample, XraySample
from xaiscope.plane.grid import PlaneMap
from xaiscope.preprocessing import PreprocessingSpec, XraySpec
from xaiscope.preprocessing.spec import XrayGraySpec

GroundTruth = np.ndarray | tuple[float, float]


def mask_to_input(mask: np.ndarray, size: int) -> np.ndarray:
    """``(h, w)`` bool lesion mask at the X-ray's resolution -> ``(size, size)`` bool, stretched like the image."""
    stretched = Image.fromarray(np.asarray(mask, np.float32)).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(stretched) >= 0.5


def region_for(sample: Sample, spec: PreprocessingSpec, window: int, truth: GroundTruth | None,
               plane: PlaneMap | None = None) -> np.ndarray | None:
    """The ground truth of ``sample`` where localisation is scored: an ``(S, S)`` bool region of an X-ray's model
    input, or an ``(n_bands, n_frames)`` region of the recording's ``plane`` (None when the map has none)."""
    if truth is None:
        return None
    if isinstance(sample, AudioSample):
        if isinstance(truth, np.ndarray):
            raise EvaluationError(f"'{sample.name}' is a recording but its ground truth is a mask.",
                                  "Give a fake interval [start_s, end_s] for recordings.")
        start, end = float(truth[0]), float(truth[1])
        if not end > start:
            raise EvaluationError(f"The fake interval [{start}, {end}] of '{sample.name}' is empty.",
                                  "Give [start_s, end_s] with end_s > start_s, in seconds of the recording.")
        return None if plane is None else plane.interval_region(start, end)
    if not isinstance(sample, XraySample) or isinstance(truth, tuple):
        raise EvaluationError(f"The ground truth of '{sample.name}' does not fit its kind of input.",
                              "Give a lesion mask for an X-ray and a fake interval [start_s, end_s] for a recording.")
    if not isinstance(spec, XraySpec | XrayGraySpec):
        raise EvaluationError(f"The model's input is not an X-ray picture, so the lesion mask of '{sample.name}' "
                              "cannot be placed on it.", "Evaluate localisation with an X-ray model.")
    mask = np.asarray(truth)
    if mask.ndim != 2 or mask.shape != sample.image.shape:
        raise EvaluationError(f"The lesion mask of '{sample.name}' has shape {mask.shape}, the X-ray "
                              f"{sample.image.shape}.",
                              "Give a mask of the X-ray's own size (height, width), nonzero = lesion.")
    return mask_to_input(mask.astype(bool), spec.image_size)


def ground_truth_entries(folder: Path) -> dict[str, Any]:
    """The validated entries of ``folder/ground_truth.json`` as written (see the module docstring); {} without one.

    Raises:
        EvaluationError: malformed JSON, or an entry of unknown form.
    """
    path = folder / "ground_truth.json"
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationError(f"{path} is not readable JSON ({error}).",
                              'Write {"file.png": {"mask": "mask.png"}, "clip.wav": [start_s, end_s]}.') from error
    if not isinstance(entries, dict):
        raise EvaluationError(f"{path} must hold one object keyed by file name.", "See `xaiscope evaluate --help`.")
    for name, entry in entries.items():
        if not (isinstance(entry, list) or (isinstance(entry, dict) and ("mask" in entry or "fake_interval" in entry))):
            raise EvaluationError(f"The entry for '{name}' in {path} is neither a mask nor an interval.",
                                  'Use {"mask": "path.png"}, {"fake_interval": [start_s, end_s]} or [start_s, end_s].')
    return entries


def mask_paths(folder: Path) -> set[Path]:
    """The lesion-mask files that ``folder/ground_truth.json`` names (resolved), so they are not taken as inputs."""
    return {(folder / str(entry["mask"])).resolve() for entry in ground_truth_entries(folder).values()
            if isinstance(entry, dict) and "mask" in entry}


def load_ground_truth(folder: Path) -> dict[str, GroundTruth]:
    """Read ``folder/ground_truth.json`` (see the module docstring): file name -> mask or interval; {} without one.

    Raises:
        EvaluationError: malformed JSON, an entry of unknown form, or a missing mask file.
    """
    path = folder / "ground_truth.json"
    truths: dict[str, GroundTruth] = {}
    for name, entry in ground_truth_entries(folder).items():
        if isinstance(entry, dict) and "mask" in entry:
            mask_path = folder / str(entry["mask"])
            try:
                with Image.open(mask_path) as picture:
                    truths[name] = np.asarray(picture.convert("L")) > 0
            except OSError as error:
                raise EvaluationError(f"The lesion mask {mask_path} for '{name}' cannot be read.",
                                      "Give a PNG path relative to the data folder.") from error
        elif isinstance(entry, dict):  # {"fake_interval": [...]}, the key the bundled samples' manifest uses
            truths[name] = _interval(entry["fake_interval"], name, path)
        else:
            truths[name] = _interval(entry, name, path)
    return truths


def _interval(value: Any, name: str, path: Path) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in value)
    except (TypeError, ValueError) as error:
        raise EvaluationError(f"The interval for '{name}' in {path} is not two numbers.",
                              "Write [start_s, end_s] in seconds.") from error
    return start, end
