"""The ``features`` input kind: a recording window through the model's own Hugging Face feature extractor.

The extractor is rebuilt from the class name and ``preprocessor_config.json`` content stored in the card's
:class:`~xaiscope.preprocessing.spec.FeaturesSpec` (nothing is read from the network or the model directory at run
time), once per spec and process.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch

from xaiscope.errors import CardError
from xaiscope.preprocessing.spec import FeaturesSpec

_extractors: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def feature_extractor(spec: FeaturesSpec) -> Any:
    """The ``transformers`` feature extractor the spec names, configured as stored (cached).

    Raises:
        CardError: ``transformers`` is not installed, or the class does not exist in it.
    """
    import json

    key = (spec.extractor, json.dumps(spec.extractor_config, sort_keys=True))
    with _lock:
        if key not in _extractors:
            try:
                import transformers
            except ImportError as error:
                raise CardError("This model's input is computed by a Hugging Face feature extractor, and the "
                                "'transformers' package is not installed.",
                                "Install the extra: pip install 'xaiscope[huggingface]'.") from error
            cls = getattr(transformers, spec.extractor, None)
            if cls is None:
                raise CardError(f"transformers has no feature extractor called '{spec.extractor}'.",
                                "Re-import the model directory with `xaiscope import`.")
            config = {k: v for k, v in spec.extractor_config.items() if k not in ("feature_extractor_type",
                                                                                   "processor_class")}
            _extractors[key] = cls(**config)
        return _extractors[key]


def extract_features(clip: np.ndarray, spec: FeaturesSpec) -> torch.Tensor:
    """``(n_samples,)`` float32 at ``spec.sample_rate`` -> the extractor's matrix for one window, float32
    (e.g. ``(frames, mel_bins)`` for AST, ``(mel_bins, frames)`` for Whisper)."""
    extractor = feature_extractor(spec)
    encoded = extractor(clip, sampling_rate=spec.sample_rate, return_tensors="np")
    matrix = np.asarray(encoded[spec.input_name], dtype=np.float32)[0]
    return torch.from_numpy(np.ascontiguousarray(matrix))
