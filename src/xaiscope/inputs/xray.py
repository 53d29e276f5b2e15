"""Decode chest radiographs (PNG, JPEG, TIFF, DICOM) into an :class:`XraySample`.

Rules, stated once:

* **PNG / JPEG / TIFF** (Pillow): a multi-page TIFF uses its first page. EXIF orientation is applied. Palette
  images are expanded; alpha is composited onto black (transparent = no signal); colour is reduced to luma with
  ITU-R 601-2 weights (what Pillow's ``"L"`` conversion does, so 8-bit inputs match what the earlier tool's
  weights saw). 8-bit images are scaled by 1/255; images with more than 8 bits (16-bit PNG or TIFF, 32-bit
  integer or float TIFF; non-finite values count as 0) are stretched from their own minimum to maximum, because
  12- and 14-bit radiographs are usually stored in 16-bit containers without saying so. Size limits:
  :mod:`xaiscope.inputs.limits` (checked from the header, before the pixels are decoded).
* **DICOM** (pydicom): the modality LUT (Rescale Slope / Intercept) is applied, then the first VOI window
  (Window Center / Width, with its VOI LUT Function) or the VOI LUT Sequence; without either, the image is
  stretched from its minimum to maximum. MONOCHROME1 is inverted so that bright always means dense. Multi-frame
  files use their first frame. Compressed transfer syntaxes are decoded by whatever pixel handler pydicom finds
  (Pillow covers JPEG baseline; install ``pylibjpeg`` for JPEG-LS / lossless / 2000); otherwise refused with a
  message naming the transfer syntax.
* **Privacy**: only technical attributes are read (size, bits, photometric interpretation, modality, body part
  examined, view, transfer syntax, window). Patient and study identifiers are never read into the sample, so
  they cannot be printed, logged or shown.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xaiscope.errors import DicomError, ImageSizeError, UnreadableInputError
from xaiscope.inputs.limits import MAX_PIXELS, MAX_SIDE, MIN_SIDE, check_image_size, decompression_bomb_error
from xaiscope.inputs.sample import XraySample

__all__ = ["MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "check_image_size", "decode_dicom", "decode_raster"]


def decode_raster(data: bytes, *, name: str, source_format: str, sha256: str) -> XraySample:
    """Decode a PNG, JPEG or TIFF radiograph.

    Returns:
        A sample whose ``image`` has shape ``(height, width)``, float32 in [0, 1].

    Raises:
        UnreadableInputError: Pillow cannot decode the bytes.
        ImageSizeError: the image is outside :data:`MIN_SIDE` .. :data:`MAX_SIDE` / :data:`MAX_PIXELS`.
    """
    try:
        opened = Image.open(io.BytesIO(data))
        check_image_size(opened.width, opened.height, name)
        opened.load()
        picture = ImageOps.exif_transpose(opened)
    except ImageSizeError:
        raise
    except Image.DecompressionBombError as error:  # Image.open refuses > 2x Pillow's limit before our check
        raise decompression_bomb_error(error, name) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error,
            ZeroDivisionError, IndexError, KeyError, TypeError) as error:  # Pillow's plugins raise all of these
        raise UnreadableInputError(f"'{name}' looks like a {source_format} image but cannot be decoded ({error}).",
                                   "The file is probably damaged or truncated; export it again.") from error
    mode = picture.mode
    saturation = colour_saturation(picture)
    try:
        image, bit_depth = _to_gray_unit(picture)
    except (ValueError, OSError, TypeError) as error:
        raise UnreadableInputError(f"'{name}' stores its pixels as '{mode}', which cannot be read as a grayscale "
                                   "radiograph.", "Save it as an 8- or 16-bit grayscale PNG or TIFF.") from error
    metadata: dict[str, Any] = {"width": image.shape[1], "height": image.shape[0], "mode": mode,
                                "bit_depth": bit_depth, "colour_saturation": saturation}
    return XraySample(name=name, source_format=source_format, sha256=sha256, metadata=metadata, image=image)


def colour_saturation(picture: Image.Image) -> float:
    """Mean HSV saturation of the picture's pixels, in [0, 1], on a copy at most 256 pixels on a side.

    A radiograph is gray (0, or near 0 after JPEG chroma noise); a photograph or a drawing in colour is not. Read
    before the picture is reduced to luma, so the check of :mod:`xaiscope.trust.xray_checks` can say so.
    """
    if picture.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        return 0.0
    small = picture.copy()
    small.thumbnail((256, 256))
    hsv = np.asarray(small.convert("RGB").convert("HSV"), dtype=np.float32)
    return round(float(hsv[:, :, 1].mean() / 255.0), 4)


def _to_gray_unit(picture: Image.Image) -> tuple[np.ndarray, int]:
    """Pillow image of any mode -> ``(height, width)`` float32 in [0, 1], and the source bit depth."""
    if picture.mode.startswith("I") or picture.mode == "F":  # 16/32-bit integer and 32-bit float (PNG, TIFF)
        values = np.asarray(picture, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        return _stretch(values), 16 if picture.mode.startswith("I;16") else 32
    if picture.mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    elif picture.mode in ("PA", "La"):
        picture = picture.convert("RGBA")
    if picture.mode in ("RGBA", "LA", "RGBa"):
        background = Image.new("RGBA", picture.size, (0, 0, 0, 255))
        picture = Image.alpha_composite(background, picture.convert("RGBA"))
    gray = picture.convert("L")
    return np.asarray(gray, dtype=np.float32) / 255.0, 8 if picture.mode != "1" else 1


def _stretch(values: np.ndarray) -> np.ndarray:
    """Linearly map ``values`` from their own min..max to [0, 1] (a constant image becomes all zeros)."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.zeros(values.shape, np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


# --- DICOM --------------------------------------------------------------------------------------------------


def decode_dicom(data: bytes, *, name: str, sha256: str) -> XraySample:
    """Decode a DICOM radiograph (see the module docstring for the rules).

    Returns:
        A sample whose ``image`` has shape ``(rows, columns)``, float32 in [0, 1], bright = dense.

    Raises:
        DicomError: no pixel data, an undecodable compressed transfer syntax, or a colour/multi-sample image.
        UnreadableInputError: the DICOM structure itself is damaged.
        ImageSizeError: rows or columns outside the limits.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError) as error:
        raise UnreadableInputError(f"'{name}' looks like a DICOM file but its structure cannot be read.",
                                   "The file is probably damaged or truncated; export it again.") from error
    if "PixelData" not in dataset and "FloatPixelData" not in dataset and "DoubleFloatPixelData" not in dataset:
        raise DicomError(f"'{name}' is a DICOM file without pixel data (it may be a report, a structured "
                         "document or a presentation state).",
                         "Export the image itself (the object that holds Pixel Data) from your PACS.")
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    try:
        declared_frames = max(int(dataset.get("NumberOfFrames", 1) or 1), 1)
    except (TypeError, ValueError):
        declared_frames = 1
    check_image_size(columns, rows, name, frames=declared_frames)
    samples_per_pixel = int(dataset.get("SamplesPerPixel", 1))
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    transfer_syntax = dataset.file_meta.get("TransferSyntaxUID") if hasattr(dataset, "file_meta") else None
    syntax_name = getattr(transfer_syntax, "name", str(transfer_syntax or "unknown"))
    try:
        pixels = dataset.pixel_array
    except Exception as error:  # pydicom raises NotImplementedError/RuntimeError/ValueError per handler
        compressed = bool(transfer_syntax is not None and getattr(transfer_syntax, "is_compressed", False))
        if compressed:
            raise DicomError(
                f"'{name}' is compressed with '{syntax_name}', which this installation cannot decode.",
                "Install a decoder (`pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg`) or convert "
                "the file to an uncompressed transfer syntax (e.g. `gdcmconv --raw in.dcm out.dcm`).") from error
        raise DicomError(f"'{name}': its pixel data cannot be decoded ({type(error).__name__}).",
                         "The file is probably damaged or truncated; export it again.") from error
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        pixels = pixels[0]
    if samples_per_pixel != 1 or pixels.ndim != 2:
        raise DicomError(f"'{name}' holds a {photometric} image with {samples_per_pixel} samples per pixel; "
                         "a radiograph is expected to be grayscale.",
                         "Choose the grayscale radiograph itself, not a screenshot or secondary capture.")
    values = np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float64)
    image, voi = _apply_voi(values, dataset, apply_voi_lut)
    if photometric == "MONOCHROME1":
        image = 1.0 - image
    metadata = {
        "width": columns,
        "height": rows,
        "bit_depth": int(dataset.get("BitsStored", dataset.get("BitsAllocated", 0)) or 0),
        "photometric": photometric,
        "dicom_modality": str(dataset.get("Modality", "")),
        "body_part": str(dataset.get("BodyPartExamined", "")),
        "view_position": str(dataset.get("ViewPosition", "")),
        "transfer_syntax": syntax_name,
        "frames": frames,
        "voi": voi,
    }
    return XraySample(name=name, source_format="dicom", sha256=sha256, metadata=metadata,
                      image=np.ascontiguousarray(image, dtype=np.float32))


def _apply_voi(values: np.ndarray, dataset: Any, apply_voi_lut: Any) -> tuple[np.ndarray, str]:
    """Map modality values to [0, 1] through the file's first VOI window or VOI LUT.

    Returns:
        The image in [0, 1] and a short description of what was applied.
    """
    center, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    if center is not None and width is not None:
        center = float(center[0] if _is_multi(center) else center)
        width = float(width[0] if _is_multi(width) else width)
        function = str(dataset.get("VOILUTFunction", "LINEAR")).strip().upper() or "LINEAR"
        if width > 0:
            return _window(values, center, width, function), f"window C={center:g} W={width:g} {function}"
    if "VOILUTSequence" in dataset:
        looked_up = np.asarray(apply_voi_lut(values, dataset, index=0), dtype=np.float64)
        descriptor = dataset.VOILUTSequence[0].LUTDescriptor
        top = float(2 ** int(descriptor[2]) - 1)
        return np.clip(looked_up / top, 0.0, 1.0), "VOI LUT sequence"
    return _stretch(values), "min-max"


def _window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2 windowing to [0, 1] (LINEAR, LINEAR_EXACT, SIGMOID)."""
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / width + 0.5, 0.0, 1.0)
    if width < 1:  # LINEAR needs width >= 1
        width = 1.0
    return np.clip((values - (center - 0.5)) / max(width - 1.0, 1e-9) + 0.5, 0.0, 1.0)


def _is_multi(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str | bytes)
