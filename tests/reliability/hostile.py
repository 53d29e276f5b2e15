"""A catalogue of hostile and odd inputs, each with the outcome a user must see.

Every case is a file as a user could upload it (name and bytes, built on the fly) and the outcome it must end in:
``verdict`` (the file is usable: a verdict is shown) or ``refused`` (a clear message containing ``expect``). The
suite runs every case through the CLI and through the app page (tests/reliability/test_hostile_inputs.py).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import soundfile
from PIL import Image

from tests.conftest import audio_bytes, chest_image, dicom_bytes, png_bytes, tone


@dataclass(frozen=True)
class Case:
    """One hostile input.

    Attributes:
        key: short identifier (the pytest id).
        filename: the name the file is given (it may itself be hostile).
        modality: the kind of input the user says it is (``audio`` or ``xray``).
        build: makes the file's bytes.
        outcome: ``verdict`` or ``refused``.
        expect: for a refusal, a regular expression the message must match (the limit, the reason; case ignored).
    """

    key: str
    filename: str
    modality: str
    build: Callable[[], bytes]
    outcome: str
    expect: str = ""


def speech(seconds: float = 1.5, rate: int = 16000) -> np.ndarray:
    return (tone(seconds, rate, 300) + tone(seconds, rate, 1500, seed=1)).astype(np.float32)


def encoded(signal: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def wav_with_rate(rate: int) -> bytes:
    """A valid 16-bit WAV whose header declares ``rate`` (the fmt chunk's two rate fields rewritten)."""
    data = bytearray(audio_bytes(speech(), 16000, "WAV", "PCM_16"))
    struct.pack_into("<II", data, 24, rate, rate * 2)
    return bytes(data)


def float_wav(values: np.ndarray) -> bytes:
    """A 32-bit float WAV holding ``values`` verbatim (NaN and infinity included)."""
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + values.nbytes, b"WAVE", b"fmt ", 16, 3, 1, 16000,
                         64000, 4, 32, b"data", values.nbytes)
    return header + values.astype("<f4").tobytes()


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header declares ``width`` x ``height`` gray pixels (a decompression bomb when large)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    rows = b"".join(compressor.compress(row) for _ in range(min(height, 64))) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def picture(mode: str = "L", fmt: str = "PNG", size: tuple[int, int] = (200, 240), **options: object) -> bytes:
    gray = (chest_image(size[1], size[0]) * 255).astype(np.uint8)
    image = Image.fromarray(gray, "L")
    if mode == "I;16":
        image = Image.fromarray((chest_image(size[1], size[0]) * 65535).astype(np.uint16))
    elif mode == "F":
        values = chest_image(size[1], size[0]).astype(np.float32)
        values[:10, :10] = np.nan
        image = Image.fromarray(values, "F")
    elif mode != "L":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def transparent_png() -> bytes:
    return png_bytes(np.zeros((200, 200, 4), np.uint8), "RGBA")


def multipage_tiff() -> bytes:
    first = Image.fromarray((chest_image(240, 200) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[first.rotate(90, expand=True)] * 2)
    return buffer.getvalue()


def dicom(**options: object) -> bytes:
    return dicom_bytes((chest_image(256, 200) * 4000).astype(np.uint16), **options)


def dicom_declaring_frames(frames: int) -> bytes:
    """A DICOM whose header declares ``frames`` frames of 512 x 512 but holds almost no pixel data."""
    from pydicom import dcmread

    dataset = dcmread(io.BytesIO(dicom_bytes(np.zeros((512, 512), np.uint16))))
    dataset.NumberOfFrames = frames
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def dicom_rgb() -> bytes:
    from pydicom import dcmread

    dataset = dcmread(io.BytesIO(dicom()))
    dataset.SamplesPerPixel = 3
    dataset.PhotometricInterpretation = "RGB"
    dataset.PlanarConfiguration = 0
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 8, 8, 7
    dataset.PixelData = np.zeros((256, 200, 3), np.uint8).tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    return buffer.getvalue()


def dicom_without_magic_garbage() -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes(range(256)) * 4


def truncated(data: bytes, keep: float) -> bytes:
    return data[:max(1, int(len(data) * keep))]


def flipped(data: bytes, start: float = 0.3, length: int = 400) -> bytes:
    position = int(len(data) * start)
    middle = bytes(b ^ 0xFF for b in data[position:position + length])
    return data[:position] + middle + data[position + length:]


def random_after(magic: bytes, size: int = 4000, seed: int = 0) -> bytes:
    return magic + np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def too_long_wav() -> bytes:
    """Just over an hour of 8-bit audio at 4 kHz (14 MB): refused from its header before decoding."""
    samples = np.full(3601 * 4000, 128, np.uint8)
    samples[::7] = 140  # not silent
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + samples.size, b"WAVE", b"fmt ", 16, 1, 1, 4000, 4000,
                         1, 8, b"data", samples.size)
    return header + samples.tobytes()


HOSTILE_NAME = "**x** [click](javascript:alert(1)) <img src=x onerror=alert(2)> :red[z] $x$.wav"

CASES: list[Case] = [
    # --- recordings ---
    Case("empty", "empty.wav", "audio", lambda: b"", "refused", "empty"),
    Case("text-as-wav", "notes.wav", "audio", lambda: b"just some text, not audio\n" * 20, "refused", "format"),
    Case("riff-header-only", "header.wav", "audio", lambda: audio_bytes(speech(), 16000)[:12], "refused",
         "cannot be decoded"),
    Case("wav-cut-in-header", "cut.wav", "audio", lambda: audio_bytes(speech(), 16000)[:30], "refused",
         "cannot be decoded"),
    Case("wav-cut-in-data", "cut-data.wav", "audio", lambda: truncated(audio_bytes(speech(3.0), 16000), 0.5),
         "verdict"),
    Case("30-ms", "truncated.wav", "audio", lambda: audio_bytes(speech(0.03), 16000), "refused", "0.25 s"),
    Case("10-ms", "click.wav", "audio", lambda: audio_bytes(speech(0.01), 16000), "refused", "0.25 s"),
    Case("digital-zero", "zeros.wav", "audio", lambda: audio_bytes(np.zeros(16000, np.float32), 16000), "refused",
         "silent"),
    Case("minus-100-dbfs", "hiss.wav", "audio", lambda: encoded(speech() * 1e-5 / 0.35, 16000, "WAV", "FLOAT"),
         "refused", "silent"),
    Case("nan-samples", "nan.wav", "audio", lambda: float_wav(np.where(np.arange(16000) % 50 == 0, np.nan,
                                                                         speech()[:16000])), "refused", "finite"),
    Case("inf-samples", "inf.wav", "audio", lambda: float_wav(np.where(np.arange(16000) == 5, np.inf,
                                                                         speech()[:16000])), "refused", "finite"),
    Case("rate-1-hz", "slow.wav", "audio", lambda: wav_with_rate(1), "refused", "sample rate"),
    Case("rate-2-mhz", "fast.wav", "audio", lambda: wav_with_rate(2_000_000), "refused", "sample rate"),
    Case("eight-channels", "surround.wav", "audio", lambda: audio_bytes(np.tile(speech()[:, None], (1, 8)), 16000),
         "verdict"),
    Case("unsigned-8-bit", "u8.wav", "audio", lambda: encoded(speech(), 8000, "WAV", "PCM_U8"), "verdict"),
    Case("float-64", "f64.wav", "audio", lambda: encoded(speech(), 22050, "WAV", "DOUBLE"), "verdict"),
    Case("full-scale-square", "square.wav", "audio", lambda: audio_bytes(np.sign(speech()), 16000), "verdict"),
    Case("dc-offset", "dc.wav", "audio", lambda: audio_bytes(np.full(16000, 0.5, np.float32), 16000), "verdict"),
    Case("quarter-second", "short.wav", "audio", lambda: audio_bytes(speech(0.3), 16000), "verdict"),
    Case("aiff", "speech.aiff", "audio", lambda: encoded(speech(), 16000, "AIFF"), "verdict"),
    Case("au", "speech.au", "audio", lambda: encoded(speech(), 16000, "AU"), "verdict"),
    Case("caf", "speech.caf", "audio", lambda: encoded(speech(), 16000, "CAF"), "verdict"),
    Case("flac-24-bit", "speech.flac", "audio", lambda: encoded(speech(), 48000, "FLAC", "PCM_24"), "verdict"),
    Case("ogg-vorbis", "speech.ogg", "audio", lambda: encoded(speech(), 16000, "OGG", "VORBIS"), "verdict"),
    Case("mp3", "speech.mp3", "audio", lambda: encoded(speech(), 16000, "MP3", "MPEG_LAYER_III"), "verdict"),
    Case("flac-damaged", "damaged.flac", "audio", lambda: flipped(encoded(speech(3.0), 16000, "FLAC")), "refused",
         "cannot be decoded"),
    Case("random-after-riff", "noise.wav", "audio", lambda: b"RIFF\x10\x00\x00\x00WAVE" + random_after(b"fmt "),
         "refused", "cannot be decoded"),
    Case("random-after-flac", "noise.flac", "audio", lambda: random_after(b"fLaC"), "refused", "cannot be decoded"),
    Case("random-after-id3", "noise.mp3", "audio", lambda: random_after(b"ID3\x04\x00\x00\x00\x00\x00\x00"),
         "refused", "cannot be decoded"),
    Case("an-xray-as-speech", "chest.png", "audio", lambda: picture(), "refused", "expected|classifies"),
    Case("hostile-name", HOSTILE_NAME, "audio", lambda: audio_bytes(speech(), 16000), "verdict"),
    Case("newline-name", "two\nlines `code` # head.wav", "audio", lambda: audio_bytes(speech(), 16000), "verdict"),
    Case("over-an-hour", "long.wav", "audio", too_long_wav, "refused", "limit is 60 minutes"),
    # --- radiographs ---
    Case("bomb-30000", "bomb.png", "xray", lambda: png_declaring(30000, 30000), "refused", "megapixels"),
    Case("100-megapixels", "huge.png", "xray", lambda: png_declaring(10000, 10000), "refused", "80 megapixels"),
    Case("side-over-20000", "strip.png", "xray", lambda: png_declaring(21000, 100), "refused", "20000"),
    Case("10-pixels", "icon.png", "xray", lambda: picture(size=(10, 10)), "refused", "too small"),
    Case("png-cut", "cut.png", "xray", lambda: truncated(picture(), 0.3), "refused", "cannot be decoded"),
    Case("png-bad-crc", "crc.png", "xray", lambda: flipped(picture(), 0.5, 40), "refused", "cannot be decoded"),
    Case("png-16-bit", "deep.png", "xray", lambda: picture("I;16"), "verdict"),
    Case("png-transparent", "clear.png", "xray", transparent_png, "verdict"),
    Case("png-palette", "palette.png", "xray", lambda: picture("P"), "verdict"),
    Case("png-1-bit", "bits.png", "xray", lambda: picture("1"), "verdict"),
    Case("jpeg-cmyk", "print.jpg", "xray", lambda: picture("CMYK", "JPEG"), "verdict"),
    Case("jpeg-cut", "cut.jpg", "xray", lambda: truncated(picture(fmt="JPEG"), 0.1), "refused", "cannot be decoded"),
    Case("tiff-16-bit", "film.tif", "xray", lambda: picture("I;16", "TIFF"), "verdict"),
    Case("tiff-float-nan", "float.tiff", "xray", lambda: picture("F", "TIFF"), "verdict"),
    Case("tiff-lzw", "lzw.tif", "xray", lambda: picture(fmt="TIFF", compression="tiff_lzw"), "verdict"),
    Case("tiff-multipage", "pages.tif", "xray", multipage_tiff, "verdict"),
    Case("random-after-tiff", "noise.tif", "xray", lambda: random_after(b"II*\x00"), "refused", "cannot be decoded"),
    Case("dicom-no-pixels", "report.dcm", "xray", lambda: dicom(with_pixels=False), "refused", "without pixel data"),
    Case("dicom-400-frames", "cine.dcm", "xray", lambda: dicom_declaring_frames(400), "refused", "frames"),
    Case("dicom-cut", "cut.dcm", "xray", lambda: truncated(dicom(), 0.6), "refused", "cannot be decoded"),
    Case("dicom-garbage", "garbage.dcm", "xray", dicom_without_magic_garbage, "refused", "DICOM"),
    Case("dicom-monochrome1", "inverted.dcm", "xray", lambda: dicom(photometric="MONOCHROME1"), "verdict"),
    Case("dicom-rgb", "capture.dcm", "xray", dicom_rgb, "refused", "grayscale"),
    Case("speech-as-xray", "speech.png", "xray", lambda: audio_bytes(speech(), 16000), "refused",
         "expected|classifies"),
    Case("zip-as-png", "archive.png", "xray", lambda: b"PK\x03\x04" + bytes(200), "refused", "format"),
    Case("html-as-png", "page.png", "xray", lambda: b"<html><script>alert(1)</script></html>", "refused", "format"),
]
