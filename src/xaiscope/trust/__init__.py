"""Honest verdicts: input checks, familiarity (applicability) and calibration of a model's predictions.

* :mod:`.checks`, :mod:`.audio_checks`, :mod:`.xray_checks`: cheap checks before the model runs.
* :mod:`.embeddings`, :mod:`.familiarity`: distance of an input to the training data in the model's own
  feature space, with thresholds at validation percentiles.
* :mod:`.calibration`: temperature scaling, expected calibration error, reliability diagrams.
* :mod:`.fit`: computes all of it for a model from a labelled data set (``xaiscope calibrate``, training).
* :mod:`.verdict`: what ``Model.predict`` calls.

Names are imported on first use (:mod:`xaiscope.lazy`).
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.trust.calibration import apply_temperature, fit_temperature, reliability, reliability_diagram
    from xaiscope.trust.checks import Check
    from xaiscope.trust.familiarity import Reference
    from xaiscope.trust.verdict import Assessment, assess, check_input, watch

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
