"""Preprocessing specifications: how a sample becomes a model input, stored in every model card.

Training and inference both build their tensors from one of these specs through
:func:`xaiscope.preprocessing.model_inputs`, so the two cannot drift apart (the earlier tool drew its inference
spectrograms at another sample rate and figure size than its training ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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


@dataclass(frozen=True)
class WaveformSpec:
    """Recording -> ``(n_samples,)`` mono samples at the model's rate (the ``waveform`` input kind).

    The recording is resampled, cut into windows and padded exactly like :class:`AudioSpec` recordings (the same
    ``window_seconds``, ``hop_seconds``, ``pad`` and ``aggregation`` rules); each window becomes one row of the model
    input, ``(N, window_seconds * sample_rate)``.

    Attributes:
        normalize: scale each window to zero mean and unit variance (what Hugging Face's
            ``Wav2Vec2FeatureExtractor(do_normalize=True)`` does, read from the model's processor config).
    """

    kind: Literal["waveform"] = "waveform"
    sample_rate: int = 16000
    window_seconds: float = 1.0
    hop_seconds: float = 0.5
    pad: ClipPadding = "repeat"
    aggregation: Aggregation = "max"
    normalize: bool = True

    def __post_init__(self) -> None:
        _check_windowing(self.window_seconds, self.hop_seconds, self.pad, self.aggregation)


@dataclass(frozen=True)
class FeaturesSpec:
    """Recording -> a feature extractor's matrix (the ``features`` input kind, e.g. AST's filter bank).

    Windowing as :class:`WaveformSpec`; each window goes through the model's own Hugging Face feature extractor,
    rebuilt from the processor config stored here (``extractor`` is its class name in ``transformers``,
    ``extractor_config`` its ``preprocessor_config.json``), so the card alone says how the matrix is made.
    ``input_name`` is the keyword the network takes it under (``input_values`` for AST, ``input_features`` for
    Whisper). Model input: ``(N, *matrix_shape)``, e.g. ``(N, frames, mel_bins)`` for AST.
    """

    kind: Literal["features"] = "features"
    sample_rate: int = 16000
    window_seconds: float = 1.0
    hop_seconds: float = 0.5
    pad: ClipPadding = "repeat"
    aggregation: Aggregation = "max"
    extractor: str = ""
    extractor_config: dict[str, Any] = field(default_factory=dict, hash=False)
    input_name: str = "input_values"

    def __post_init__(self) -> None:
        _check_windowing(self.window_seconds, self.hop_seconds, self.pad, self.aggregation)
        if not self.extractor:
            raise CardError("A features spec must name its feature extractor class.",
                            "Re-import the model directory with `xaiscope import`.")


@dataclass(frozen=True)
class XrayGraySpec:
    """Radiograph -> ``(1, image_size, image_size)`` in [-1024, 1024] (the ``xray-gray`` input kind).

    torchxrayvision's convention: the gray image (8-bit quantised, as for :class:`XraySpec`) is centre-cropped to a
    square, resized to ``image_size`` (antialiased bilinear) and scaled from [0, 255] to [-1024, 1024]
    (``xrv.datasets.normalize(image, 255)``).
    """

    kind: Literal["xray-gray"] = "xray-gray"
    image_size: int = 224
    low: float = -1024.0
    high: float = 1024.0


def _check_windowing(window_seconds: float, hop_seconds: float, pad: str, aggregation: str) -> None:
    if hop_seconds <= 0 or window_seconds <= 0:
        raise CardError("window_seconds and hop_seconds must be positive.", "Fix the model card.")
    if pad not in ("none", "repeat", "zeros") or aggregation not in ("mean", "max"):
        raise CardError(f"Unknown pad '{pad}' or aggregation '{aggregation}'.",
                        "Use pad none|repeat|zeros and aggregation mean|max in the model card.")


PreprocessingSpec = AudioSpec | XraySpec | WaveformSpec | FeaturesSpec | XrayGraySpec
#: Specs that cut a recording into analysis windows (every audio spec).
WindowedSpec = AudioSpec | WaveformSpec | FeaturesSpec
#: Specs whose model input is a normalised RGB picture.
PictureSpec = AudioSpec | XraySpec
AUDIO_SPECS = (AudioSpec, WaveformSpec, FeaturesSpec)
XRAY_SPECS = (XraySpec, XrayGraySpec)


#: What a network takes (the card's preprocessing spec builds it):
#: ``picture`` a normalised ``(N, 3, S, S)`` picture (a mel-spectrogram image or a resized radiograph);
#: ``waveform`` ``(N, n_samples)`` mono samples at the model's rate, one row per analysis window;
#: ``features`` ``(N, *matrix)`` a feature extractor's matrix (e.g. AST's filter bank ``(N, frames, mel_bins)``);
#: ``xray-gray`` ``(N, 1, S, S)`` one gray channel in torchxrayvision's scaling, [-1024, 1024].
InputKind = Literal["picture", "waveform", "features", "xray-gray"]


def spec_input_kind(spec: PreprocessingSpec) -> InputKind:
    """The input kind a spec produces: ``picture``, ``waveform``, ``features`` or ``xray-gray``."""
    if isinstance(spec, AudioSpec | XraySpec):
        return "picture"
    return spec.kind


def spec_to_dict(spec: PreprocessingSpec) -> dict[str, Any]:
    """JSON-ready form of a spec (tuples become lists)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(spec).items()}


def spec_from_dict(data: dict[str, Any]) -> PreprocessingSpec:
    """Rebuild a spec from :func:`spec_to_dict` output.

    Raises:
        CardError: unknown ``kind`` or unknown keys.
    """
    kinds: dict[str, type[PreprocessingSpec]] = {"audio": AudioSpec, "xray": XraySpec, "waveform": WaveformSpec,
                                                 "features": FeaturesSpec, "xray-gray": XrayGraySpec}
    cls = kinds.get(str(data.get("kind")))
    if cls is None:
        raise CardError(f"Unknown preprocessing kind '{data.get('kind')}'.", f"Use one of {sorted(kinds)}.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CardError(f"Unknown preprocessing keys {unknown}.", f"Allowed keys: {sorted(known)}.")
    values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) and key in ("mean", "std") else value
                              for key, value in data.items()}
    return cls(**values)
