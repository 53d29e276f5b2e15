"""The offline demo: a small corpus built from sources that install offline, two demo models trained on it, and
the samples shipped with the package.

``python -m tools.demo build`` (:func:`tools.demo.build.build_demo`) runs every step with a fixed seed:

1. :mod:`.audio_corpus`: real speech (Debian ``pocketsphinx-testdata`` and ``codec2-examples``), synthetic speech
   (piper with the ``joe`` voice, flite, espeak-ng, codec2 vocoding of the real speech), augmented and cut to
   the model's window; partially fake clips with their fake interval;
2. :mod:`.xray_corpus`: synthetic chest-like images shaped by real lung masks, with and without inserted
   opacities, each opacity with its ground-truth mask;
3. :mod:`.models`: one audio and one X-ray model trained with ``xaiscope train``, evaluated per source on
   held-out sources, exported to ``xaiscope/bundled_models`` with honest cards;
4. :mod:`.samples`: a handful of samples with their ground truth exported to ``xaiscope/bundled_samples``.

Nothing here runs when the product is used: it is a development command, with its own optional dependencies
(the ``demo`` extra) and Debian packages (checked by :mod:`.tools`).
"""

from __future__ import annotations

from xaiscope.errors import XaiscopeError


class DemoBuildError(XaiscopeError):
    """The demo cannot be built: a build-time source or tool is missing, or a step failed."""


__all__ = ["DemoBuildError"]
