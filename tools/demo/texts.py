"""Sentences for the speech synthesizers, written for this project (no third-party text).

Each split draws its sentences from its own disjoint set, so no sentence is spoken in both training and test.
"""

from __future__ import annotations

import numpy as np

_SUBJECTS = ("The old sailor", "A young doctor", "My neighbour", "The small boy", "Our teacher", "The tired driver",
             "A quiet woman", "The baker", "Her brother", "The new pilot", "An honest farmer", "The night nurse",
             "A careful painter", "The station guard", "His grandmother", "The music student")
_VERBS = ("carried", "painted", "found", "lost", "opened", "cleaned", "checked", "brought", "repaired", "described",
          "counted", "borrowed", "measured", "forgot", "ordered", "noticed")
_OBJECTS = ("a heavy wooden box", "the broken window", "seven green bottles", "the letter from Spain",
            "a map of the valley", "the silver key", "two loaves of bread", "the yellow umbrella", "a basket of plums",
            "the last train ticket", "an old brass lamp", "the kitchen clock", "a pair of blue gloves",
            "the garden gate", "three paper boats", "the evening newspaper")
_PLACES = ("before the storm arrived", "near the harbour wall", "at the end of the week", "in the morning light",
           "behind the village school", "after the long meeting", "under the bridge", "beside the frozen lake",
           "during the summer fair", "on the way to the market", "late in the afternoon", "at the top of the hill")


def sentences(count: int, seed: int, part: int, parts: int = 3) -> list[str]:
    """``count`` distinct sentences of split ``part`` out of ``parts`` disjoint sets (seeded).

    The sets are disjoint because each takes a different subject list slice.
    """
    subjects = _SUBJECTS[part::parts]
    rng = np.random.default_rng(seed * 1009 + part)
    seen: set[str] = set()
    result: list[str] = []
    while len(result) < count:
        text = (f"{subjects[rng.integers(len(subjects))]} {_VERBS[rng.integers(len(_VERBS))]} "
                f"{_OBJECTS[rng.integers(len(_OBJECTS))]} {_PLACES[rng.integers(len(_PLACES))]}.")
        if text not in seen:
            seen.add(text)
            result.append(text)
    return result
