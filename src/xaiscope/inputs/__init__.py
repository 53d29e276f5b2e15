"""Loading inputs: :func:`load_input` turns a path or bytes into an :class:`AudioSample` or :class:`XraySample`.

:mod:`.load` recognises the format from the content and dispatches, :mod:`.audio` and :mod:`.xray` decode and
validate, :mod:`.limits` states every size limit, :mod:`.sample` defines the samples, :mod:`.bundled` lists the
shipped samples. Names are imported on first use (:mod:`xaiscope.lazy`).
"""

from typing import TYPE_CHECKING

from xaiscope.lazy import lazy_exports

if TYPE_CHECKING:
    from xaiscope.inputs.load import EXTENSIONS, FORMAT_MODALITY, SUPPORTED_FORMATS_TEXT, load_input, sniff_format
    from xaiscope.inputs.sample import MODALITIES, AudioSample, Modality, Sample, XraySample

__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
