"""The input limits, stated once: what xaiscope refuses, why, and the checks that refuse it.

Every limit is checked *before* the expensive step it protects (the file's size before it is read, an image's
declared size before its pixels are decoded, a recording's declared length before its samples are), and every
refusal is an :class:`~xaiscope.errors.InputError` whose message names the limit and says what to do.

Short recordings: a recording under :data:`MIN_AUDIO_SECONDS` is refused (below a quarter of a second there is
at most one syllable, eight STFT frames at 16 kHz: nothing a deepfake detector can judge, although a CNN will
still answer with confidence). One that is longer than that but shorter than the model's analysis window is
classified, and the duration check of :mod:`xaiscope.trust.audio_checks` puts a warning beside its verdict (it
was looped or padded to fill the window, so its verdict rests on less evidence).
"""

from __future__ import annotations

import re

from xaiscope.errors import (
    AudioTooLongError,
    AudioTooShortError,
    ImageSizeError,
    InputTooLargeError,
    UnreadableInputError,
)

#: Largest file read at all, in bytes (an hour of 48 kHz stereo 24-bit WAV is about 1 GB).
MAX_INPUT_BYTES = 2 * 1024 ** 3
#: Longest recording accepted, in seconds; checked from the header before decoding.
MAX_AUDIO_SECONDS = 3600.0
#: Shortest recording accepted, in seconds.
MIN_AUDIO_SECONDS = 0.25
#: Sample rates accepted, in Hz (telephone speech is 8 kHz; studio formats reach 384-768 kHz).
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 768_000
#: Smallest accepted image side, in pixels: below this a 224-pixel model input is mostly interpolation.
MIN_SIDE = 64
#: Largest accepted side and pixel count (below Pillow's own decompression-bomb limit of 89 megapixels).
MAX_SIDE = 20000
MAX_PIXELS = 80_000_000

IMAGE_LIMITS_TEXT = (f"Radiographs must be between {MIN_SIDE} and {MAX_SIDE} pixels on each side and at most "
                     f"{MAX_PIXELS / 1e6:.0f} megapixels.")


def check_input_bytes(size: int, name: str) -> None:
    """Refuse a file larger than :data:`MAX_INPUT_BYTES` before reading it.

    Raises:
        InputTooLargeError: with the size and the limit.
    """
    if size > MAX_INPUT_BYTES:
        raise InputTooLargeError(
            f"'{name}' is {size / 1024 ** 3:.1f} GB; the limit is {MAX_INPUT_BYTES / 1024 ** 3:.0f} GB per file.",
            "Cut a recording into parts, or downscale an image, and analyse the parts one by one.")


def check_sample_rate(rate: int, name: str) -> None:
    """Refuse a sample rate outside :data:`MIN_SAMPLE_RATE` .. :data:`MAX_SAMPLE_RATE`.

    Raises:
        UnreadableInputError: the rate is out of range (the message names the range).
    """
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise UnreadableInputError(
            f"'{name}' declares a sample rate of {rate} Hz; xaiscope reads {MIN_SAMPLE_RATE} Hz to "
            f"{MAX_SAMPLE_RATE // 1000} kHz.",
            "Re-export the recording at a normal sample rate such as 16 kHz or 44.1 kHz.")


def check_audio_seconds(seconds: float, name: str) -> None:
    """Refuse a recording outside :data:`MIN_AUDIO_SECONDS` .. :data:`MAX_AUDIO_SECONDS`.

    Raises:
        AudioTooLongError, AudioTooShortError: with the duration and the limit.
    """
    if seconds > MAX_AUDIO_SECONDS:
        raise AudioTooLongError(
            f"'{name}' lasts {seconds / 60:.1f} minutes; the limit is {MAX_AUDIO_SECONDS / 60:.0f} minutes.",
            "Cut the recording into parts (for example with `sox in.wav out.wav trim 0 3600 : newfile "
            ": restart`) and analyse them one by one.")
    if seconds < MIN_AUDIO_SECONDS:
        raise AudioTooShortError(
            f"'{name}' lasts {seconds * 1000:.0f} ms; the shortest recording xaiscope classifies is "
            f"{MIN_AUDIO_SECONDS:g} s (shorter clips hold at most a syllable, too little to judge).",
            "Choose a longer recording (a few seconds of speech); if the file was cut short by a failed "
            "upload or copy, take the original again.")


def check_image_size(width: int, height: int, name: str, frames: int = 1) -> None:
    """Refuse images (all ``frames`` of them together) outside the stated limits before their pixels are decoded.

    Raises:
        ImageSizeError: with the actual size and the limits.
    """
    if min(width, height) < MIN_SIDE:
        raise ImageSizeError(f"'{name}' is {width}x{height} pixels, too small to classify.",
                             f"{IMAGE_LIMITS_TEXT} Use the original, full-resolution image.")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageSizeError(f"'{name}' is {width}x{height} pixels, too large to process safely.",
                             f"{IMAGE_LIMITS_TEXT} Downscale it first (for example to 3000 pixels on the long side).")
    if frames > 1 and width * height * frames > MAX_PIXELS:
        raise ImageSizeError(f"'{name}' holds {frames} frames of {width}x{height} pixels, too many to decode safely "
                             "(all frames are decoded together).",
                             f"{IMAGE_LIMITS_TEXT} Export the single frame that shows the radiograph.")


def decompression_bomb_error(error: Exception, name: str) -> ImageSizeError:
    """Pillow's ``DecompressionBombError`` (raised by ``Image.open`` above about 179 megapixels) as a refusal."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{int(found.group(1)) / 1e6:,.0f} megapixels" if found else "far beyond the limit"
    return ImageSizeError(f"'{name}' declares an image of {size}, far beyond the limit; it was refused before "
                          "decoding (a small file that declares a huge image is a known way to exhaust memory).",
                          f"{IMAGE_LIMITS_TEXT} Downscale it first, or check where the file came from.")
