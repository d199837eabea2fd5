"""Regions of interest: which part of a photo to judge.

A region of interest (ROI) is a boolean mask of the photo's size, true where
the scalp is to be judged. :func:`load_roi` makes one from

- a mask image file (any format :func:`smpqa.load_image` reads, of the
  photo's size, non-zero inside);
- a JSON file ``{"polygon": [[x, y], ...]}`` in pixels (x = column, y = row,
  pixel centres at integers; a pixel is inside when its centre lies inside
  the polygon or on its edge);
- a numpy array (bool, or numbers: non-zero inside) or a dict polygon;
- ``"auto"``: the skin-coloured part of the photo (:func:`auto_roi`).

The format is fixed in docs/contracts.md (Regions); see docs/calibration.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
from skimage.draw import polygon as _draw_polygon

from ._numbers import is_finite_real
from .color import SRGB8_TO_LINEAR, lightness_to_luminance, linear_to_lab
from .errors import ImageError, RegionError
from .io import load_image

__all__ = ["load_roi", "auto_roi", "polygon_mask"]

_HOW = ("give a mask image of the photo's size (non-zero inside), a JSON polygon "
        '{"polygon": [[x, y], ...]} in pixels, or "auto"')
#: Assumed frame width (mm) when "auto" is asked for without a scale.
_DEFAULT_FRAME_MM = 60.0
_SMOOTH_MM = 0.5  # blends a dot into the skin around it, yet keeps region edges sharp
_DARKER = 3.0  # skin is never this many times darker than the reference skin (in luminance)
_MIN_OTHER_MM = 7.0  # narrowest hair or background area that is left out


def load_roi(source, image_shape, *, rgb=None, px_per_mm=None) -> np.ndarray:
    """A region of interest as a bool mask of the photo's size.

    Parameters
    ----------
    source : str, os.PathLike, numpy.ndarray or dict
        A mask image path, a JSON polygon path (suffix ``.json``), an array,
        a dict ``{"polygon": [[x, y], ...]}``, or the string ``"auto"``.
    image_shape : tuple
        The photo's ``(H, W)`` (further entries are ignored).
    rgb : numpy.ndarray, optional
        The photo; needed for ``"auto"``.
    px_per_mm : float, optional
        The photo's scale; used by ``"auto"`` (see :func:`auto_roi`).

    Returns
    -------
    numpy.ndarray of bool, (H, W)

    Raises
    ------
    RegionError
        Missing or unreadable file, malformed JSON or polygon, a mask of
        another size, or an empty region; the message names the source.
    TypeError
        ``source`` is none of the above.

    Examples
    --------
    >>> int(load_roi({"polygon": [[0, 0], [3, 0], [3, 2]]}, (3, 4)).sum())
    7
    """
    shape = (int(image_shape[0]), int(image_shape[1]))
    if isinstance(source, str) and source == "auto":
        if rgb is None:
            raise ValueError('roi="auto" needs the photo: pass rgb=...')
        return auto_roi(rgb, px_per_mm)
    if isinstance(source, (str, os.PathLike)):
        return _from_file(Path(source), shape)
    if isinstance(source, dict):
        return polygon_mask(_points(source, "the roi polygon"), shape, "the roi polygon")
    if isinstance(source, np.ndarray):
        return _from_array(source, shape, "the roi mask")
    raise TypeError(f"roi must be a path, an array, a polygon dict or 'auto', "
                    f"not {type(source).__name__}")


def _from_file(path: Path, shape) -> np.ndarray:
    name = os.fspath(path)
    if not path.is_file():
        raise RegionError(f"roi file {name} does not exist; {_HOW}")
    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RegionError(f"cannot read the roi polygon {name}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise RegionError(f"roi polygon {name} is not valid JSON ({exc.msg}, line "
                              f"{exc.lineno}); write {{\"polygon\": [[x, y], ...]}} in "
                              f"pixels") from None
        where = f"roi polygon {name}"
        return polygon_mask(_points(obj, where), shape, where)
    try:
        mask = load_image(path, alpha="drop")
    except ImageError as exc:
        raise RegionError(f"cannot read the roi mask {name}: {exc}; {_HOW}") from None
    return _from_array(mask, shape, f"roi mask {name}")


def _from_array(arr, shape, where: str) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim not in (2, 3):
        raise RegionError(f"{where} must be an (H, W) or (H, W, C) array, got shape {arr.shape}")
    if arr.shape[:2] != shape:
        raise RegionError(f"{where} is {arr.shape[1]}x{arr.shape[0]} px but the photo is "
                          f"{shape[1]}x{shape[0]} px (width x height); give a mask of the "
                          f"photo's size")
    if arr.dtype.kind not in "biuf":
        raise RegionError(f"{where} must hold bools or numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():  # NaN != 0: inside, silently
        raise RegionError(f"{where} holds NaN or infinite values; give 0 outside the "
                          f"region and non-zero inside")
    mask = (arr != 0) if arr.ndim == 2 else (arr != 0).any(axis=2)
    if not mask.any():
        raise RegionError(f"{where} is empty: mark the scalp to judge with non-zero pixels")
    return mask


def _points(obj, where: str) -> np.ndarray:
    pts = obj.get("polygon") if isinstance(obj, dict) else None
    ok = isinstance(pts, list) and all(
        isinstance(p, (list, tuple)) and len(p) == 2
        and all(is_finite_real(v) for v in p) for p in pts)
    if not ok:
        raise RegionError(f"{where} must be {{\"polygon\": [[x, y], ...]}}: a list of [x, y] "
                          f"pairs of finite numbers, in pixels")
    if len(pts) < 3:
        raise RegionError(f"{where} has {len(pts)} points; a polygon needs at least 3")
    return np.asarray(pts, np.float64)


def polygon_mask(points, image_shape, where: str = "the roi polygon") -> np.ndarray:
    """Pixels whose centre lies inside (or on the edge of) a polygon of (x, y) pixel points.

    Raises
    ------
    RegionError
        The polygon has zero area or covers no pixel centre of the photo.
    """
    pts = np.asarray(points, np.float64)
    h, w = int(image_shape[0]), int(image_shape[1])
    x, y = pts[:, 0], pts[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    mask = np.zeros((h, w), bool)
    if area > 0:
        rr, cc = _draw_polygon(y, x, shape=(h, w))
        mask[rr, cc] = True
    if not mask.any():
        raise RegionError(f"{where} is empty: it covers no pixel of the {w}x{h} photo (zero "
                          f"area, or outside the photo); coordinates are pixels, x = column, "
                          f"y = row")
    return mask


def auto_roi(rgb, px_per_mm=None) -> np.ndarray:
    """The skin in a photo: a region of interest that leaves out hair and background.

    A simple colour model. The photo is reduced to cells of about 0.25 mm,
    decoded to linear light and smoothed over about 1 mm, so that dots and
    stubble blend into the skin around them. In CIE L*a*b* the skin has a
    warm hue; its chromaticity ``(a*, b*) / (L* + 16)`` does not change when
    the light gets brighter or dimmer. The reference is the median over the
    warm-hued cells (a* > 0, b* > 0). A cell is skin when its chromaticity
    lies within 45 % of the reference's length of the reference (this
    excludes grey, blue and other backgrounds, white paper and black print,
    and near-neutral hair) and it is no more than 30 L* darker than the
    reference skin (this excludes large dark areas such as long hair and deep
    shadow). Holes up to about 3 mm across are closed (pores, hairs, glare,
    over-worked spots), specks under 2 mm are removed, and skin patches
    smaller than a tenth of the largest are dropped.

    Parameters
    ----------
    rgb : numpy.ndarray
        The photo, RGB uint8 (H, W, 3).
    px_per_mm : float, optional
        Its scale; without one, the frame is taken to be 60 mm wide.

    Returns
    -------
    numpy.ndarray of bool, (H, W)

    Raises
    ------
    RegionError
        Nothing in the photo has a skin colour.

    Notes
    -----
    Brown hair as warm in hue as the skin and not much darker is taken for
    skin, and skin-coloured backgrounds (a wooden door) are not excluded:
    give a polygon or mask then.
    """
    rgb = np.asarray(rgb)
    h, w = rgb.shape[:2]
    ppm = float(px_per_mm) if px_per_mm else w / _DEFAULT_FRAME_MM
    f = max(1, int(round(0.25 * ppm)))
    # Reduced before decoding: a 12 MP photo in float would take 150 MB, and the mean of
    # encoded values differs from the linear mean by far less than the tolerances below.
    small = SRGB8_TO_LINEAR[cv2.resize(rgb, (max(1, w // f), max(1, h // f)),
                                       interpolation=cv2.INTER_AREA)]
    cell_mm = f / ppm
    lab = linear_to_lab(cv2.GaussianBlur(small, (0, 0), _SMOOTH_MM / cell_mm))
    skin = _skin_cells(lab)
    skin = _clean(skin, cell_mm)
    if not skin.any():
        raise RegionError("the automatic roi found no skin in the photo; give a mask image "
                          'or a JSON polygon {"polygon": [[x, y], ...]} instead')
    return cv2.resize(skin.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0


def _skin_cells(lab) -> np.ndarray:
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.stack([a, b], axis=-1) / (L[..., None] + 16.0)
    warm = (a > 0) & (b > 0) & (np.hypot(chroma[..., 0], chroma[..., 1]) > 0.06)
    if warm.mean() < 0.05:
        raise RegionError("the automatic roi found no skin-coloured area in the photo; give a "
                          'mask image or a JSON polygon {"polygon": [[x, y], ...]} instead')
    ref = np.median(chroma[warm], axis=0)
    near = np.linalg.norm(chroma - ref, axis=-1) < max(0.45 * float(np.hypot(*ref)), 0.05)
    # Light and shade change luminance by a factor of two at most; hair and deep shadow by more.
    Y = lightness_to_luminance(L)
    return near & (Y > lightness_to_luminance(float(np.median(L[warm]))) / _DARKER)


def _disc(radius_cells: float) -> np.ndarray:
    r = max(1, int(round(radius_cells)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _clean(skin, cell_mm) -> np.ndarray:
    other = (~skin).astype(np.uint8)
    disc = _disc(_MIN_OTHER_MM / 2 / cell_mm)
    k = disc.shape[0] // 2
    # Only areas wide enough for the disc are hair or background; narrower ones (over-worked
    # spots, glare, freckles) are the scalp's own. Reflected borders keep strips along the frame.
    other = cv2.morphologyEx(cv2.copyMakeBorder(other, k, k, k, k, cv2.BORDER_REFLECT),
                             cv2.MORPH_OPEN, disc)[k:-k, k:-k]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(1 - other, connectivity=8)
    if n <= 1:
        return np.zeros(skin.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.concatenate([[False], areas >= 0.1 * areas.max()])
    return keep[labels]
