"""Honest verdicts: input checks, familiarity (applicability) and calibration of a model's predictions.

* :mod:`.checks`, :mod:`.audio_checks`, :mod:`.xray_checks`: cheap checks before the model runs.
* :mod:`.embeddings`, :mod:`.familiarity`: distance of an input to the training data in the model's own
  feature space, with thresholds at validation percentiles.
* :mod:`.calibration`: temperature scaling, expected calibration error, reliability diagrams.
* :mod:`.fit`: computes all of it for a model from a labelled data set (``xaiscope calibrate``, training).
* :mod:`.verdict`: what ``Model.predict`` calls.
"""

from xaiscope.trust.calibration import apply_temperature, fit_temperature, reliability, reliability_diagram
from xaiscope.trust.checks import Check
from xaiscope.trust.familiarity import Reference
from xaiscope.trust.verdict import Assessment, assess, check_input, watch

__all__ = ["Assessment", "Check", "Reference", "apply_temperature", "assess", "check_input", "fit_temperature",
           "reliability", "reliability_diagram", "watch"]
