"""Loading inputs: :func:`load_input` turns a path or bytes into an :class:`AudioSample` or :class:`XraySample`.

The format is recognised from the content (magic bytes), never from the file name alone, so a renamed file is
still read correctly and a non-media file is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from xaiscope.errors import EmptyInputError, ModalityMismatchError, UnknownFormatError, UnreadableInputError
from xaiscope.inputs.audio import decode_audio
from xaiscope.inputs.limits import check_input_bytes
from xaiscope.inputs.sample import Modality, Sample
from xaiscope.inputs.xray import decode_dicom, decode_raster

#: Format name -> modality, for every format xaiscope decodes.
FORMAT_MODALITY: dict[str, Modality] = {
    "wav": "audio", "flac": "audio", "ogg": "audio", "mp3": "audio", "aiff": "audio", "caf": "audio", "au": "audio",
    "w64": "audio",
    "png": "xray", "jpeg": "xray", "tiff": "xray", "dicom": "xray",
}
SUPPORTED_FORMATS_TEXT = ("audio: WAV, FLAC, OGG (Vorbis/Opus), MP3, AIFF/AIFC, CAF, AU, Wave64; "
                          "X-ray: PNG, JPEG, TIFF, DICOM")
#: File-name extensions of each modality's formats (the app's upload lists).
EXTENSIONS: dict[Modality, tuple[str, ...]] = {
    "audio": ("wav", "flac", "ogg", "oga", "opus", "mp3", "aif", "aiff", "aifc", "caf", "au", "snd", "w64"),
    "xray": ("png", "jpg", "jpeg", "tif", "tiff", "dcm", "dicom"),
}
_W64_GUID = bytes.fromhex("726966662e91cf11a5d628db04c10000")


def sniff_format(data: bytes) -> str | None:
    """Recognise a supported format from the first bytes.

    Returns:
        One of the keys of :data:`FORMAT_MODALITY`, or None.
    """
    head = data[:16]
    if head[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:4] == b".snd":
        return "au"
    if head[:16] == _W64_GUID:
        return "w64"
    if head[:3] == b"ID3" or _is_mpeg_audio_frame(head):
        return "mp3"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic TIFF and BigTIFF
        return "tiff"
    if data[128:132] == b"DICM":
        return "dicom"
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version, layer, bitrate and sample-rate index."""
    if len(head) < 3 or head[0] != 0xFF or (head[1] & 0xE0) != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate != 0xF and rate != 3


def load_input(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
               modality: Modality | None = None) -> Sample:
    """Load a recording or a radiograph.

    Args:
        source: a path, or the file's bytes (as from an upload).
        name: display name; defaults to the file's base name, or ``"upload"`` for bytes.
        modality: when given, an input of the other modality is refused.

    Returns:
        An :class:`AudioSample` or an :class:`XraySample`.

    Raises:
        UnreadableInputError, EmptyInputError, UnknownFormatError, ModalityMismatchError, and the decoders' errors.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = name or "upload"
    else:
        path = Path(source)
        name = name or path.name
        try:
            if path.exists() and not path.is_dir() and not path.is_file():
                raise UnreadableInputError(f"'{name}' is not a regular file (a device, pipe or socket).",
                                           "Name a recording or image file.")
            check_input_bytes(path.stat().st_size, name)
            data = path.read_bytes()
        except FileNotFoundError as error:
            raise UnreadableInputError(f"'{path}' does not exist.", "Check the path and its spelling.") from error
        except IsADirectoryError as error:
            raise UnreadableInputError(f"'{path}' is a folder, not a file.",
                                       "Name the recording or image inside it.") from error
        except OSError as error:
            raise UnreadableInputError(f"'{path}' cannot be read ({error.strerror}).",
                                       "Check that the file exists and that you may read it.") from error
    check_input_bytes(len(data), name)
    if not data:
        raise EmptyInputError(f"'{name}' is empty (0 bytes).",
                              "The upload or copy probably failed; choose the file again.")
    source_format = sniff_format(data)
    if source_format is None and name.lower().endswith((".dcm", ".dicom")):
        source_format = "dicom"  # DICOM files written without the 128-byte preamble and "DICM" marker
    if source_format is None:
        raise UnknownFormatError(f"'{name}' is not in a supported format.",
                                 f"Supported formats are {SUPPORTED_FORMATS_TEXT}. Convert the file to one of them.")
    found = FORMAT_MODALITY[source_format]
    if modality is not None and modality != found:
        wanted = "a speech recording" if modality == "audio" else "a chest X-ray"
        raise ModalityMismatchError(f"'{name}' is a {source_format} file ({found}), but {wanted} was expected.",
                                    "Choose a file of the right kind, or a model for this kind of input.")
    sha256 = hashlib.sha256(data).hexdigest()
    if found == "audio":
        return decode_audio(data, name=name, source_format=source_format, sha256=sha256)
    if source_format == "dicom":
        return decode_dicom(data, name=name, sha256=sha256)
    return decode_raster(data, name=name, source_format=source_format, sha256=sha256)
