"""Tests of smpqa.io: every fixture file is generated in tmp_path."""

from __future__ import annotations

import builtins
import os
import re
import struct
import sys
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps, PngImagePlugin

from smpqa.errors import CalibrationError, ImageError
from smpqa.io import PX_PER_MM_KEY, load_image, read_px_per_mm, save_png

RNG = np.random.default_rng(1234)


def _random_rgb(height: int = 17, width: int = 23) -> np.ndarray:
    return RNG.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def _check_rgb8(out: np.ndarray, shape: tuple[int, int]) -> None:
    assert out.dtype == np.uint8
    assert out.shape == (*shape, 3)
    assert out.flags.c_contiguous and out.flags.writeable


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bytes(width, height, depth, colour_type, idat, after=b"") -> bytes:
    """A PNG built by hand, for layouts Pillow will not write."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", idat)
        + after
        + _chunk(b"IEND", b"")
    )


def _match(path) -> str:
    return re.escape(os.fspath(path))


# --- formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        (".png", {}),
        (".tif", {}),
        (".tiff", {"compression": "tiff_deflate"}),
        (".webp", {"lossless": True}),
    ],
)
def test_lossless_formats_round_trip_exactly(tmp_path, suffix, options):
    rgb = _random_rgb()
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(rgb).save(path, **options)
    out = load_image(path)
    _check_rgb8(out, rgb.shape[:2])
    np.testing.assert_array_equal(out, rgb)


def test_jpeg_round_trips_within_tolerance(tmp_path):
    y, x = np.mgrid[0:32, 0:48]
    rgb = np.stack([x * 5, y * 7, (x + y) * 2], axis=-1).astype(np.uint8)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, quality=95)
    out = load_image(str(path))
    _check_rgb8(out, (32, 48))
    diff = np.abs(out.astype(int) - rgb)
    assert diff.max() <= 12 and diff.mean() < 2


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grey_scales_to_8bit(tmp_path, suffix):
    grey = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / f"grey16{suffix}"
    assert cv2.imwrite(str(path), grey)
    out = load_image(path)
    _check_rgb8(out, (1, 4))
    expected = np.array([0, 4, 128, 255], dtype=np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(out[0, :, channel], expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_rgb_keeps_precision_and_channel_order(tmp_path, suffix):
    rgb = np.array([[[65535, 0, 32768], [1000, 257, 128]]], dtype=np.uint16)
    path = tmp_path / f"rgb16{suffix}"
    assert cv2.imwrite(str(path), rgb[..., ::-1])  # OpenCV writes BGR
    out = load_image(path)
    # Pillow alone would give 3 for 1000 (high byte) and 0 for 128.
    np.testing.assert_array_equal(out, [[[255, 0, 128], [4, 1, 0]]])


def test_16bit_grey_alpha_png_is_composited(tmp_path):
    pixels = np.array([[[0, 32768], [0, 0], [65535, 65535]]], dtype=">u2")
    path = tmp_path / "la16.png"
    path.write_bytes(_png_bytes(3, 1, 16, 4, zlib.compress(b"\0" + pixels.tobytes())))
    out = load_image(path)
    np.testing.assert_array_equal(out[0, :, 0], [127, 255, 255])
    np.testing.assert_array_equal(load_image(path, alpha="drop")[0, :, 0], [0, 0, 255])


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale_is_replicated(tmp_path, mode):
    grey = (RNG.integers(0, 2, size=(9, 11)) * 255).astype(np.uint8)
    path = tmp_path / f"grey_{mode}.png"
    Image.fromarray(grey).convert(mode).save(path)
    out = load_image(path)
    _check_rgb8(out, grey.shape)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], grey)


def test_palette_image(tmp_path):
    image = Image.new("P", (4, 2))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    image.putdata([0, 1, 2, 0, 2, 2, 1, 0])
    path = tmp_path / "palette.png"
    image.save(path)
    out = load_image(path)
    np.testing.assert_array_equal(out[0, :3], [[255, 0, 0], [0, 255, 0], [0, 0, 255]])


def test_palette_transparency_is_composited(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 40, 50, 60] + [0] * 762)
    image.putdata([0, 1])
    path = tmp_path / "palette_trns.png"
    image.save(path, transparency=1)
    np.testing.assert_array_equal(load_image(path)[0], [[10, 20, 30], [255, 255, 255]])


@pytest.mark.parametrize("suffix", [".tif", ".jpg"])
def test_cmyk_is_converted_to_rgb(tmp_path, suffix):
    image = Image.new("CMYK", (8, 8), (255, 0, 0, 0))  # pure cyan
    image.paste((0, 0, 0, 255), (0, 0, 4, 8))  # black left half
    path = tmp_path / f"cmyk{suffix}"
    image.save(path)
    out = load_image(path).astype(int)
    tolerance = 0 if suffix == ".tif" else 8
    assert np.abs(out[4, 6] - [0, 255, 255]).max() <= tolerance
    assert np.abs(out[4, 1] - [0, 0, 0]).max() <= tolerance


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_rgba_composited_on_white_or_dropped(tmp_path, suffix):
    rgba = np.array(
        [[[0, 0, 0, 128], [10, 20, 30, 0], [10, 20, 30, 255], [200, 100, 50, 255]]],
        dtype=np.uint8,
    )
    path = tmp_path / f"alpha{suffix}"
    Image.fromarray(rgba).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    out = load_image(path).astype(int)
    assert np.abs(out[0, 0] - 128).max() <= 1  # half-transparent black
    np.testing.assert_array_equal(out[0, 1], [255, 255, 255])  # fully transparent
    np.testing.assert_array_equal(out[0, 2:], rgba[0, 2:, :3])
    dropped = load_image(path, alpha="drop")
    np.testing.assert_array_equal(dropped[0, 0], [0, 0, 0])
    if suffix != ".webp":  # lossless WebP may rewrite the colour of invisible pixels
        np.testing.assert_array_equal(dropped[0, 1], [10, 20, 30])


def test_grey_alpha_png(tmp_path):
    path = tmp_path / "la.png"
    Image.fromarray(np.array([[[0, 128], [90, 0]]], dtype=np.uint8), mode="LA").save(path)
    out = load_image(path)
    assert abs(int(out[0, 0, 0]) - 128) <= 1
    np.testing.assert_array_equal(out[0, 1], [255, 255, 255])


def _marked_image(height: int = 20, width: int = 40) -> np.ndarray:
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[:6, :6] = (255, 0, 0)  # marks the stored top-left corner
    return rgb


def test_exif_orientation_6_rotates_jpeg(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    path = tmp_path / "rotated.jpg"
    Image.fromarray(_marked_image()).save(path, exif=exif, quality=95)
    out = load_image(path)
    _check_rgb8(out, (40, 20))
    assert out[:4, -4:, 0].min() > 200 and out[:4, -4:, 1:].max() < 60  # now top-right
    assert out[:4, :4].max() < 60


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    rgb = _random_rgb(5, 7)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "oriented.png"
    Image.fromarray(rgb).save(path, exif=exif)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    np.testing.assert_array_equal(load_image(path), expected)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("orientation", [3, 6])
def test_exif_orientation_applied_once_on_16bit_path(tmp_path, suffix, orientation):
    grey = np.zeros((20, 40), dtype=np.uint16)
    grey[:6, :6] = 65535
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"oriented16{suffix}"
    Image.fromarray(grey).save(path, exif=exif)
    out = load_image(path)[..., 0]
    if orientation == 6:
        assert out.shape == (40, 20) and out[0, -1] == 255 and out[-1, 0] == 0
    else:
        assert out.shape == (20, 40) and out[-1, -1] == 255 and out[0, 0] == 0


# --- arrays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "full"), [(np.uint8, 255), (np.uint16, 65535), (">u2", 65535), (np.float32, 1.0),
                        (np.float64, 1.0), (np.float16, 1.0)],
)  # fmt: skip
@pytest.mark.parametrize("shape", [(6, 5), (6, 5, 1), (6, 5, 3), (6, 5, 4)])
def test_arrays_of_every_accepted_dtype_and_shape(dtype, full, shape):
    array = np.zeros(shape, dtype=dtype)
    array[0, 0] = full  # white, opaque where there is alpha
    if len(shape) == 3 and shape[2] == 4:
        array[..., 3] = full
    array.flags.writeable = False
    before = array.copy()
    out = load_image(array)
    _check_rgb8(out, (6, 5))
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[1:, 1:], 0)
    np.testing.assert_array_equal(array, before)
    assert not np.shares_memory(out, array)


def test_array_values_scale_with_rounding():
    np.testing.assert_array_equal(
        load_image(np.array([[0, 1000, 32768, 65535]], dtype=np.uint16))[0, :, 0], [0, 4, 128, 255]
    )
    floats = np.array([[0.0, 0.5 / 255, 0.5, 1.0, -1e-7, 1 + 1e-7]])
    np.testing.assert_array_equal(load_image(floats)[0, :, 0], [0, 0, 128, 255, 0, 255])


def test_array_alpha_and_inputs_left_untouched():
    rgba = np.array([[[0, 0, 0, 128], [10, 20, 30, 0]]], dtype=np.uint8)
    before = rgba.copy()
    white = load_image(rgba)
    assert abs(int(white[0, 0, 0]) - 128) <= 1
    np.testing.assert_array_equal(white[0, 1], [255, 255, 255])
    np.testing.assert_array_equal(load_image(rgba, alpha="drop")[0], [[0, 0, 0], [10, 20, 30]])
    np.testing.assert_array_equal(rgba, before)


def test_rgb_array_is_copied_even_when_already_canonical():
    rgb = _random_rgb()
    out = load_image(rgb)
    np.testing.assert_array_equal(out, rgb)
    out[...] = 0
    assert rgb.any()


def test_non_contiguous_array():
    rgb = _random_rgb(20, 30)
    view = rgb[::2, ::3]
    out = load_image(view)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, view)


@pytest.mark.parametrize(
    ("array", "pattern"),
    [
        (np.full((4, 4), np.nan), "NaN or infinite"),
        (np.full((4, 4, 3), np.inf, dtype=np.float32), "NaN or infinite"),
        (np.full((4, 4), 1.5), r"\[0, 1\]"),
        (np.full((4, 4), -0.01), r"\[0, 1\]"),
        (np.full((4, 4, 3), 255.0), r"\[0, 1\]"),
        (np.zeros((4, 4), dtype=bool), "boolean"),
        (np.zeros((4, 4), dtype=np.int32), "dtype int32"),
        (np.zeros((4, 4), dtype=np.complex64), "dtype complex64"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "empty"),
        (np.zeros((4, 0), dtype=np.uint8), "empty"),
        (np.zeros(12, dtype=np.uint8), "shape"),
        (np.zeros((2, 4, 4, 3), dtype=np.uint8), "shape"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "shape"),
        (np.zeros((4, 4, 5), dtype=np.uint8), "shape"),
    ],
)
def test_unusable_arrays_raise_image_error(array, pattern):
    with pytest.raises(ImageError, match=f"array.*{pattern}"):
        load_image(array)


def test_array_pixel_limit():
    with pytest.raises(ImageError, match=r"array.*10x10.*max_pixels="):
        load_image(np.zeros((10, 10), dtype=np.uint8), max_pixels=99)
    assert load_image(np.zeros((10, 10), dtype=np.uint8), max_pixels=100).shape == (10, 10, 3)
    assert load_image(np.zeros((10, 10), dtype=np.uint8), max_pixels=None).shape == (10, 10, 3)


@pytest.mark.parametrize("source", [3, 2.5, b"photo.png", [[0, 0]], None])
def test_other_source_types_raise_type_error(source):
    with pytest.raises(TypeError, match=type(source).__name__):
        load_image(source)


@pytest.mark.parametrize("max_pixels", [0, -5, 1.5, True, "100", 10**6 + 0.0])
def test_bad_max_pixels_raises_value_error(max_pixels):
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(np.zeros((2, 2), dtype=np.uint8), max_pixels=max_pixels)


@pytest.mark.parametrize("alpha", ["black", "", None, "WHITE"])
def test_bad_alpha_raises_value_error(alpha):
    with pytest.raises(ValueError, match="alpha"):
        load_image(np.zeros((2, 2), dtype=np.uint8), alpha=alpha)


def test_numpy_integer_max_pixels_is_accepted():
    assert load_image(np.zeros((2, 2), dtype=np.uint8), max_pixels=np.int64(4)).shape == (2, 2, 3)


# --- unreadable files ----------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "missing.jpg"
    with pytest.raises(ImageError, match=_match(path) + ".*does not exist"):
        load_image(path)


def test_directory(tmp_path):
    with pytest.raises(ImageError, match=_match(tmp_path) + ".*directory"):
        load_image(tmp_path)


def test_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    Image.fromarray(_random_rgb()).save(path)
    path.chmod(0)
    if os.access(path, os.R_OK):  # e.g. running as root: simulate the denial
        real_open = builtins.open

        def guarded_open(file, *args, **kwargs):
            if os.fspath(file) == os.fspath(path):
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", guarded_open)
    try:
        with pytest.raises(ImageError, match=_match(path) + ".*permission denied"):
            load_image(path)
    finally:
        path.chmod(0o644)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=_match(path) + ".*empty"):
        load_image(path)


def test_text_file_with_image_extension(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a photo\n" * 10)
    with pytest.raises(ImageError, match=_match(path) + ".*not a JPEG, PNG, TIFF or WebP"):
        load_image(path)


def test_other_image_format_is_rejected(tmp_path):
    path = tmp_path / "photo.bmp"
    Image.fromarray(_random_rgb()).save(path)
    with pytest.raises(ImageError, match=_match(path) + ".*not a JPEG, PNG, TIFF or WebP"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_truncated_file(tmp_path, suffix):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    full = tmp_path / f"full{suffix}"
    Image.fromarray(_random_rgb(64, 64)).save(full)
    data = full.read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=_match(path) + ".*truncated or corrupt"):
        load_image(path)


def test_truncated_16bit_png(tmp_path):
    path = tmp_path / "cut16.png"
    assert cv2.imwrite(str(path), RNG.integers(0, 65535, (64, 64, 3), dtype=np.uint16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=_match(path) + ".*truncated or corrupt"):
        load_image(path)


def test_corrupt_png_checksum(tmp_path):
    path = tmp_path / "crc.png"
    Image.fromarray(_random_rgb()).save(path)
    data = bytearray(path.read_bytes())
    data[29] ^= 0xFF  # first byte of the IHDR checksum
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=_match(path) + ".*header is damaged"):
        load_image(path)


def test_unsupported_colour_mode(tmp_path):
    path = tmp_path / "lab.tif"
    Image.new("LAB", (4, 4)).save(path)
    with pytest.raises(ImageError, match=_match(path) + ".*unsupported colour mode 'LAB'"):
        load_image(path)


def test_small_file_above_pixel_limit(tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(_random_rgb(10, 20)).save(path)
    with pytest.raises(ImageError, match=_match(path) + r".*20x10 = 200 pixels.*limit of 199.*"
                       r"pass max_pixels=\.\.\. to raise it"):  # fmt: skip
        load_image(path, max_pixels=199)
    assert load_image(path, max_pixels=200).shape == (10, 20, 3)
    assert load_image(path, max_pixels=None).shape == (10, 20, 3)


def _huge_1bit_png(path, side: int = 20000) -> None:
    row = b"\0" + b"\0" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    path.write_bytes(_png_bytes(side, side, 1, 0, idat))


def test_huge_header_rejected_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    _huge_1bit_png(path)
    assert path.stat().st_size < 200_000

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError, match=_match(path) + ".*20000x20000.*max_pixels="):
            load_image(path)


def test_pillow_limit_neither_applies_nor_leaks(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    warn_size = tmp_path / "warn.png"  # above Pillow's limit: it would warn
    Image.fromarray(_random_rgb(12, 12)).save(warn_size)
    error_size = tmp_path / "error.png"  # above twice the limit: it would raise
    Image.fromarray(_random_rgb(30, 30)).save(error_size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(warn_size).shape == (12, 12, 3)
        assert load_image(error_size).shape == (30, 30, 3)
        assert read_px_per_mm(error_size) is None
        with pytest.raises(ImageError, match="max_pixels="):
            load_image(error_size, max_pixels=899)
    assert Image.MAX_IMAGE_PIXELS == 100


def test_pillow_limit_restored_after_concurrent_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    paths = []
    for index in range(8):
        paths.append(tmp_path / f"photo{index}.png")
        Image.fromarray(_random_rgb(30, 30)).save(paths[-1])
    with ThreadPoolExecutor(max_workers=4) as pool:
        shapes = list(pool.map(lambda p: load_image(p).shape, paths * 4))
    assert shapes == [(30, 30, 3)] * 32
    assert Image.MAX_IMAGE_PIXELS == 100


def test_errors_are_chained_not_leaked(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(_random_rgb(64, 64)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert isinstance(info.value.__cause__, Exception)
    assert isinstance(info.value, ValueError)


# --- calibration -------------------------------------------------------------


@pytest.mark.parametrize("value", [12.5, 1 / 3, 1e-3, 4000.0])
def test_px_per_mm_round_trip(tmp_path, value):
    path = tmp_path / "calibrated.png"
    save_png(path, _random_rgb(), px_per_mm=value)
    assert read_px_per_mm(path) == value
    assert read_px_per_mm(str(path)) == value


def test_px_per_mm_absent(tmp_path):
    png = tmp_path / "plain.png"
    save_png(png, _random_rgb())
    assert read_px_per_mm(png) is None
    jpg = tmp_path / "plain.jpg"
    Image.fromarray(_random_rgb()).save(jpg)
    assert read_px_per_mm(jpg) is None
    assert read_px_per_mm(_random_rgb()) is None


def test_px_per_mm_after_pixel_data_is_found(tmp_path):
    path = tmp_path / "late_text.png"
    text = _chunk(b"tEXt", PX_PER_MM_KEY.encode() + b"\0" + b"7.25")
    idat = zlib.compress(b"\0" + bytes(6))
    path.write_bytes(_png_bytes(2, 1, 8, 2, idat, after=text))
    assert read_px_per_mm(path) == 7.25


@pytest.mark.parametrize("bad", ["abc", "-3", "nan", "inf", "0", ""])
def test_bad_px_per_mm_raises_calibration_error(tmp_path, bad):
    path = tmp_path / "bad.png"
    info = PngImagePlugin.PngInfo()
    info.add_text(PX_PER_MM_KEY, bad)
    Image.fromarray(_random_rgb()).save(path, pnginfo=info)
    with pytest.raises(CalibrationError, match=_match(path)):
        read_px_per_mm(path)


def test_read_px_per_mm_unreadable_file(tmp_path):
    path = tmp_path / "missing.png"
    with pytest.raises(ImageError, match=_match(path)):
        read_px_per_mm(path)
    with pytest.raises(TypeError):
        read_px_per_mm(42)


# --- save_png ----------------------------------------------------------------


def test_save_png_round_trip_with_text(tmp_path):
    rgb = _random_rgb()
    path = tmp_path / "out.png"
    save_png(path, rgb, px_per_mm=20.0, text={"smpqa:source": "clinic A", "note": "naïve"})
    np.testing.assert_array_equal(load_image(path), rgb)
    with Image.open(path) as image:
        assert image.text["smpqa:source"] == "clinic A"
        assert image.text["note"] == "naïve"
        assert image.text[PX_PER_MM_KEY] == "20.0"
    assert os.listdir(tmp_path) == ["out.png"]


def test_save_png_replaces_existing_file_atomically(tmp_path):
    path = tmp_path / "out.png"
    save_png(path, np.zeros((3, 3, 3), dtype=np.uint8))
    save_png(str(path), np.full((4, 5, 3), 200, dtype=np.uint8))
    assert load_image(path).shape == (4, 5, 3)
    assert os.listdir(tmp_path) == ["out.png"]


def test_save_png_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    save_png(path, np.zeros((3, 3, 3), dtype=np.uint8))

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_png(path, np.full((4, 5, 3), 200, dtype=np.uint8))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["out.png"]
    assert load_image(path).shape == (3, 3, 3)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_save_png_respects_umask(tmp_path):
    path = tmp_path / "out.png"
    save_png(path, np.zeros((2, 2, 3), dtype=np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    "rgb",
    [
        np.zeros((4, 4, 3), dtype=np.float32),
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((4, 4, 4), dtype=np.uint8),
        np.zeros((0, 4, 3), dtype=np.uint8),
        [[[0, 0, 0]]],
    ],
)
def test_save_png_rejects_bad_arrays(tmp_path, rgb):
    with pytest.raises(ValueError, match="uint8 array of shape"):
        save_png(tmp_path / "out.png", rgb)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "abc"])
def test_save_png_rejects_bad_px_per_mm(tmp_path, value):
    with pytest.raises(CalibrationError, match="px_per_mm"):
        save_png(tmp_path / "out.png", np.zeros((2, 2, 3), dtype=np.uint8), px_per_mm=value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "text",
    [{"key": 3}, {4: "value"}, {PX_PER_MM_KEY: "12"}, {"": "value"}, {"k" * 80: "v"},
     {"clé€": "v"}],
)  # fmt: skip
def test_save_png_rejects_bad_text(tmp_path, text):
    with pytest.raises(ValueError, match="text|px_per_mm"):
        save_png(tmp_path / "out.png", np.zeros((2, 2, 3), dtype=np.uint8), text=text)
    assert os.listdir(tmp_path) == []


def test_rgb8_view_shares_rgb8_arrays_read_only_and_loads_the_rest():
    from smpqa.io import rgb8_view

    a = np.zeros((4, 5, 3), np.uint8)
    v = rgb8_view(a)
    assert np.shares_memory(v, a) and not v.flags.writeable and a.flags.writeable
    for other in (a[:, ::2], a.astype(np.uint16) * 257, a[..., 0], np.asfortranarray(a)):
        w = rgb8_view(other)
        assert w.dtype == np.uint8 and w.shape[2] == 3 and not np.shares_memory(w, other)
    with pytest.raises(ImageError, match="empty"):
        rgb8_view(np.zeros((0, 5, 3), np.uint8))
