"""X-ray decoding: PNG modes and depths, JPEG, DICOM rules, size limits and DICOM errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import SECRET_PATIENT_ID, SECRET_PATIENT_NAME, chest_image, dicom_bytes, png_bytes
from xaiscope.errors import DicomError, ImageSizeError, UnreadableInputError
from xaiscope.inputs import XraySample, load_input


def _gray8() -> np.ndarray:
    return np.round(chest_image() * 255).astype(np.uint8)


def test_png_8bit_gray_is_exact():
    gray = _gray8()
    sample = load_input(png_bytes(gray), name="chest.png")
    assert isinstance(sample, XraySample) and sample.source_format == "png"
    assert sample.image.shape == gray.shape and sample.image.dtype == np.float32
    np.testing.assert_array_equal(sample.display, gray)
    assert sample.metadata["bit_depth"] == 8


def test_png_16bit_is_stretched_from_its_own_range():
    values = (chest_image() * 4095).astype(np.uint16)  # a 12-bit radiograph in a 16-bit container
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG")
    sample = load_input(buffer.getvalue())
    assert sample.metadata["bit_depth"] == 16
    assert sample.image.min() == 0.0 and sample.image.max() == 1.0
    expected = (values - values.min()) / float(values.max() - values.min())
    np.testing.assert_allclose(sample.image, expected, atol=1e-6)


def test_png_rgb_uses_luma():
    gray = _gray8()
    rgb = np.stack([gray, gray, gray], axis=2)
    np.testing.assert_array_equal(load_input(png_bytes(rgb)).display, gray)


def test_png_rgba_is_composited_on_black():
    gray = _gray8()
    alpha = np.full_like(gray, 255)
    alpha[:, :20] = 0
    rgba = np.stack([gray, gray, gray, alpha], axis=2)
    image = load_input(png_bytes(rgba)).display
    assert np.all(image[:, :20] == 0)
    np.testing.assert_array_equal(image[:, 20:], gray[:, 20:])


def test_png_palette():
    gray = _gray8()
    palette_image = Image.fromarray(gray).convert("P")
    buffer = io.BytesIO()
    palette_image.save(buffer, format="PNG")
    decoded = load_input(buffer.getvalue()).display
    assert np.abs(decoded.astype(int) - np.asarray(palette_image.convert("L"), dtype=int)).max() == 0


def test_jpeg_and_exif_orientation():
    gray = _gray8()
    picture = Image.fromarray(gray)
    exif = picture.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=95, exif=exif)
    sample = load_input(buffer.getvalue(), name="chest.jpg")
    assert sample.source_format == "jpeg"
    assert sample.image.shape == (gray.shape[1], gray.shape[0])  # rotated into display orientation


def test_dicom_monochrome2_with_window_and_rescale():
    raw = (chest_image() * 4095).astype(np.uint16)
    data = dicom_bytes(raw, slope=2.0, intercept=-1000.0, window=(3095.0, 8190.0))
    sample = load_input(data, name="chest.dcm")
    assert sample.source_format == "dicom"
    modality_values = raw * 2.0 - 1000.0
    expected = np.clip((modality_values - (3095 - 0.5)) / (8190 - 1) + 0.5, 0, 1)
    np.testing.assert_allclose(sample.image, expected, atol=1e-5)
    assert sample.metadata["voi"].startswith("window C=3095 W=8190")
    assert sample.metadata["view_position"] == "PA"


def test_dicom_monochrome1_is_inverted():
    raw = (chest_image() * 4095).astype(np.uint16)
    mono2 = load_input(dicom_bytes(raw, photometric="MONOCHROME2")).image
    mono1 = load_input(dicom_bytes(raw, photometric="MONOCHROME1")).image
    np.testing.assert_allclose(mono1, 1.0 - mono2, atol=1e-6)


def test_dicom_without_window_is_stretched():
    raw = (100 + chest_image() * 1000).astype(np.uint16)
    image = load_input(dicom_bytes(raw)).image
    assert image.min() == 0.0 and image.max() == pytest.approx(1.0)


def test_dicom_without_preamble_is_recognised_by_extension():
    raw = (chest_image() * 4095).astype(np.uint16)
    data = dicom_bytes(raw, preamble=False)
    assert data[128:132] != b"DICM"
    assert load_input(data, name="raw.dcm").source_format == "dicom"


def test_dicom_rle_compressed_is_decoded():
    import pydicom
    from pydicom.uid import RLELossless

    raw = (chest_image() * 4095).astype(np.uint16)
    dataset = pydicom.dcmread(io.BytesIO(dicom_bytes(raw)))
    dataset.compress(RLELossless)
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    sample = load_input(buffer.getvalue())
    assert sample.metadata["transfer_syntax"] == "RLE Lossless"
    np.testing.assert_allclose(sample.image, load_input(dicom_bytes(raw)).image)


def test_dicom_undecodable_compression_is_refused_with_its_name():
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGLSLossless

    raw = (chest_image() * 4095).astype(np.uint16)
    dataset = pydicom.dcmread(io.BytesIO(dicom_bytes(raw)))
    dataset.file_meta.TransferSyntaxUID = JPEGLSLossless
    dataset.PixelData = encapsulate([b"\xff\xd8\xff\xf7not-really-jpeg-ls\xff\xd9"])
    buffer = io.BytesIO()
    dataset.save_as(buffer)
    with pytest.raises(DicomError, match="JPEG-LS Lossless") as caught:
        load_input(buffer.getvalue(), name="compressed.dcm")
    assert "pylibjpeg" in caught.value.hint


def test_dicom_without_pixel_data():
    with pytest.raises(DicomError, match="without pixel data"):
        load_input(dicom_bytes(np.zeros((128, 128), np.uint16), with_pixels=False), name="report.dcm")


def test_dicom_never_exposes_patient_identifiers():
    sample = load_input(dicom_bytes((chest_image() * 4095).astype(np.uint16)))
    text = repr(sample) + str(sample.describe())
    assert SECRET_PATIENT_NAME not in text and SECRET_PATIENT_ID not in text and "Doe" not in text


def test_image_too_small():
    with pytest.raises(ImageSizeError, match="too small") as caught:
        load_input(png_bytes(np.zeros((40, 300), np.uint8)), name="tiny.png")
    assert "64" in caught.value.hint


def test_image_too_large_is_refused_before_decoding():
    with pytest.raises(ImageSizeError, match="too large") as caught:
        load_input(png_bytes(np.zeros((64, 20001), np.uint8)), name="strip.png")
    assert "20000" in caught.value.hint


def test_dicom_too_small():
    with pytest.raises(ImageSizeError):
        load_input(dicom_bytes(np.zeros((32, 32), np.uint16)))


def test_truncated_png():
    data = png_bytes(_gray8())
    with pytest.raises(UnreadableInputError, match="cannot be decoded"):
        load_input(data[: len(data) // 2], name="cut.png")
