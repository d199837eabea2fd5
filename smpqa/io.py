"""Reading photos into RGB arrays and writing calibrated PNGs.

Every photo smpqa judges passes through :func:`load_image`, which turns a
JPEG, PNG, TIFF or WebP file (or a numpy array) into one canonical form: an
8-bit RGB array of shape ``(H, W, 3)``.  Anything that cannot be turned into
that form raises :class:`~smpqa.errors.ImageError` with a message that names
the file, says what is wrong in plain words and what to do about it.

Notes
-----
Pillow has its own decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``)
that warns, or fails, on large images.  smpqa applies its own ``max_pixels``
limit instead, checked from the file header before any pixel is decoded.  To
keep Pillow's limit from overriding it (or leaking a
``DecompressionBombWarning``), ``PIL.Image.MAX_IMAGE_PIXELS`` is set to
``None`` while any smpqa call is reading a file and put back, under a lock,
when the last one finishes.  Code that uses Pillow directly in another thread
at that moment runs without Pillow's limit.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from smpqa.errors import CalibrationError, ImageError

__all__ = [
    "write_text_atomic",
    "shown_name",
    "DEFAULT_MAX_PIXELS",
    "PX_PER_MM_KEY",
    "load_image",
    "read_px_per_mm",
    "save_png",
]

PX_PER_MM_KEY = "smpqa:px_per_mm"
"""PNG text-chunk key holding the photo's scale in pixels per millimetre."""

DEFAULT_MAX_PIXELS = 100_000_000
"""Default pixel limit of :func:`load_image` (about 10000 x 10000)."""

_PathArg = str | os.PathLike[str]

# Pillow formats we accept (multi-picture camera JPEGs open as "JPEG" too, then become MPO).
_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP")
_ALPHA_CHOICES = ("white", "drop")
_ADVICE = "re-export the photo as JPEG or PNG"
_ORIENTATION_TAG = 0x0112
# C0/C1 controls, line and paragraph separators, and lone surrogates (undecodable bytes).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")

_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved: int | None = None


def load_image(
    source: _PathArg | np.ndarray,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    alpha: str = "white",
) -> np.ndarray:
    """Read a photo, or accept an array, as an 8-bit RGB image.

    Parameters
    ----------
    source : str, os.PathLike or numpy.ndarray
        Path of a JPEG, PNG, TIFF or WebP file, or an image array of dtype
        uint8, uint16 or float (values in [0, 1]) and shape ``(H, W)``,
        ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``.  The array is never
        modified.
    max_pixels : int or None, default 100_000_000
        Largest accepted ``H * W``.  Files are checked from their header,
        before decoding.  ``None`` disables the limit.
    alpha : {"white", "drop"}, default "white"
        What to do with an alpha channel: composite the image on a white
        background, or discard the alpha channel.

    Returns
    -------
    numpy.ndarray
        New C-contiguous uint8 array of shape ``(H, W, 3)``, RGB order, with
        the EXIF orientation applied.  16-bit data is scaled by
        ``round(value * 255 / 65535)``, float data by ``round(value * 255)``;
        grey is replicated to three channels.

    Raises
    ------
    smpqa.errors.ImageError
        The file is missing, unreadable, empty, not an image, truncated or
        corrupt, has an unsupported colour mode, or the image (file or array)
        is larger than `max_pixels` or otherwise unusable.
    TypeError
        `source` is neither a path nor a numpy array.
    ValueError
        `max_pixels` is not a positive int or None, or `alpha` is not one of
        "white" or "drop".

    Examples
    --------
    >>> import numpy as np
    >>> rgb = load_image(np.zeros((2, 3), dtype=np.uint16))
    >>> rgb.shape, rgb.dtype
    ((2, 3, 3), dtype('uint8'))
    """
    _check_options(max_pixels, alpha)
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels, alpha)
    path = _as_path(source)
    return _decode_file(path, max_pixels, alpha)


def read_px_per_mm(path: _PathArg | np.ndarray) -> float | None:
    """Read the scale stored in a photo by :func:`save_png`.

    Parameters
    ----------
    path : str, os.PathLike or numpy.ndarray
        Photo to inspect.  Arrays carry no metadata, so they give ``None``.

    Returns
    -------
    float or None
        Pixels per millimetre from the ``smpqa:px_per_mm`` text entry, or
        ``None`` when the file has no such entry.

    Raises
    ------
    smpqa.errors.CalibrationError
        The entry exists but is not a finite positive number.
    smpqa.errors.ImageError
        The file cannot be read (see :func:`load_image`).
    TypeError
        `path` is neither a path nor a numpy array.

    Notes
    -----
    PNG text placed after the pixel data is only found by decoding the image,
    which is done only for images within the default pixel limit.

    Examples
    --------
    >>> import numpy as np
    >>> read_px_per_mm(np.zeros((2, 2, 3), dtype=np.uint8)) is None
    True
    """
    if isinstance(path, np.ndarray):
        return None
    path = _as_path(path)
    name = shown_name(path)
    with _opened(path, name) as img:
        value = img.info.get(PX_PER_MM_KEY)
        small = img.width * img.height <= DEFAULT_MAX_PIXELS
        if value is None and img.format == "PNG" and small:
            value = img.text.get(PX_PER_MM_KEY)
    return None if value is None else _parse_px_per_mm(value, name)


def save_png(
    path: _PathArg,
    rgb: np.ndarray,
    *,
    px_per_mm: float | None = None,
    text: Mapping[str, str] | None = None,
) -> None:
    """Write an RGB image as PNG, atomically, with optional calibration text.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; replaced if it exists.
    rgb : numpy.ndarray
        uint8 array of shape ``(H, W, 3)``.
    px_per_mm : float, optional
        Scale to store under ``smpqa:px_per_mm`` (read back by
        :func:`read_px_per_mm`).
    text : mapping of str to str, optional
        Extra PNG text entries.  Keys are 1-79 Latin-1 characters.

    Raises
    ------
    ValueError
        `rgb` is not a non-empty uint8 ``(H, W, 3)`` array, or `text` is
        malformed.
    smpqa.errors.CalibrationError
        `px_per_mm` is not a finite positive number.
    OSError
        The file cannot be written; no partial file is left behind.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "photo.png")
    >>> save_png(out, np.zeros((4, 4, 3), dtype=np.uint8), px_per_mm=12.5)
    >>> read_px_per_mm(out)
    12.5
    """
    _check_rgb8(rgb)
    info = _png_text(px_per_mm, text)
    image = Image.fromarray(np.ascontiguousarray(rgb))
    with _atomic_writer(os.fspath(path)) as fh:
        image.save(fh, format="PNG", pnginfo=info)


# --- argument checks -------------------------------------------------------


def _check_options(max_pixels: object, alpha: object) -> None:
    if alpha not in _ALPHA_CHOICES:
        raise ValueError(f"alpha must be 'white' or 'drop', not {alpha!r}")
    if max_pixels is None:
        return
    is_int = isinstance(max_pixels, (int, np.integer)) and not isinstance(max_pixels, bool)
    if not is_int or max_pixels <= 0:
        raise ValueError(f"max_pixels must be a positive int or None, not {max_pixels!r}")


def _as_path(source: object) -> _PathArg:
    if isinstance(source, (str, os.PathLike)):
        return source
    raise TypeError(
        f"source must be a file path (str or os.PathLike) or a numpy array, "
        f"not {type(source).__name__}"
    )


def _check_size(width: int, height: int, max_pixels: int | None, where: str) -> None:
    pixels = width * height
    if max_pixels is not None and pixels > max_pixels:
        raise ImageError(
            f"{where}: image is {width}x{height} = {pixels:_} pixels, above the limit of "
            f"{max_pixels:_}; pass max_pixels=... to raise it "
            f"(at least {pixels:_}, or None for no limit)"
        )


# --- files -----------------------------------------------------------------


def shown_name(path: _PathArg) -> str:
    """The path as messages show it: control characters (a newline in a file name) and
    bytes that are not UTF-8 are escaped, so that a message stays one printable line."""
    return _UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], os.fsdecode(path))


def _decode_file(path: _PathArg, max_pixels: int | None, alpha: str) -> np.ndarray:
    name = shown_name(path)
    where = f"cannot read '{name}'"
    with _opened(path, name) as img:
        _check_size(img.width, img.height, max_pixels, where)
        # Before getexif(): for PNG it decodes the image, which empties img.tile.
        high_depth = _bits_per_sample(img) > 8
        if not high_depth:
            pixels = _pillow_pixels(img, name)
            # Read after decoding: Pillow's TIFF loader applies the orientation itself and
            # drops the tag, so reading it first would rotate TIFFs twice.
            orientation = img.getexif().get(_ORIENTATION_TAG, 1)
        else:
            orientation = img.getexif().get(_ORIENTATION_TAG, 1)
            pixels = _decode_opencv(path, name)
            if _opencv_orients(img.format):
                orientation = 1
    return _apply_orientation(_to_rgb8(pixels, alpha, where), orientation)


@contextlib.contextmanager
def _opened(path: _PathArg, name: str) -> Iterator[Image.Image]:
    """Open `path` with Pillow, turning every failure inside the block into ImageError."""
    _check_file(path, name)
    with _pillow_limit_lifted():
        try:
            with Image.open(path, formats=_FORMATS) as img:
                yield img
        except ImageError:
            raise
        except Exception as exc:  # decoders raise many unrelated types on bad data
            raise _read_error(name, exc) from exc


def _check_file(path: _PathArg, name: str) -> None:
    # stat first: Pillow's messages for these cases are cryptic or OS-specific.
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _read_error(name, exc) from exc
    if os.path.isdir(path):
        raise _read_error(name, IsADirectoryError(name))
    if st.st_size == 0:
        raise ImageError(f"cannot read '{name}': file is empty (0 bytes); {_ADVICE}")


def _read_error(name: str, exc: BaseException) -> ImageError:
    if isinstance(exc, FileNotFoundError):
        reason = "file does not exist; check the path and file name"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a directory, not an image file; pass the path of a photo"
    elif isinstance(exc, PermissionError):
        reason = "permission denied; check the file's permissions or copy it somewhere readable"
    elif isinstance(exc, UnidentifiedImageError):
        reason = f"not a JPEG, PNG, TIFF or WebP image, or its header is damaged; {_ADVICE}"
    elif isinstance(exc, OSError) and exc.filename is not None:
        # The file system refused it (a symlink loop, a name too long...): not the photo's fault.
        reason = f"cannot open the file ({exc.strerror or exc}); check the path"
    elif isinstance(exc, MemoryError):
        reason = "not enough memory to decode it; pass a smaller max_pixels or downscale the photo"
    else:
        reason = f"file is truncated or corrupt ({str(exc) or type(exc).__name__}); {_ADVICE}"
    return ImageError(f"cannot read '{name}': {reason}")


@contextlib.contextmanager
def _pillow_limit_lifted() -> Iterator[None]:
    """Disable Pillow's pixel limit while any caller is reading (see module notes)."""
    global _limit_users, _limit_saved
    with _limit_lock:
        if _limit_users == 0:
            _limit_saved = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _limit_saved


def _bits_per_sample(img: Image.Image) -> int:
    # Pillow reads 16-bit RGB(A) PNG and TIFF as 8-bit; such files go to OpenCV.
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, 8)
        return max(bits) if isinstance(bits, tuple) else int(bits)
    if img.format == "PNG" and img.tile:
        rawmode = img.tile[0].args
        return 16 if isinstance(rawmode, str) and "16" in rawmode else 8
    return 8


def _decode_opencv(path: _PathArg, name: str) -> np.ndarray:
    # IMREAD_UNCHANGED is the one mode that keeps both the bit depth and the alpha channel.
    pixels = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageError(f"cannot read '{name}': file is truncated or corrupt; {_ADVICE}")
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        order = [2, 1, 0, 3][: pixels.shape[2]]
        pixels = pixels[..., order]
    return pixels


@functools.cache
def _opencv_orients(fmt: str | None) -> bool:
    """Whether OpenCV's IMREAD_UNCHANGED applies EXIF orientation for `fmt` files.

    OpenCV 4 ignores the tag in this mode and OpenCV 5 applies it, so ask the
    installed version once, with a two-pixel image tagged "mirrored".
    """
    exif = Image.Exif()
    exif[_ORIENTATION_TAG] = 2
    buffer = io.BytesIO()
    Image.fromarray(np.array([[0, 65535]], dtype=np.uint16)).save(buffer, format=fmt, exif=exif)
    probe = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    return probe is not None and int(probe.ravel()[0]) != 0


_PILLOW_TARGET = {
    "1": "L", "L": "L", "P": "RGB", "RGB": "RGB", "RGBX": "RGB", "CMYK": "RGB",
    "YCbCr": "RGB", "LA": "RGBA", "La": "RGBA", "PA": "RGBA", "RGBA": "RGBA", "RGBa": "RGBA",
}  # fmt: skip


def _pillow_pixels(img: Image.Image, name: str) -> np.ndarray:
    # load() forces the full decode so that truncated files fail here, not later.
    img.load()
    if img.mode.startswith("I;16"):
        return np.asarray(img)
    target = _PILLOW_TARGET.get(img.mode)
    if target is None:
        raise ImageError(
            f"cannot read '{name}': unsupported colour mode {img.mode!r}; "
            "convert the photo to 8-bit RGB and export it as JPEG or PNG"
        )
    if "transparency" in img.info and target != "RGBA":
        target = "RGBA"
    return np.asarray(img if img.mode == target else img.convert(target))


# The transposition PIL.ImageOps.exif_transpose applies for each EXIF orientation.
_ORIENTATION_FLIPS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _apply_orientation(rgb: np.ndarray, orientation: object) -> np.ndarray:
    flip = _ORIENTATION_FLIPS.get(orientation) if isinstance(orientation, int) else None
    return np.ascontiguousarray(flip(rgb) if flip else rgb)


# --- arrays ----------------------------------------------------------------


def rgb8_view(source: _PathArg | np.ndarray) -> np.ndarray:
    """:func:`load_image` for smpqa's own readers: no copy of an array that is already RGB8.

    A C-contiguous uint8 ``(H, W, 3)`` array within the default pixel limit
    comes back as a read-only view (the detector and metrics only read it);
    anything else goes through :func:`load_image`, and is read-only too: numba
    compiles a kernel anew for each array type it meets, writability included.
    Saves a copy of the photo per call (9 ms and 36 MB at 12 MP).
    """
    if (isinstance(source, np.ndarray) and source.dtype == np.uint8 and source.ndim == 3
            and source.shape[2] == 3 and source.shape[0] > 0 and source.shape[1] > 0
            and source.flags.c_contiguous
            and source.shape[0] * source.shape[1] <= DEFAULT_MAX_PIXELS):
        view = source.view()
        view.flags.writeable = False
        return view
    rgb = load_image(source)
    rgb.flags.writeable = False
    return rgb


def _from_array(array: np.ndarray, max_pixels: int | None, alpha: str) -> np.ndarray:
    where = "cannot use array"
    hwc = _as_hwc(np.asarray(array), where)
    _check_size(hwc.shape[1], hwc.shape[0], max_pixels, where)
    return _to_rgb8(hwc, alpha, where)


def _to_rgb8(pixels: np.ndarray, alpha: str, where: str) -> np.ndarray:
    """Validate `pixels` and convert them to a new C-contiguous uint8 (H, W, 3) array."""
    hwc = _as_hwc(pixels, where)
    unit = _unit(hwc, where)
    if hwc.shape[2] == 4:
        hwc = hwc[..., :3] if alpha == "drop" else _on_white(hwc, unit)
    rgb8 = _scale_to_u8(hwc, unit)
    return np.repeat(rgb8, 3, axis=2) if rgb8.shape[2] == 1 else rgb8


def _as_hwc(pixels: np.ndarray, where: str) -> np.ndarray:
    shape = pixels.shape
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ImageError(
            f"{where}: shape {shape} is not an image; expected (H, W), (H, W, 1), "
            "(H, W, 3) or (H, W, 4)"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ImageError(f"{where}: image is empty (shape {shape}); pass a non-empty image")
    return pixels


def _unit(pixels: np.ndarray, where: str) -> float:
    """Return the value meaning full intensity, after checking dtype and values."""
    dtype = pixels.dtype
    if dtype == np.uint8:
        return 255
    if dtype.kind == "u" and dtype.itemsize == 2:
        return 65535
    if dtype == np.bool_:
        raise ImageError(
            f"{where}: boolean arrays are masks, not images; "
            "convert with mask.astype(numpy.uint8) * 255"
        )
    if dtype.kind != "f":
        raise ImageError(
            f"{where}: unsupported dtype {dtype}; use uint8, uint16 or float in [0, 1]"
        )
    if not np.isfinite(pixels).all():
        raise ImageError(
            f"{where}: contains NaN or infinite values; replace them before passing the image"
        )
    low, high = float(pixels.min()), float(pixels.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise ImageError(
            f"{where}: float values must lie in [0, 1] but range from {low:g} to {high:g}; "
            "divide 8-bit data by 255 or pass it as uint8"
        )
    return 1.0


def _on_white(rgba: np.ndarray, unit: float) -> np.ndarray:
    a = np.clip(rgba[..., 3:4].astype(np.float64) / unit, 0.0, 1.0)
    return rgba[..., :3] * a + unit * (1.0 - a)


def _scale_to_u8(pixels: np.ndarray, unit: float) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return np.array(pixels, order="C", copy=True)
    if pixels.dtype.kind == "u":
        # Integer arithmetic rounds exactly; float32 could round 16-bit values wrongly.
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    work = pixels.astype(np.promote_types(pixels.dtype, np.float32))
    return np.rint(np.clip(work, 0.0, unit) * (255.0 / unit)).astype(np.uint8)


# --- calibration and writing ----------------------------------------------


def _positive_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _parse_px_per_mm(value: object, name: str) -> float:
    number = _positive_float(value)
    if number is None:
        raise CalibrationError(
            f"invalid calibration in '{name}': {PX_PER_MM_KEY} is {value!r}, not a finite "
            "positive number; re-save the photo with save_png(..., px_per_mm=...) "
            "or give the scale explicitly"
        )
    return number


def _check_rgb8(rgb: object) -> None:
    if isinstance(rgb, np.ndarray):
        if rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size > 0:
            return
        got = f"a {rgb.dtype} array of shape {rgb.shape}"
    else:
        got = type(rgb).__name__
    raise ValueError(f"rgb must be a non-empty uint8 array of shape (H, W, 3), not {got}")


def _png_text(px_per_mm: float | None, text: Mapping[str, str] | None) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    if px_per_mm is not None:
        number = _positive_float(px_per_mm)
        if number is None:
            raise CalibrationError(f"px_per_mm must be a finite positive number, not {px_per_mm!r}")
        info.add_text(PX_PER_MM_KEY, repr(number))
    for key, value in (text or {}).items():
        _check_text_item(key, value)
        info.add_text(key, value)
    return info


def _check_text_item(key: object, value: object) -> None:
    if not isinstance(key, str) or not isinstance(value, str):
        raise ValueError(f"text items must be str -> str, got {key!r}: {value!r}")
    if key == PX_PER_MM_KEY:
        raise ValueError(f"set {PX_PER_MM_KEY!r} with px_per_mm=..., not through text")
    try:
        key.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"text key {key!r} must be Latin-1 (a PNG limit)") from None
    if not 1 <= len(key) <= 79:
        raise ValueError(f"text key {key!r} must be 1 to 79 characters long (a PNG limit)")


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically: readers see the old file or the new one.

    The text goes to a hidden ``.NAME.*.tmp`` file in the same folder, synced, then moved over
    ``path`` in one step; on error no temporary file is left. Permissions follow the umask.
    Lone surrogates (file names whose bytes are not UTF-8) are written as ``\\udcXX`` escapes
    rather than losing the whole file.

    Parameters
    ----------
    path : str or os.PathLike
    text : str
    """
    with _atomic_writer(os.fspath(path)) as fh:
        fh.write(text.encode("utf-8", errors="backslashreplace"))


@contextlib.contextmanager
def _atomic_writer(path: str) -> Iterator[BinaryIO]:
    """Yield a file next to `path` that replaces it only if writing succeeds."""
    directory, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{base}.{uuid.uuid4().hex}.tmp")
    # os.open with 0o666 lets the umask set permissions, as for a plain open().
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
