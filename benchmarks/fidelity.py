"""Shared pieces of the fidelity benchmarks (``fidelity_calls.py``, ``explain_speed.py``, ``gpu_check.sh``).

* :func:`demo_inputs`: deterministic model inputs for the two bundled demo models, never downloaded: for audio the
  bundled recordings and variants of them (added noise, a time shift, a gain change); for X-rays the bundled pictures
  and synthetic chests drawn by ``tools/demo/chest.py`` (real lung masks shipped in torchxrayvision; half of them with
  opacities), with plain synthetic chests as fallback when torchxrayvision is absent.
* :func:`attribution`: one method's ``(H, W)`` map of one input, with the seconds and the precision it ran at.
* :func:`deletion_auc`: the product's deletion metric (``xaiscope.evaluation.faithfulness``, MoRF, blur, 16-px blocks,
  20 steps), scored at fp32 whatever the model's policy, so precisions and call budgets are compared on one scale.
* :func:`compare`: Spearman rank correlation with a reference map and the deletion-AUC difference.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xaiscope.evaluation.base import Case
from xaiscope.evaluation.faithfulness import DeletionMetric, curve_area, perturbation_curve
from xaiscope.explainers import get_method
from xaiscope.inputs import load_input
from xaiscope.inputs.bundled import bundled_samples
from xaiscope.maps.similarity import rank_correlation
from xaiscope.models import Model
from xaiscope.preprocessing import window_input


@dataclass(frozen=True)
class BenchInput:
    """One model input: ``tensor`` ``(1, 3, 224, 224)``, the class explained (the predicted one) and a name."""

    name: str
    tensor: torch.Tensor
    target: int


@dataclass(frozen=True)
class Fidelity:
    """A map against its reference: Spearman rank correlation and deletion AUCs (lower = more faithful)."""

    rank: float
    auc: float
    reference_auc: float

    @property
    def auc_difference(self) -> float:
        return self.auc - self.reference_auc


def _wav(signal: np.ndarray, rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.clip(signal, -1, 1).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _audio_samples(count: int) -> list[Any]:
    """The bundled recordings, then variants of each (noise at 30 dB SNR, a 0.3 s circular shift, gain 0.5)."""
    import soundfile

    originals = [sample for sample in bundled_samples() if sample.modality == "audio"]
    samples: list[Any] = []
    rng = np.random.default_rng(0)
    for variant in ("original", "noise", "shift", "gain"):
        for bundled in originals:
            if variant == "original":
                samples.append(load_input(bundled.path))
                continue
            signal, rate = soundfile.read(bundled.path, dtype="float32", always_2d=True)
            mono = signal.mean(axis=1)
            if variant == "noise":
                power = float(np.mean(mono ** 2))
                mono = mono + rng.standard_normal(len(mono)).astype(np.float32) * np.sqrt(power / 1000)
            elif variant == "shift":
                mono = np.roll(mono, int(0.3 * rate))
            else:
                mono = mono * 0.5
            samples.append(load_input(_wav(mono, rate), name=f"{bundled.path.stem}_{variant}.wav"))
    return samples[:count]


def _xray_samples(count: int) -> list[Any]:
    """The bundled X-rays (the mask picture left out), then synthetic chests, alternately normal and opaque."""
    samples = [load_input(sample.path) for sample in bundled_samples()
               if sample.modality == "xray" and "mask" not in sample.path.name]
    rng = np.random.default_rng(1)
    try:
        from tools.demo.chest import chest_picture, load_masks

        masks = [mask.mask for mask in load_masks()]
        index = 0
        while len(samples) < count:
            image, _ = chest_picture(masks[(7 * index) % len(masks)], rng, opacities=index % 2 + (index % 4 == 3))
            samples.append(load_input(_png(image), name=f"chest_{index}.png"))
            index += 1
    except Exception:  # torchxrayvision absent: plain ellipse chests, still deterministic
        rows, cols = np.mgrid[0:256, 0:256] / 256.0
        index = 0
        while len(samples) < count:
            lungs = ((((cols - 0.32) / 0.14) ** 2 + ((rows - 0.5) / 0.3) ** 2) < 1) | \
                ((((cols - 0.68) / 0.14) ** 2 + ((rows - 0.5) / 0.3) ** 2) < 1)
            image = 0.7 - 0.4 * lungs + 0.05 * rng.standard_normal((256, 256))
            if index % 2:
                blob = ((cols - rng.uniform(0.25, 0.75)) ** 2 + (rows - rng.uniform(0.3, 0.7)) ** 2) < 0.005
                image = image + 0.3 * blob
            samples.append(load_input(_png((np.clip(image, 0, 1) * 255).astype(np.uint8)), name=f"chest_{index}.png"))
            index += 1
    return samples[:count]


def demo_inputs(model: Model, count: int) -> list[BenchInput]:
    """``count`` inputs of ``model``'s modality: the decisive window of each sample, explained for its verdict."""
    samples = _audio_samples(count) if model.card.modality == "audio" else _xray_samples(count)
    inputs = []
    for sample in samples:
        prediction = model.predict(sample)
        window = prediction.decisive_window or 0
        tensor = window_input(sample, model.card.preprocessing, window).tensor
        inputs.append(BenchInput(sample.name, tensor, model.classes.index(prediction.label)))
    return inputs


@contextlib.contextmanager
def reduced_allowed(method_name: str, allowed: bool) -> Iterator[None]:
    """Run ``method_name`` reduced (or not) whatever it declares, for a measurement; restored afterwards."""
    cls = type(get_method(method_name))
    saved = cls.reduced_precision_ok
    cls.reduced_precision_ok = allowed
    try:
        yield
    finally:
        cls.reduced_precision_ok = saved


def attribution(model: Model, method_name: str, item: BenchInput, params: dict[str, Any] | None = None,
                seed: int = 0) -> tuple[np.ndarray, float, str]:
    """One method's map of one input: ``(H, W)`` float32, seconds, and the precision it ran at."""
    method = get_method(method_name)
    values = method.resolve_params(dict(params or {}))
    started = time.perf_counter()
    with model.lock:
        result = method.attribute(model, item.tensor, item.target, values, seed)
    seconds = time.perf_counter() - started
    return (np.nan_to_num(np.asarray(result.attribution, np.float32)), seconds,
            str(result.extras.get("precision", "fp32")))


def deletion_auc(model: Model, method_name: str, item: BenchInput, attribution_map: np.ndarray) -> float:
    """The deletion AUC (the ``deletion`` metric's defaults) of ``attribution_map``, scored at fp32."""
    metric = DeletionMetric()
    params = metric.resolve_params({})
    case = Case(model=model, sample=None, method=get_method(method_name), method_params={}, inputs=item.tensor,
                attribution=attribution_map, target=item.target, seed=0)
    with model.forward_precision(reduced_ok=False):
        curve = perturbation_curve(case, params, insertion=False, most_relevant_first=True)
    return curve_area(curve)


def compare(model: Model, method_name: str, item: BenchInput, candidate: np.ndarray, reference: np.ndarray,
            reference_auc: float | None = None) -> Fidelity:
    """``candidate`` against ``reference``: rank correlation and both deletion AUCs."""
    rank = rank_correlation(candidate, reference)
    auc = deletion_auc(model, method_name, item, candidate)
    base = deletion_auc(model, method_name, item, reference) if reference_auc is None else reference_auc
    return Fidelity(float(rank), auc, base)


def summarise(fidelities: list[Fidelity]) -> dict[str, float]:
    """Means over inputs (NaN rank correlations, from constant maps, left out of the mean and counted)."""
    ranks = np.array([f.rank for f in fidelities], dtype=np.float64)
    return {
        "rank": float(np.nanmean(ranks)) if np.isfinite(ranks).any() else float("nan"),
        "rank_min": float(np.nanmin(ranks)) if np.isfinite(ranks).any() else float("nan"),
        "constant": float(np.isnan(ranks).sum()),
        "auc": float(np.mean([f.auc for f in fidelities])),
        "reference_auc": float(np.mean([f.reference_auc for f in fidelities])),
        "auc_difference": float(np.mean([f.auc_difference for f in fidelities])),
        "auc_abs_difference": float(np.mean([abs(f.auc_difference) for f in fidelities])),
    }
