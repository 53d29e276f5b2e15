"""A short plain-language summary of an explanation: where the attribution lies and how concentrated it is."""

from __future__ import annotations

from typing import Any

import numpy as np

from xaiscope.views.audio import AudioView


def concentration(attribution: np.ndarray, top_fraction: float = 0.1) -> float:
    """Share of the positive attribution held by the ``top_fraction`` of pixels with most of it (0..1)."""
    positive = np.clip(attribution, 0, None).ravel()
    total = positive.sum()
    if total <= 0:
        return 0.0
    count = max(1, round(top_fraction * positive.size))
    return float(np.sort(positive)[-count:].sum() / total)


def _spread_words(share: float) -> str:
    if share >= 0.6:
        return "concentrated"
    if share >= 0.3:
        return "moderately spread"
    return "diffuse"


def _region_words(attribution: np.ndarray) -> str:
    """Where the positive attribution's mass lies on a 3 x 3 grid of the image."""
    positive = np.clip(attribution, 0, None)
    height, width = positive.shape
    cells = {}
    for row, vertical in enumerate(("upper", "middle", "lower")):
        for column, horizontal in enumerate(("left", "centre", "right")):
            block = positive[row * height // 3:(row + 1) * height // 3, column * width // 3:(column + 1) * width // 3]
            cells[f"{vertical} {horizontal}"] = float(block.sum())
    total = sum(cells.values())
    ranked = sorted(cells.items(), key=lambda item: item[1], reverse=True)[:2]
    return ", ".join(f"the {name} of the image ({value / total:.0%})" for name, value in ranked)


def summarise(explanation: Any, audio_view: AudioView | None = None) -> str:
    """Two or three sentences describing ``explanation`` for a person.

    Args:
        explanation: an :class:`~xaiscope.explainers.Explanation`.
        audio_view: its :class:`AudioView` for a recording (adds time ranges and frequency bands).
    """
    attribution = explanation.attribution if audio_view is None else audio_view.plane.values
    label = explanation.label
    head = (f"{label} explains '{explanation.target_class}' (P={explanation.target_probability:.2f}) "
            f"with {explanation.model_calls} model call{'s' if explanation.model_calls != 1 else ''}.")
    positive = np.clip(attribution, 0, None).sum()
    negative = np.clip(-attribution, 0, None).sum()
    if positive <= 0:
        return head + " No part of the input raises the score of this class: the map is empty."
    share = concentration(attribution)
    where = "of the time-frequency plane" if audio_view is not None else "of the picture"
    parts = [head, f"The evidence for it is {_spread_words(share)}: the top 10% {where} holds {share:.0%}."]
    if audio_view is not None:
        ranges = audio_view.top_time_ranges(2)
        bands = audio_view.top_frequency_bands(2)
        if ranges:
            parts.append("It lies mostly at " + " and ".join(
                f"{span.low:.2f}–{span.high:.2f} s ({span.share:.0%})" for span in ranges) + ", in " + " and ".join(
                f"{span.low:.0f}–{span.high:.0f} Hz ({span.share:.0%})" for span in bands) + ".")
    else:
        parts.append(f"It lies mostly in {_region_words(attribution)}.")
    if negative > 0.05 * (positive + negative):
        parts.append(f"{negative / (positive + negative):.0%} of the attribution speaks against the class.")
    return " ".join(parts)
