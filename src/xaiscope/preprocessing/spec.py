"""Preprocessing specifications: how a sample becomes a model input, stored in every model card.

Training and inference both build their tensors from one of these specs through
:func:`xaiscope.preprocessing.model_inputs`, so the two cannot drift apart (the earlier tool drew its inference
spectrograms at another sample rate and figure size than its training ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from xaiscope.errors import CardError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Renderer = Literal["seed-notebook", "direct"]
ClipPadding = Literal["none", "repeat", "zeros"]
Aggregation = Literal["mean", "max"]


@dataclass(frozen=True)
class AudioSpec:
    """Recording -> mel spectrogram picture -> normalised ``(3, image_size, image_size)`` tensor.

    Attributes:
        sample_rate: the recording is resampled to this rate (soxr HQ) before anything else.
        n_fft, hop_length, n_mels, fmin, fmax, power: librosa ``melspectrogram`` settings (Hann window,
            centred frames, zero padding, Slaney mel scale and norm). ``fmax=None`` means ``sample_rate / 2``.
        top_db: dynamic range kept by ``power_to_db(ref=np.max)``; decibels below the peak minus this are clipped.
        renderer: ``seed-notebook`` draws the picture with matplotlib exactly as the earlier tool's training
            notebook did; ``direct`` maps the decibel matrix through the same colour map without a figure.
        window_seconds: length of the analysis window. A recording up to this long is one window; a longer one
            is scanned in windows of this length every ``hop_seconds``, the last window ending at the end of the
            recording.
        hop_seconds: step between window starts.
        pad: what happens to a recording shorter than the window. ``none`` renders it as it is (the earlier
            tool's way: the picture is stretched to the image size); ``repeat`` loops it until it fills the
            window (no artificial silence, which detectors are known to learn); ``zeros`` appends silence.
        min_fft_size: when a (padded) window is shorter than ``n_fft``, the FFT size falls to the largest power of
            two not above its length, but not below this; a window shorter than that is zero-padded to it.
        aggregation: how window probabilities become the verdict. ``mean`` averages them; ``max`` takes the
            window with the highest probability of ``alert_class`` (the card's), so one fake segment in a long
            genuine recording is not averaged away.
        image_size: side of the square model input.
        mean, std: per-channel normalisation of the RGB picture.
    """

    kind: Literal["audio"] = "audio"
    sample_rate: int = 16000
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    power: float = 2.0
    top_db: float | None = 80.0
    renderer: Renderer = "direct"
    window_seconds: float = 2.0
    hop_seconds: float = 1.0
    pad: ClipPadding = "repeat"
    min_fft_size: int = 256
    aggregation: Aggregation = "max"
    image_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.renderer not in ("seed-notebook", "direct"):
            raise CardError(f"Unknown spectrogram renderer '{self.renderer}'.",
                            "Use 'seed-notebook' or 'direct' in the model card.")
        if self.hop_seconds <= 0 or self.window_seconds <= 0:
            raise CardError("window_seconds and hop_seconds must be positive.", "Fix the model card.")
        if self.pad not in ("none", "repeat", "zeros") or self.aggregation not in ("mean", "max"):
            raise CardError(f"Unknown pad '{self.pad}' or aggregation '{self.aggregation}'.",
                            "Use pad none|repeat|zeros and aggregation mean|max in the model card.")


@dataclass(frozen=True)
class XraySpec:
    """Radiograph -> ``(3, image_size, image_size)`` tensor.

    The full-resolution gray image is quantised to 8 bits (what 8-bit training JPEGs such as CheXpert-small
    hold), resized to ``image_size`` square with Pillow's antialiased bilinear filter (torchvision's ``Resize``
    on PIL images makes this very call), replicated to three channels and normalised.
    """

    kind: Literal["xray"] = "xray"
    image_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


PreprocessingSpec = AudioSpec | XraySpec


def spec_to_dict(spec: PreprocessingSpec) -> dict[str, Any]:
    """JSON-ready form of a spec (tuples become lists)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(spec).items()}


def spec_from_dict(data: dict[str, Any]) -> PreprocessingSpec:
    """Rebuild a spec from :func:`spec_to_dict` output.

    Raises:
        CardError: unknown ``kind`` or unknown keys.
    """
    kinds: dict[str, type[AudioSpec] | type[XraySpec]] = {"audio": AudioSpec, "xray": XraySpec}
    cls = kinds.get(str(data.get("kind")))
    if cls is None:
        raise CardError(f"Unknown preprocessing kind '{data.get('kind')}'.", "Use 'audio' or 'xray'.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CardError(f"Unknown preprocessing keys {unknown}.", f"Allowed keys: {sorted(known)}.")
    values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return cls(**values)
