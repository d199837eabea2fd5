"""A corpus of hostile inputs for smpqa, built at test time (no binaries are checked in).

:func:`build_corpus` writes a few hundred broken, odd or adversarial photos into a
folder (one sub-folder per category) and returns one :class:`Case` per input: the
thing to pass to ``smpqa.analyze`` / ``smpqa.detect_dots`` (a path, an array, or
a wrong Python object) and what is acceptable for it:

- ``RESULT``: a valid analysis, optionally with a plausible dot count, image
  shape or exact pixels;
- ``ERROR``: a typed error (``SmpqaError`` subclasses, or ``TypeError`` for a
  wrong Python type) whose message names the file (``mention``);
- ``EITHER``: one of the two. Damaged files land here: a byte flip inside
  compressed data may still decode to a garbled picture, which is fine as long
  as the result is valid.

Everything is seeded, so the corpus is the same on every run. The one costly
input, a ~100,000-dot photo, is built only when resolved (:func:`huge_photo`).
Cases that show a known bug in code owned elsewhere carry ``known_bug``; the
tests mark them ``xfail(strict=True)``.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from smpqa import synth
from smpqa.errors import SmpqaError

__all__ = ["Case", "RESULT", "ERROR", "EITHER", "PX_PER_MM", "HOSTILE_NAMES", "build_corpus",
           "base_photo", "huge_photo", "shown_name"]

RESULT, ERROR, EITHER = "result", "error", "either"
PX_PER_MM = 20.0
BASE_W, BASE_H = 240, 180  # the undamaged photo every broken file starts from
BASE_DOTS = (40, 160)  # plausible dot counts for an intact copy of it (it holds ~90 dots)
DAMAGED_DOTS = (0, 400)  # a garbled decode may find fewer or more, but not thousands

# File names that have broken tools before: markup, quotes, unicode, shell and path tricks.
HOSTILE_NAMES = (
    "<img src=x onerror=alert(1)>.png",
    "фото 📷.png",
    "\"quoted\" & 'apostrophe'.png",
    "\"><script>alert('x')<!--.jpg",
    "<svg onload=alert(1)>.png",
    "a\tb  c.png",
    "-leading-dash.png",
    "..png",
    "%s%n%x.png",
    "$(touch pwned).png",
    "back\\slash.png",
    "über naïve 日本語.PNG",
    "x" * 200 + ".png",
    "line\nbreak.png",
)

@dataclass(frozen=True)
class Case:
    """One hostile input and what smpqa may do with it.

    Attributes
    ----------
    name : str
        Unique id, ``category:name`` (also the pytest id).
    category : str
        Group for the corpus summary (``truncated``, ``corrupt``, ``mode``...).
    source : object
        What to pass to smpqa; a zero-argument callable for inputs that are
        costly to build (see :meth:`resolve`).
    expect : {"result", "error", "either"}
    errors : tuple of exception types
        Accepted error types when an error is acceptable.
    mention : str or None
        Text every error message must contain: the file's path (as
        :func:`shown_name` escapes it), "array", or the wrong type's name.
    dots : (int, int) or None
        Inclusive range of a plausible dot count for a result; catches
        silently wrong numbers (hundreds of dots on a black photo).
    no_dots : bool
        A result must say "no pigment dots found".
    shape : (int, int) or None
        Expected (H, W) of the loaded image (EXIF rotation).
    reference : callable or None
        Returns the exact RGB array ``load_image`` must produce.
    known_bug : str or None
        This case shows a known bug owned elsewhere (tests mark it xfail).
    tags : frozenset of str
        ``"huge"`` for the slow 100,000-dot photo.
    """

    name: str
    category: str
    source: object
    expect: str
    errors: tuple = (SmpqaError,)
    mention: str | None = None
    dots: tuple[int, int] | None = None
    no_dots: bool = False
    shape: tuple[int, int] | None = None
    reference: Callable[[], np.ndarray] | None = field(default=None, repr=False)
    known_bug: str | None = None
    tags: frozenset = frozenset()

    def resolve(self):
        """The input itself: lazy (callable) sources are built on first use."""
        return self.source() if callable(self.source) else self.source

    @property
    def is_file(self) -> bool:
        return isinstance(self.source, (str, os.PathLike))


def shown_name(path) -> str:
    """A path as an error message must show it (on one line): C0/C1 control characters,
    line separators and undecodable bytes (lone surrogates) escaped as ``ascii()`` does."""
    return "".join(ascii(c)[1:-1] if _unprintable(c) else c for c in os.fsdecode(path))


def _unprintable(c: str) -> bool:
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029) or 0xD800 <= o <= 0xDFFF


# --- base material -------------------------------------------------------------------------------


@functools.cache
def base_photo() -> np.ndarray:
    """The undamaged photo: good work on light skin, 240 x 180 px at 20 px/mm (~90 dots)."""
    scene = synth.preset("good_light", width_px=BASE_W, height_px=BASE_H, seed=11,
                         hairline={"side": "none"})
    img = synth.render(scene).image
    img.flags.writeable = False
    return img


@functools.cache
def huge_photo() -> np.ndarray:
    """A 6000 x 4500 photo with ~100,000 dots (150 per cm² over 675 cm²); ~10 s to render."""
    scene = synth.preset("good_medium", width_px=6000, height_px=4500, density_per_cm2=150)
    return synth.render(scene).image


@functools.cache
def plain_skin() -> np.ndarray:
    """Bare skin of the base photo's tone, with its noise and pores but no pigment."""
    scene = synth.preset("good_light", width_px=BASE_W, height_px=BASE_H, density_per_cm2=0.0,
                         hairline={"side": "none"})
    return synth.render(scene).image


def _one_dot() -> np.ndarray:
    """Bare skin with a single 0.3 mm pigment dot in the middle."""
    img = plain_skin().copy()
    yy, xx = np.mgrid[:BASE_H, :BASE_W]
    disc = (xx - BASE_W / 2) ** 2 + (yy - BASE_H / 2) ** 2 <= (0.15 * PX_PER_MM) ** 2
    img[disc] = (60, 55, 55)
    return img


def _encode(rgb_or_img, fmt: str, **kw) -> bytes:
    img = rgb_or_img if isinstance(rgb_or_img, Image.Image) else Image.fromarray(rgb_or_img)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _cv2_encode(array: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, array)
    assert ok, ext
    return buf.tobytes()


@functools.cache
def _encoded_formats() -> dict[str, tuple[str, bytes]]:
    """The base photo in every format smpqa reads: label -> (extension, bytes)."""
    rgb = base_photo()
    bgr16 = (rgb[..., ::-1].astype(np.uint16) * 257).copy()
    return {
        "jpeg": (".jpg", _encode(rgb, "JPEG", quality=90)),
        "png": (".png", _encode(rgb, "PNG")),
        "tiff": (".tif", _encode(rgb, "TIFF")),
        "tiff_lzw": (".tiff", _encode(rgb, "TIFF", compression="tiff_lzw")),
        "webp": (".webp", _encode(rgb, "WEBP", quality=90)),
        "webp_lossless": (".webp", _encode(rgb, "WEBP", lossless=True)),
        "png16": (".png", _cv2_encode(bgr16, ".png")),
        "tiff16": (".tif", _cv2_encode(bgr16, ".tiff")),
    }


def _same_as(array: np.ndarray) -> Callable[[], np.ndarray]:
    """A reference: exactly this image, as 8-bit RGB."""
    return lambda: np.ascontiguousarray(array)


def _as_pillow_reads(path: Path) -> Callable[[], np.ndarray]:
    """A reference: what Pillow decodes, turned upright by Pillow's own exif_transpose."""
    def read():
        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    return read


# --- case makers ---------------------------------------------------------------------------------


class _Maker:
    """Collects cases and writes their files, one sub-folder per category."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.cases: list[Case] = []

    def dir(self, category: str) -> Path:
        d = self.folder / category
        d.mkdir(parents=True, exist_ok=True)
        return d

    def file(self, name: str, data: bytes, category: str, expect: str, **kw) -> Path:
        """Write `data` as `name` and add a case for it (an error must name the file)."""
        path = self.dir(category) / name
        path.write_bytes(data)
        self.path(path, category, expect, **kw)
        return path

    def path(self, path, category: str, expect: str, *, case_name=None, **kw) -> None:
        kw.setdefault("mention", shown_name(path))
        if kw.pop("pillow_reference", False):
            kw["reference"] = _as_pillow_reads(Path(path))
        self.add(case_name or Path(path).name, category, path, expect, **kw)

    def array(self, name: str, array, category: str, expect: str, **kw) -> None:
        kw.setdefault("mention", "array")
        self.add(name, category, array, expect, **kw)

    def add(self, name, category, source, expect, **kw) -> None:
        assert expect in (RESULT, ERROR, EITHER), expect
        self.cases.append(Case(f"{category}:{name}", category, source, expect, **kw))


def _truncated(m: _Maker) -> None:
    """Every format cut at ten points: inside the header, early, middle and at the very end."""
    for label, (ext, data) in _encoded_formats().items():
        n = len(data)
        cuts = sorted({8, 33, 100, n // 10, n // 3, n // 2, 2 * n // 3, 9 * n // 10, n - 16, n - 1})
        for cut in cuts:
            m.file(f"{label}_{cut}{ext}", data[:cut], "truncated", EITHER, dots=DAMAGED_DOTS)


def _corrupt(m: _Maker) -> None:
    """Seeded random byte flips (1 to 64, past the signature), and a scrambled header."""
    for k, (label, (ext, data)) in enumerate(_encoded_formats().items()):
        for seed, flips in enumerate((1, 1, 3, 8, 16, 64)):
            rng = np.random.default_rng(1000 * k + seed)
            buf = bytearray(data)
            for pos in rng.integers(8, len(buf), flips):
                buf[pos] ^= int(rng.integers(1, 256))
            m.file(f"{label}_{seed}_{flips}flips{ext}", bytes(buf), "corrupt", EITHER,
                   dots=DAMAGED_DOTS)
        head = bytearray(data)
        head[:64] = np.random.default_rng(99 + k).integers(0, 256, 64, dtype=np.uint8).tobytes()
        m.file(f"{label}_header_noise{ext}", bytes(head), "corrupt", EITHER, dots=DAMAGED_DOTS)


def _empty(m: _Maker) -> None:
    """Zero-byte files, headers of 0 x N images, and zero-size arrays."""
    for ext in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"):
        m.file(f"zero_bytes{ext}", b"", "empty", ERROR)
    for w, h in ((0, 0), (0, 100), (100, 0)):
        m.file(f"header_{w}x{h}.png", _png_header_only(w, h), "empty", ERROR)
    for shape in ((0, 0), (0, 5), (5, 0), (0, 0, 3), (0, 5, 3), (5, 0, 4), (0,)):
        m.array(f"zero_size_{'x'.join(map(str, shape))}", np.zeros(shape, np.uint8), "empty",
                ERROR)


def _tiny(m: _Maker) -> None:
    """1 x 1 to 3 x 3 images in every format, and one- to five-pixel strips."""
    rgb = base_photo()
    for side in (1, 2, 3):
        crop = np.ascontiguousarray(rgb[:side, :side])
        for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("TIFF", ".tif"), ("WEBP", ".webp")):
            m.file(f"{side}x{side}{ext}", _encode(crop, fmt), "tiny", RESULT, dots=(0, 1))
        m.array(f"{side}x{side}", crop, "tiny", RESULT, dots=(0, 1), reference=_same_as(crop))
    for h, w in ((1, BASE_W), (BASE_H, 1), (4, BASE_W), (BASE_H, 5)):
        strip = np.ascontiguousarray(rgb[:h, :w])
        m.file(f"strip_{h}x{w}.png", _encode(strip, "PNG"), "tiny", RESULT, dots=(0, 40),
               reference=_same_as(strip))
        m.array(f"strip_{h}x{w}", strip, "tiny", RESULT, dots=(0, 40))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int, *, rows: int = 1, depth: int = 8) -> bytes:
    """A PNG whose header claims `width` x `height` but whose data holds `rows` short rows.

    A few hundred bytes however large the claim: the decompression-bomb shape.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * min(width, 64)) * rows)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _jpeg_with_size(width: int, height: int) -> bytes:
    """The base JPEG with its frame header (SOF0) patched to claim another size."""
    data = bytearray(_encoded_formats()["jpeg"][1])
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _tiff_with_size(width: int, height: int) -> bytes:
    """A minimal little-endian TIFF header claiming `width` x `height` RGB, with no data."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 2), (277, 3, 1, 3), (273, 4, 1, 8), (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        ifd += struct.pack("<HHII", tag, typ, count, value)
    return b"II*\x00" + struct.pack("<I", 8 + 16) + b"\x00" * 16 + ifd + b"\x00\x00\x00\x00"


def _bombs(m: _Maker) -> None:
    """Headers claiming more pixels than the default limit (1e8), each a few hundred bytes."""
    for w, h in ((100_000, 100_000), (10_001, 10_000), (2**31 - 1, 2**31 - 1), (1, 200_000_000)):
        m.file(f"png_{w}x{h}.png", _png_header_only(w, h), "bomb", ERROR)
    m.file("png16_60000x60000.png", _png_header_only(60_000, 60_000, depth=16), "bomb", ERROR)
    m.file("jpeg_65000x65000.jpg", _jpeg_with_size(65_000, 65_000), "bomb", ERROR)
    m.file("tiff_50000x50000.tif", _tiff_with_size(50_000, 50_000), "bomb", ERROR)
    # Just within the limit: Pillow allocates 300 MB, finds the data missing and must say so.
    m.file("png_10000x10000_at_limit.png", _png_header_only(10_000, 10_000, rows=2), "bomb",
           ERROR)
    tiny = np.zeros((1, 1, 3), np.uint8)
    m.array("broadcast_10001x10001", np.broadcast_to(tiny, (10_001, 10_001, 3)), "bomb", ERROR)


def _depth(m: _Maker) -> None:
    """16-bit and float files: read exactly, or refused with a typed error."""
    rgb = base_photo()
    grey = rgb[..., 1]
    for label in ("png16", "tiff16"):
        ext, data = _encoded_formats()[label]
        m.file(f"rgb16{ext}", data, "depth", RESULT, dots=BASE_DOTS, reference=_same_as(rgb))
    grey16 = grey.astype(np.uint16) * 257
    m.file("grey16.png", _encode(Image.fromarray(grey16), "PNG"), "depth", RESULT,
           dots=BASE_DOTS, reference=_same_as(np.dstack([grey] * 3)))
    bgra16 = np.dstack([rgb[..., ::-1].astype(np.uint16) * 257,
                        np.full(rgb.shape[:2], 65535, np.uint16)])
    m.file("rgba16.png", _cv2_encode(bgra16, ".png"), "depth", RESULT, dots=BASE_DOTS,
           reference=_same_as(rgb))
    f32 = (rgb[..., ::-1] / 255.0).astype(np.float32)
    m.file("float32_rgb.tif", _cv2_encode(f32, ".tiff"), "depth", EITHER, dots=BASE_DOTS)
    m.file("float32_0_255.tif", _cv2_encode(f32 * 255, ".tiff"), "depth", ERROR)
    m.file("int32_mode_I.tif", _encode(Image.fromarray(grey16.astype(np.int32)), "TIFF"),
           "depth", EITHER, dots=DAMAGED_DOTS)
    m.file("float_mode_F.tif", _encode(Image.fromarray(f32[..., 0]), "TIFF"), "depth", EITHER,
           dots=DAMAGED_DOTS)
    m.file("grey16_mode_I16.tif", _encode(Image.fromarray(grey16), "TIFF"), "depth", RESULT,
           dots=BASE_DOTS, reference=_same_as(np.dstack([grey] * 3)))


def _dtypes(m: _Maker) -> None:
    """Arrays of every dtype: 16-bit and float are read exactly; NaN, inf and the rest refused."""
    rgb = base_photo()
    good = {
        "uint16_rgb": rgb.astype(np.uint16) * 257,
        "uint16_bigendian": (rgb.astype(np.uint16) * 257).astype(">u2"),
        "float32_rgb": rgb.astype(np.float32) / 255,
        "float64_rgb": rgb / 255.0,
        "float16_rgb": (rgb / 255.0).astype(np.float16),
    }
    for name, array in good.items():
        m.array(name, array, "dtype", RESULT, dots=BASE_DOTS, reference=_same_as(rgb))
    m.array("uint16_grey", rgb[..., 1].astype(np.uint16) * 257, "dtype", RESULT, dots=BASE_DOTS,
            reference=_same_as(np.dstack([rgb[..., 1]] * 3)))
    m.array("float_negative_zero", np.full((32, 32, 3), -0.0), "dtype", RESULT, dots=(0, 0),
            no_dots=True)
    bad = {
        "float_nan": _poke(rgb / 255.0, np.nan),
        "float_all_nan": np.full((32, 32, 3), np.nan),
        "float_inf": _poke(rgb / 255.0, np.inf),
        "float_neg_inf": _poke(rgb / 255.0, -np.inf),
        "float_0_255": rgb.astype(np.float64),
        "float_negative": rgb / 255.0 - 0.5,
        "float_huge": np.full((16, 16, 3), 1e308),
        "int32": rgb.astype(np.int32),
        "int64": rgb.astype(np.int64),
        "int8": (rgb // 2).astype(np.int8),
        "uint32": rgb.astype(np.uint32),
        "bool": rgb > 128,
        "complex": rgb.astype(np.complex64),
        "object": rgb.astype(object),
        "str": np.full((4, 4, 3), "a"),
        "channels_2": rgb[..., :2],
        "channels_5": np.dstack([rgb, rgb[..., :2]]),
        "ndim_4": rgb[np.newaxis],
        "ndim_1": rgb.ravel(),
        "ndim_0": np.array(3, np.uint8),
    }
    for name, array in bad.items():
        m.array(name, array, "dtype", ERROR)


def _poke(array: np.ndarray, value: float) -> np.ndarray:
    out = array.copy()
    out[10, 20, 1] = value
    out[-1, -1, 0] = value
    return out


def _with_alpha(img: Image.Image, level: int) -> Image.Image:
    out = img.copy()
    out.putalpha(Image.new("L", img.size, level))
    return out


def _modes(m: _Maker) -> None:
    """Every colour mode Pillow writes: alpha, palette, grey, 1-bit, CMYK, YCbCr, LAB."""
    img = Image.fromarray(base_photo())
    rgba = _with_alpha(img, 255)
    pal = img.convert("P", palette=Image.Palette.ADAPTIVE)
    exact = [("rgba_opaque.png", rgba, "PNG"), ("rgba.tif", rgba, "TIFF"),
             ("la.png", rgba.convert("LA"), "PNG"), ("palette.png", pal, "PNG"),
             ("palette.tif", pal, "TIFF"), ("grey.png", img.convert("L"), "PNG"),
             ("cmyk.tif", img.convert("CMYK"), "TIFF")]
    for name, im, fmt in exact:
        m.file(name, _encode(im, fmt), "mode", RESULT, dots=BASE_DOTS, pillow_reference=True)
    lossy = [("rgba.webp", rgba, "WEBP", {}), ("grey.jpg", img.convert("L"), "JPEG", {}),
             ("grey.webp", img.convert("L"), "WEBP", {}),
             ("cmyk.jpg", img.convert("CMYK"), "JPEG", {}),
             ("ycbcr.jpg", img.convert("YCbCr"), "JPEG", {}),
             ("progressive.jpg", img, "JPEG", {"progressive": True}),
             ("subsampled_420_q5.jpg", img, "JPEG", {"quality": 5, "subsampling": 2})]
    for name, im, fmt, kw in lossy:
        m.file(name, _encode(im, fmt, **kw), "mode", RESULT, dots=BASE_DOTS)
    for name, fmt in (("bilevel.png", "PNG"), ("bilevel.tif", "TIFF")):
        m.file(name, _encode(img.convert("1"), fmt), "mode", RESULT, dots=(0, 2000))
    m.file("rgba_half.png", _encode(_with_alpha(img, 128), "PNG"), "mode", RESULT,
           dots=(0, 160))
    m.file("rgba_transparent.png", _encode(_with_alpha(img, 0), "PNG"), "mode", RESULT,
           dots=(0, 0), no_dots=True)
    m.file("palette_transparency.png", _encode(pal, "PNG", transparency=0), "mode", RESULT,
           dots=(0, 160))
    m.file("grey_transparency.png", _encode(img.convert("L"), "PNG", transparency=200), "mode",
           RESULT, dots=(0, 160))
    m.file("lab.tif", _encode(img.convert("LAB"), "TIFF"), "mode", EITHER, dots=DAMAGED_DOTS)
    m.array("rgba_uint8", np.asarray(rgba), "mode", RESULT, dots=BASE_DOTS,
            reference=_same_as(base_photo()))
    grey = np.asarray(img.convert("L"))
    m.array("grey_hw1", grey[..., np.newaxis], "mode", RESULT, dots=BASE_DOTS,
            reference=_same_as(np.dstack([grey] * 3)))
    m.array("grey_hw", grey, "mode", RESULT, dots=BASE_DOTS,
            reference=_same_as(np.dstack([grey] * 3)))


# (H, W) after the EXIF orientation is applied; 5-8 swap the axes.
_ROTATED = {o: (BASE_W, BASE_H) if o >= 5 else (BASE_H, BASE_W) for o in range(1, 9)}


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _exif_rotated(m: _Maker) -> None:
    """Orientations 1-8 in JPEG, 3/6/8 in PNG, WebP and TIFF, nonsense values, a 16-bit PNG.

    Each must come out exactly as Pillow's own ``exif_transpose`` turns it.
    """
    img = Image.fromarray(base_photo())
    for o in range(1, 9):
        m.file(f"orientation_{o}.jpg", _encode(img, "JPEG", exif=_exif(o)), "exif", RESULT,
               dots=BASE_DOTS, shape=_ROTATED[o], pillow_reference=True)
    for o in (3, 6, 8):
        for fmt, ext in (("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")):
            m.file(f"orientation_{o}{ext}", _encode(img, fmt, exif=_exif(o)), "exif", RESULT,
                   dots=BASE_DOTS, shape=_ROTATED[o], pillow_reference=True)
    grey = np.asarray(img.convert("L"))
    img16 = Image.fromarray(grey.astype(np.uint16) * 257)
    m.file("orientation_6_grey16.png", _encode(img16, "PNG", exif=_exif(6)), "exif", RESULT,
           dots=BASE_DOTS, shape=_ROTATED[6],
           reference=_same_as(np.dstack([np.rot90(grey, -1)] * 3)))
    for o in (0, 9, 255, 65535):
        m.file(f"orientation_bad_{o}.jpg", _encode(img, "JPEG", exif=_exif(o)), "exif", RESULT,
               dots=BASE_DOTS, shape=(BASE_H, BASE_W))
    jpeg = _encode(img, "JPEG")
    garbage = jpeg[:2] + b"\xff\xe1\x00\x10Exif\x00\x00II*\x00\xff\xff\xff\xff" + jpeg[2:]
    m.file("exif_garbage.jpg", garbage, "exif", EITHER, dots=BASE_DOTS)


def _not_images(m: _Maker) -> None:
    """Files that are not photos (or not in a format smpqa reads) under photo names."""
    rng = np.random.default_rng(7)
    junk = {
        "text.jpg": b"hello, I am not a photo\n",
        "html.png": b"<html><body><img src=x onerror=alert(1)></body></html>",
        "random.tif": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "pdf.webp": b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
        "zip.jpeg": b"PK\x03\x04" + b"\x00" * 60,
        "svg.png": b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        "png_signature_only.png": b"\x89PNG\r\n\x1a\n",
        "jpeg_soi_only.jpg": b"\xff\xd8",
        "riff_only.webp": b"RIFF\x00\x00\x00\x00WEBP",
        "tiff_magic_only.tif": b"II*\x00",
        "nul_bytes.png": b"\x00" * 4096,
    }
    for name, data in junk.items():
        m.file(name, data, "not_image", ERROR)
    img = Image.fromarray(base_photo())
    for name, fmt in (("gif.png", "GIF"), ("bmp.jpg", "BMP"), ("ico.png", "ICO"),
                      ("ppm.tif", "PPM")):
        m.file(name, _encode(img, fmt), "not_image", ERROR)
    # Real photos under the wrong extension are read by their content.
    m.file("jpeg_named.png", _encoded_formats()["jpeg"][1], "not_image", RESULT, dots=BASE_DOTS,
           pillow_reference=True)
    m.file("png_named.tiff", _encoded_formats()["png"][1], "not_image", RESULT, dots=BASE_DOTS,
           reference=_same_as(base_photo()))


def _odd_paths(m: _Maker) -> None:
    """Directories, missing files, dangling and looping links, a FIFO, unreadable files."""
    folder = m.dir("path")
    d = folder / "folder_named_photo.png"
    d.mkdir(exist_ok=True)
    m.path(d, "path", ERROR)
    m.path(folder / "does_not_exist.jpg", "path", ERROR)
    dangling = folder / "dangling_link.png"
    if not dangling.is_symlink():
        dangling.symlink_to(folder / "nowhere.png")
    m.path(dangling, "path", ERROR)
    loop = folder / "loop_link.png"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    m.path(loop, "path", ERROR)
    fifo = folder / "fifo.png"
    if not fifo.exists():
        os.mkfifo(fifo)  # reading it would block forever: it must be refused, not read
    m.path(fifo, "path", ERROR)
    m.path(folder / ("n" * 300 + ".png"), "path", ERROR, case_name="name_too_long")
    locked = folder / "unreadable.png"
    locked.write_bytes(_encoded_formats()["png"][1])
    locked.chmod(0)
    # root reads it anyway, so either outcome is fine; an unhandled PermissionError is not.
    m.path(locked, "path", EITHER, dots=BASE_DOTS)
    m.path(str(folder / "missing_as_str.png"), "path", ERROR)
    m.add("bytes_path", "path", os.fsencode(folder / "x.png"), ERROR, errors=(TypeError,),
          mention="bytes")


def _names(m: _Maker) -> None:
    """The intact base photo under hostile names: it must be read, and named safely later."""
    png = _encoded_formats()["png"][1]
    for i, name in enumerate(HOSTILE_NAMES):
        m.file(name, png, "name", RESULT, case_name=f"name{i:02d}", dots=BASE_DOTS)
    raw = os.fsencode(m.dir("name")) + b"/\xff\xfe latin-1 \xe9.png"  # not valid UTF-8
    with open(raw, "wb") as fh:
        fh.write(png)
    m.path(Path(os.fsdecode(raw)), "name", RESULT, case_name="name_not_utf8", dots=BASE_DOTS)


def _flat(h=BASE_H, w=BASE_W) -> dict[str, np.ndarray]:
    """Photos with no pigment at all: each must report "no pigment dots found"."""
    return {
        "black": np.zeros((h, w, 3), np.uint8),
        "white": np.full((h, w, 3), 255, np.uint8),
        "grey": np.full((h, w, 3), 128, np.uint8),
        "near_black": np.full((h, w, 3), 3, np.uint8),
        "overexposed_skin": np.clip(base_photo().astype(int) + 200, 0, 255).astype(np.uint8),
        "plain_skin": plain_skin(),
        "plain_skin_black_border_10px": np.pad(plain_skin()[10:-10, 10:-10],
                                               ((10, 10), (10, 10), (0, 0))),
    }


def _content(m: _Maker) -> None:
    """Photos with nothing, one dot, or only noise in them: counts must stay honest."""
    for name, array in _flat().items():
        m.array(name, array, "content", RESULT, dots=(0, 0), no_dots=True)
        m.file(f"{name}.png", _encode(array, "PNG"), "content", RESULT, dots=(0, 0),
               no_dots=True)
    for name in ("black", "white"):
        m.file(f"{name}.jpg", _encode(_flat()[name], "JPEG"), "content", RESULT, dots=(0, 0),
               no_dots=True)
    m.array("underexposed_work", base_photo() // 40, "content", RESULT, dots=BASE_DOTS)
    m.array("one_dot", _one_dot(), "content", RESULT, dots=(1, 1))
    m.file("one_dot.png", _encode(_one_dot(), "PNG"), "content", RESULT, dots=(1, 1))
    h, w = BASE_H, BASE_W
    rng = np.random.default_rng(3)
    noisy = {
        "uniform_noise": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "salt_pepper": np.where(rng.random((h, w, 1)) < 0.02, 0, 200).astype(np.uint8)
        .repeat(3, 2),
        "checkerboard_1px": ((np.indices((h, w)).sum(0) % 2) * 255).astype(np.uint8),
        "checkerboard_8px": (((np.indices((h, w)) // 8).sum(0) % 2) * 255).astype(np.uint8),
        "stripes": ((np.arange(w) % 6 < 2) * 200 + 30).astype(np.uint8)[None].repeat(h, 0),
    }
    for name, array in noisy.items():
        m.array(name, array, "content", RESULT, dots=(0, 2000))
    _edges(m)
    m.add("huge_100k_dots", "content", huge_photo, RESULT, dots=(90_000, 115_000),
          mention="array", tags=frozenset({"huge"}))


def _edges(m: _Maker) -> None:
    """Hard edges with no dots: the dark end of a ramp, bare skin in a thin black frame."""
    skin = plain_skin()
    framed = {"plain_skin_black_border_2px": np.pad(skin[2:-2, 2:-2], ((2, 2), (2, 2), (0, 0)))}
    for lo, hi in ((0, 255), (20, 235)):
        ramp = np.linspace(lo, hi, BASE_W).astype(np.uint8)
        framed[f"ramp_{lo}_to_{hi}"] = np.repeat(ramp[None, :, None], BASE_H, 0).repeat(3, 2)
    for name, array in framed.items():
        m.array(name, array, "content", RESULT, dots=(0, 0), no_dots=True)


def _layouts(m: _Maker) -> None:
    """Arrays that are views: strided, reversed, Fortran-ordered, read-only, broadcast."""
    rgb = base_photo()
    big = np.repeat(np.repeat(rgb, 2, 0), 2, 1)
    views = {
        "readonly": rgb,
        "fortran": np.asfortranarray(rgb),
        "reversed": rgb[::-1, ::-1],
        "strided": big[::2, ::2],
        "channel_reversed": rgb[..., ::-1],
        "transposed": rgb.transpose(1, 0, 2),
        "subview": np.pad(rgb, ((5, 5), (7, 7), (0, 0)), mode="edge")[5:-5, 7:-7],
    }
    for name, array in views.items():
        m.array(name, array, "layout", RESULT, dots=BASE_DOTS, reference=_same_as(array))
    m.array("broadcast_flat", np.broadcast_to(np.uint8(90), (100, 120, 3)), "layout", RESULT,
            dots=(0, 0), no_dots=True)


def _wrong_types(m: _Maker) -> None:
    """Python objects that are neither a path nor an array: TypeError naming the type."""
    img = Image.fromarray(base_photo())
    png = _encoded_formats()["png"][1]
    for name, obj in (("none", None), ("int", 42), ("float", 1.5), ("list", [[0, 0, 0]]),
                      ("dict", {"path": "x.png"}), ("pil_image", img), ("bytes", png[:100]),
                      ("file_object", io.BytesIO(png))):
        m.add(name, "type", obj, ERROR, errors=(TypeError,), mention=type(obj).__name__)


BUILDERS: tuple[Callable[[_Maker], None], ...] = (
    _truncated, _corrupt, _empty, _tiny, _bombs, _depth, _dtypes, _modes, _exif_rotated,
    _not_images, _odd_paths, _names, _content, _layouts, _wrong_types,
)


def build_corpus(folder) -> list[Case]:
    """Write the hostile inputs into `folder` and return one :class:`Case` per input.

    Parameters
    ----------
    folder : path
        Created if needed; the files (about 10 MB) are left there.

    Returns
    -------
    list of Case
        About 350 cases with unique names. The ~100,000-dot photo is a lazy
        source (tag ``"huge"``), rendered on its first :meth:`Case.resolve`.
    """
    m = _Maker(Path(folder))
    for build in BUILDERS:
        build(m)
    names = [c.name for c in m.cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return m.cases
