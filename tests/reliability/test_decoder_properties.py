"""Property-based: whatever bytes arrive, the decoders return a usable sample or raise a clear XaiscopeError.

Three generators: random bytes (behind each supported format's magic number, or none), valid recordings with odd
parameters (any rate, channel count, length, encoding and container libsndfile writes, then possibly cut or
damaged), and valid images with odd parameters (any size, mode and container, then possibly cut or damaged). A
decoded sample must also go through the model-input preprocessing (a spectrogram window or the resized X-ray)
and give a finite ``(1, 3, 224, 224)`` tensor. Example counts are bounded so the three run in well under a minute.
"""

from __future__ import annotations

import io

import numpy as np
import soundfile
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from xaiscope.errors import XaiscopeError
from xaiscope.inputs import AudioSample, load_input
from xaiscope.preprocessing import AudioSpec, XraySpec, window_input

MAGICS = [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS\x00\x02", b"ID3\x03\x00\x00\x00\x00\x00\x00",
          b"\xff\xfb\x90\x64", b"FORM\x00\x00\x00\x00AIFF", b"caff\x00\x01\x00\x00", b".snd", b"\x89PNG\r\n\x1a\n",
          b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"\x00" * 128 + b"DICM"]
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(data: bytes, name: str) -> None:
    """The property: a sample whose model input is finite, or an XaiscopeError with a problem and a hint."""
    try:
        sample = load_input(data, name=name)
    except XaiscopeError as error:
        assert error.problem and error.hint, repr(error)
        return
    spec = AudioSpec() if isinstance(sample, AudioSample) else XraySpec()
    tensor = window_input(sample, spec).tensor
    assert tensor.shape == (1, 3, 224, 224)
    assert bool(np.isfinite(tensor.numpy()).all())


def damage(data: bytes, how: str, where: float) -> bytes:
    position = int(len(data) * where)
    if how == "cut":
        return data[:position]
    if how == "flip":
        return data[:position] + bytes(b ^ 0x5A for b in data[position:position + 64]) + data[position + 64:]
    return data


@SETTINGS
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=3000), name=st.sampled_from(["x.wav", "x.dcm", "x"]))
def test_random_bytes(magic: bytes, body: bytes, name: str):
    check(magic + body, name)


AUDIO_FORMATS = {"WAV": ["PCM_16", "PCM_U8", "PCM_24", "FLOAT", "DOUBLE", "ULAW"], "FLAC": ["PCM_16", "PCM_24"],
                 "AIFF": ["PCM_16", "FLOAT"], "AU": ["PCM_16", "FLOAT"], "CAF": ["PCM_16", "ALAC_16"],
                 "W64": ["PCM_16"], "OGG": ["VORBIS"]}


@SETTINGS
@given(fmt=st.sampled_from(sorted(AUDIO_FORMATS)), pick=st.integers(0, 5),
       rate=st.sampled_from([1, 100, 3999, 4000, 8000, 11025, 16000, 44100, 96000, 192000, 384000]),
       channels=st.integers(1, 12), seconds=st.sampled_from([0.0, 0.001, 0.2, 0.25, 0.3, 1.0, 2.5]),
       amplitude=st.sampled_from([0.0, 1e-6, 0.01, 1.0, 4.0]), how=st.sampled_from(["none", "cut", "flip"]),
       where=st.floats(0.0, 1.0))
def test_odd_but_valid_recordings(fmt, pick, rate, channels, seconds, amplitude, how, where):
    subtype = AUDIO_FORMATS[fmt][pick % len(AUDIO_FORMATS[fmt])]
    # libsndfile's own encoders crash the process (not an error) on some combinations, so no user can have such a
    # file: the Vorbis and ALAC encoders on very low or very high rates (e.g. Vorbis at 384 kHz) or many channels.
    assume(subtype not in ("VORBIS", "ALAC_16") or (8000 <= rate <= 96000 and channels <= 8))
    frames = min(int(rate * seconds), 200_000)
    rng = np.random.default_rng(frames + channels)
    signal = (amplitude * rng.standard_normal((frames, channels))).astype(np.float32)
    buffer = io.BytesIO()
    try:
        soundfile.write(buffer, signal, rate, format=fmt, subtype=subtype)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError):
        assume(False)  # libsndfile cannot write this combination, so no user can have such a file
    check(damage(buffer.getvalue(), how, where), f"odd.{fmt.lower()}")


MODES = ["L", "1", "P", "RGB", "RGBA", "LA", "I;16", "I", "F", "CMYK"]


@SETTINGS
@given(mode=st.sampled_from(MODES), fmt=st.sampled_from(["PNG", "JPEG", "TIFF"]),
       width=st.sampled_from([1, 3, 63, 64, 65, 200, 1000]), height=st.sampled_from([1, 63, 64, 300, 1500]),
       fill=st.sampled_from(["noise", "constant", "extremes"]), how=st.sampled_from(["none", "cut", "flip"]),
       where=st.floats(0.0, 1.0))
def test_odd_but_valid_images(mode, fmt, width, height, fill, how, where):
    rng = np.random.default_rng(width * height)
    values = {"noise": rng.random((height, width)), "constant": np.full((height, width), 0.5),
              "extremes": (rng.random((height, width)) > 0.5).astype(float)}[fill]
    if mode == "F":
        image = Image.fromarray((values * 1e6 - 5e5).astype(np.float32), "F")
    elif mode in ("I;16", "I"):
        image = Image.fromarray((values * 65535).astype(np.uint16)).convert(mode) if mode == "I" else \
            Image.fromarray((values * 65535).astype(np.uint16))
    else:
        image = Image.fromarray((values * 255).astype(np.uint8), "L").convert(mode)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=fmt)
    except (OSError, ValueError, KeyError):
        assume(False)  # Pillow cannot write this mode in this container
    check(damage(buffer.getvalue(), how, where), f"odd.{fmt.lower()}")
