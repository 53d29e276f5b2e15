"""The one definition of how a sample becomes model input, used by inference and training alike.

:mod:`.spec` holds the specs stored in model cards, :mod:`.pipeline` turns a sample into model-input tensors
(windows, spectrogram pictures, resizing), :mod:`.spectrogram` draws mel pictures, :mod:`.picture` normalises
pictures and builds reference inputs. Names are imported on first use (:mod:`xaiscope.lazy`).
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.preprocessing.picture import normalise_pictures, picture_tensor, reference_input, unnormalise
    from xaiscope.preprocessing.pipeline import (
        ModelInput,
        Window,
        audio_clip_tensor,
        column_times,
        count_windows,
        iter_model_inputs,
        model_inputs,
        plan_windows,
        select_window_input,
        window_clip,
        window_input,
        xray_tensor,
    )
    from xaiscope.preprocessing.spec import AudioSpec, PreprocessingSpec, XraySpec, spec_from_dict, spec_to_dict

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
